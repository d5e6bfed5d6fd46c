import { isDeepStrictEqual } from 'node:util'
import { Ajv } from 'ajv'
import { configError } from '../../errors.js'
import { evaluate, evaluateCondition } from './interpolation/interpolator.js'
import { pyStr } from './interpolation/py-values.js'
import type { ManifestNode } from './manifest-loader.js'
import { evaluateNested } from './http/request-parts.js'
import { castValueType, type Row } from './retriever/record-selector.js'

/**
 * `spec.config_normalization_rules`, as the CDK applies them to the user's config:
 * `config_migrations` (each migration's transformations, in order; a config they change is
 * handed back for storage, Airbyte's CONTROL message), then `transformations` (in memory, every
 * run), then `validations` (after the spec's JSON schema, before any request).
 */
export interface ConfigNormalization {
  /** Applies the migrations, then the transformations; `migrated` is the config to store when the migrations changed it. */
  normalize(config: Row): { config: Row; migrated: Row | undefined }
  /** Runs the validations; throws a config error naming the failing rule. */
  validate(config: Row): void
}

function isObject(v: unknown): v is Row {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function list(v: unknown): ManifestNode[] {
  return (Array.isArray(v) ? v : []) as ManifestNode[]
}

type ConfigTransformation = (config: Row) => void

/** Sets `path` in `obj`, creating the missing mappings on the way (dpath.new). */
function setPath(obj: Row, path: string[], value: unknown): void {
  let cur = obj
  for (const k of path.slice(0, -1)) {
    if (!isObject(cur[k])) cur[k] = {}
    cur = cur[k] as Row
  }
  cur[path[path.length - 1] as string] = value
}

/** Deletes what `path` points at (`*` matches every key); list items become null, as dpath.delete does. */
function deletePath(node: unknown, path: string[]): void {
  if (node === null || typeof node !== 'object' || path.length === 0) return
  const [head, ...rest] = path as [string, ...string[]]
  const keys = head === '*' ? Object.keys(node) : [head]
  for (const k of keys) {
    if (!Object.prototype.hasOwnProperty.call(node, k)) continue
    if (rest.length) deletePath((node as Row)[k], rest)
    else if (Array.isArray(node)) node[Number(k)] = null
    else delete (node as Row)[k]
  }
}

/** The values at `path` (`*` matches every key or item); missing keys give none. */
function valuesAt(node: unknown, path: string[]): unknown[] {
  if (path.length === 0) return [node]
  if (node === null || typeof node !== 'object') return []
  const [head, ...rest] = path as [string, ...string[]]
  const keys = head === '*' ? Object.keys(node) : Object.prototype.hasOwnProperty.call(node, head) ? [head] : []
  return keys.flatMap((k) => valuesAt((node as Row)[k], rest))
}

function transformation(node: ManifestNode, where: string): ConfigTransformation {
  switch (node.type) {
    case 'ConfigAddFields': {
      const fields = list(node.fields)
      for (const [i, f] of fields.entries()) {
        if (!Array.isArray(f.path) || f.path.length === 0) throw configError(`${where}.fields[${i}]: ConfigAddFields needs a non-empty path`)
      }
      return (config) => {
        for (const f of fields) {
          const path = (f.path as unknown[]).map((p) => pyStr(p))
          let value = evaluate(f.value, { config })
          if (f.value_type !== undefined) value = castValueType(value, f.value_type)
          if (node.condition && !evaluateCondition(node.condition, { config, value, path })) continue
          setPath(config, path, value === undefined ? null : value)
        }
      }
    }
    case 'ConfigRemapField': {
      if (!Array.isArray(node.field_path) || node.field_path.length === 0) throw configError(`${where}: ConfigRemapField needs a non-empty field_path`)
      const fieldPath = node.field_path as unknown[]
      return (config) => {
        const path = fieldPath.map((p) => pyStr(evaluate(p, { config }, { literal: false })))
        let cur: unknown = config
        for (const k of path.slice(0, -1)) {
          if (!isObject(cur) || !(k in cur)) return
          cur = cur[k]
        }
        const last = path[path.length - 1] as string
        if (!isObject(cur) || !Object.prototype.hasOwnProperty.call(cur, last)) return
        const mapping = typeof node.map === 'string' ? evaluate(node.map, { config }) : evaluateNested(node.map, { config })
        const value = cur[last]
        if (!isObject(mapping) || (typeof value !== 'string' && typeof value !== 'number')) return
        if (Object.prototype.hasOwnProperty.call(mapping, String(value))) cur[last] = mapping[String(value)]
      }
    }
    case 'ConfigRemoveFields': {
      const pointers = list(node.field_pointers) as unknown as unknown[][]
      return (config) => {
        if (node.condition && !evaluateCondition(node.condition, { config })) return
        for (const p of pointers) deletePath(config, (Array.isArray(p) ? p : [p]).map((x) => pyStr(x)))
      }
    }
    default:
      throw configError(`${where}: unsupported config transformation ${String(node.type)}`)
  }
}

/** ValidateAdheresToSchema: a JSON string is parsed first; the value must match `base_schema`. */
function strategy(node: ManifestNode, where: string): (value: unknown, what: string) => void {
  if (node.type !== 'ValidateAdheresToSchema') throw configError(`${where}: unsupported validation strategy ${String(node.type)}`)
  let schema = node.base_schema
  if (typeof schema === 'string') {
    try {
      schema = JSON.parse(schema) as unknown
    } catch (e) {
      throw configError(`${where}.base_schema is not valid JSON: ${(e as Error).message}`)
    }
  }
  if (!isObject(schema)) throw configError(`${where}.base_schema must be a JSON schema object`)
  let check: ReturnType<Ajv['compile']>
  try {
    check = new Ajv({ strict: false, allErrors: false }).compile(schema)
  } catch (e) {
    throw configError(`${where}.base_schema is not a valid JSON schema: ${(e as Error).message}`)
  }
  return (value, what) => {
    let v = value
    if (typeof v === 'string') {
      try {
        v = JSON.parse(v) as unknown
      } catch {
        throw configError(`The configuration is invalid: ${what} is not a valid JSON string (${where})`)
      }
    }
    if (!check(v)) {
      const e = check.errors?.[0]
      throw configError(`The configuration is invalid: ${what}${e?.instancePath ?? ''} ${e?.message ?? 'is invalid'} (${where})`)
    }
  }
}

function validator(node: ManifestNode, where: string): (config: Row) => void {
  const strat = strategy((node.validation_strategy ?? {}) as ManifestNode, `${where}.validation_strategy`)
  switch (node.type) {
    case 'DpathValidator': {
      const fieldPath = Array.isArray(node.field_path) ? node.field_path : []
      if (fieldPath.length === 0) throw configError(`${where}: DpathValidator needs a non-empty field_path`)
      // The CDK renders the path without the config; a missing key skips the validation.
      const path = fieldPath.map((p) => pyStr(evaluate(p, {}, { literal: false })))
      return (config) => {
        for (const v of valuesAt(config, path)) strat(v, path.join('.'))
      }
    }
    case 'PredicateValidator':
      return (config) => strat(typeof node.value === 'string' ? evaluate(node.value, { config }) : node.value, 'the value')
    default:
      throw configError(`${where}: unsupported config validator ${String(node.type)}`)
  }
}

/** Builds the rules of a manifest's spec; undefined when it declares none. Throws a config error on a malformed rule. */
export function configNormalization(spec: unknown): ConfigNormalization | undefined {
  const rules = isObject(spec) ? spec.config_normalization_rules : undefined
  if (!isObject(rules)) return undefined
  const base = 'spec.config_normalization_rules'
  const migrations = list(rules.config_migrations).map((m, i) => list(m.transformations).map((t, j) => transformation(t, `${base}.config_migrations[${i}].transformations[${j}]`)))
  const transformations = list(rules.transformations).map((t, i) => transformation(t, `${base}.transformations[${i}]`))
  const validations = list(rules.validations).map((v, i) => validator(v, `${base}.validations[${i}]`))
  if (!migrations.length && !transformations.length && !validations.length) return undefined
  return {
    normalize(input) {
      const config = structuredClone(input)
      for (const m of migrations) for (const t of m) t(config)
      const migrated = isDeepStrictEqual(config, input) ? undefined : structuredClone(config)
      for (const t of transformations) t(config)
      return { config, migrated }
    },
    validate(config) {
      for (const v of validations) v(config)
    },
  }
}
