import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { configError } from '../../../errors.js'
import { evaluate, evaluateCondition, type TemplateContext } from '../interpolation/interpolator.js'
import { pyStr } from '../interpolation/py-values.js'
import type { ManifestNode } from '../manifest-loader.js'

/** A record as extracted from a response body. */
export type Row = Record<string, unknown>

const BIG_INT_HINT = /\d{16,}/

/**
 * Quotes integer literals too large for a double (ids such as 1234567890123456789), so they
 * survive as exact strings instead of being rounded by JSON.parse. Strings are skipped.
 */
export function protectBigIntegers(text: string): string {
  if (!BIG_INT_HINT.test(text)) return text
  let out = ''
  let last = 0
  let i = 0
  const n = text.length
  while (i < n) {
    const c = text.charCodeAt(i)
    if (c === 34) {
      i++
      while (i < n) {
        const d = text.charCodeAt(i)
        if (d === 92) i += 2
        else {
          i++
          if (d === 34) break
        }
      }
      continue
    }
    if ((c >= 48 && c <= 57) || c === 45) {
      const start = i
      let j = c === 45 ? i + 1 : i
      while (j < n && text.charCodeAt(j) >= 48 && text.charCodeAt(j) <= 57) j++
      const next = text.charCodeAt(j)
      if (j - start >= 16 && next !== 46 && next !== 101 && next !== 69) {
        const literal = text.slice(start, j)
        if (!Number.isSafeInteger(Number(literal))) {
          out += `${text.slice(last, start)}"${literal}"`
          last = j
        }
      }
      i = j > i ? j : i + 1
      continue
    }
    i++
  }
  return last === 0 ? text : out + text.slice(last)
}

/**
 * Decodes a response body into "bodies": JsonDecoder (a top-level array is one body per element;
 * an empty or invalid body is `{}` unless strict) or JsonlDecoder (one body per line).
 */
export function decodeBodies(text: string, decoder: string, strict: boolean): { bodies: unknown[]; array: boolean } {
  // IterableDecoder: each non-empty line is one record `{record: line}` (the CDK's shape).
  if (decoder === 'IterableDecoder') return { bodies: text.split(/\r?\n/).filter((l) => l !== '').map((record) => ({ record })), array: true }
  if (decoder === 'XmlDecoder') return { bodies: [decodeXml(text, strict)], array: false }
  if (decoder === 'JsonlDecoder') {
    const out: unknown[] = []
    for (const line of text.split('\n')) {
      if (!line.trim()) continue
      try {
        out.push(JSON.parse(protectBigIntegers(line)))
      } catch (e) {
        if (strict) throw configError(`the response is not valid JSON Lines: ${(e as Error).message}`)
      }
    }
    return { bodies: out, array: true }
  }
  let body: unknown
  if (text.trim() === '') body = {}
  else {
    try {
      body = JSON.parse(protectBigIntegers(text))
    } catch (e) {
      if (strict) throw configError(`the response body is not valid JSON (${(e as Error).message}); first bytes: ${JSON.stringify(text.slice(0, 80))}`)
      body = {}
    }
  }
  return Array.isArray(body) ? { bodies: body, array: true } : { bodies: [body], array: false }
}

const xmlParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  textNodeName: '#text',
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
})

/**
 * XmlDecoder, as the CDK's xmltodict: attributes become `@name`, the text of an element with
 * attributes `#text`, repeated elements a list, every value a string. Invalid XML decodes to `{}`
 * (the CDK logs and yields `{}`), unless strict.
 */
function decodeXml(text: string, strict: boolean): unknown {
  if (text.trim() === '') return {}
  const valid = XMLValidator.validate(text)
  if (valid !== true) {
    if (strict) throw configError(`the response body is not valid XML: ${valid.err.msg}`)
    return {}
  }
  return xmlParser.parse(text) as unknown
}

function dpathCollect(value: unknown, path: string[], i: number, out: unknown[]): void {
  if (i === path.length) {
    out.push(value)
    return
  }
  const key = path[i] as string
  if (key === '*' || key === '**') {
    if (Array.isArray(value)) for (const v of value) dpathCollect(v, path, i + 1, out)
    else if (value && typeof value === 'object') for (const v of Object.values(value)) dpathCollect(v, path, i + 1, out)
    return
  }
  if (Array.isArray(value) && /^\d+$/.test(key)) return dpathCollect(value[Number(key)], path, i + 1, out)
  if (value && typeof value === 'object' && !Array.isArray(value) && Object.prototype.hasOwnProperty.call(value, key)) {
    dpathCollect((value as Row)[key], path, i + 1, out)
  }
}

/** DpathExtractor on one decoded body: `[]` = the body; `*` collects matches; lists are flattened. */
export function extractRecords(body: unknown, path: string[]): Row[] {
  let found: unknown
  if (path.length === 0) found = body
  else if (path.includes('*') || path.includes('**')) {
    const all: unknown[] = []
    dpathCollect(body, path, 0, all)
    found = all
  } else {
    const all: unknown[] = []
    dpathCollect(body, path, 0, all)
    found = all.length ? all[0] : []
  }
  if (Array.isArray(found)) {
    const out: Row[] = []
    for (const x of found) {
      if (Array.isArray(x)) for (const y of x) out.push(y as Row)
      else if (x !== undefined && x !== null) out.push(x as Row)
    }
    return out
  }
  if (found && typeof found === 'object') return Object.keys(found).length ? [found as Row] : []
  return found === undefined || found === null || found === '' || found === false || found === 0 ? [] : [found as Row]
}

/**
 * Record auto-detection (sluice's `SluiceAutoExtractor`, used by the REST API source): a
 * top-level array, else the first array field (arrays of objects first), else the body itself.
 */
export function autoDetectRecords(body: unknown): Row[] {
  if (Array.isArray(body)) return body as Row[]
  if (body === null || typeof body !== 'object') return []
  const entries = Object.entries(body as Row).filter(([, v]) => Array.isArray(v)) as Array<[string, unknown[]]>
  const objects = entries.find(([, v]) => v.length > 0 && v.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x)))
  const chosen = objects ?? entries[0]
  if (chosen) return chosen[1] as Row[]
  return Object.keys(body).length ? [body as Row] : []
}

/** A record transformation (AddFields / RemoveFields / KeysToLower). */
export type Transformation = (record: Row, ctx: TemplateContext) => void

function setPath(record: Row, path: string[], value: unknown): void {
  let cur: Row = record
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i] as string
    const next = cur[k]
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[k] = {}
    cur = cur[k] as Row
  }
  cur[path[path.length - 1] as string] = value
}

function removeGlob(node: unknown, path: string[], i: number): void {
  if (node === null || typeof node !== 'object') return
  const key = path[i] as string
  const last = i === path.length - 1
  const keys = key === '*' || key === '**' ? Object.keys(node) : [key]
  for (const k of keys) {
    if (!Object.prototype.hasOwnProperty.call(node, k)) continue
    if (last) {
      if (Array.isArray(node)) node.splice(Number(k), 1)
      else delete (node as Row)[k]
    } else removeGlob((node as Row)[k], path, i + 1)
  }
}

/** AddedFieldDefinition `value_type`: casts an evaluated value to string, number, integer or boolean. */
export function castValueType(v: unknown, type: unknown): unknown {
  switch (type) {
    case 'string':
      return pyStr(v)
    case 'number':
      return Number(v)
    case 'integer':
      return Math.trunc(Number(v))
    case 'boolean':
      return v === true || v === 'True' || v === 'true'
    default:
      return v
  }
}

/** Builds one transformation from its manifest node. */
export function createTransformation(node: ManifestNode, base: TemplateContext): Transformation {
  switch (node.type) {
    case 'AddFields': {
      const fields = (Array.isArray(node.fields) ? node.fields : []) as ManifestNode[]
      return (record, ctx) => {
        const c = { ...ctx, record }
        if (node.condition !== undefined && node.condition !== '' && !evaluateCondition(node.condition, c)) return
        for (const f of fields) {
          const path = (Array.isArray(f.path) ? f.path : [f.path]).map((p) => pyStr(evaluate(p, base, { literal: false })))
          let value = evaluate(f.value, c)
          if (f.value_type !== undefined) value = castValueType(value, f.value_type)
          setPath(record, path, value === undefined ? null : value)
        }
      }
    }
    case 'RemoveFields': {
      const pointers = (Array.isArray(node.field_pointers) ? node.field_pointers : []) as unknown[][]
      return (record, ctx) => {
        if (node.condition !== undefined && node.condition !== '') {
          // The CDK evaluates the condition per field with `property`; sluice supports the record-level form.
          if (!evaluateCondition(node.condition, { ...ctx, record })) return
        }
        for (const p of pointers) removeGlob(record, p.map((x) => String(x)), 0)
      }
    }
    case 'KeysToLower':
      return (record) => {
        for (const k of Object.keys(record)) {
          const lower = k.toLowerCase()
          if (lower !== k) {
            record[lower] = record[k]
            delete record[k]
          }
        }
      }
    case 'KeysToSnakeCase':
      return (record) => renameKeys(record, snakeCase)
    case 'KeysReplace': {
      return (record, ctx) => {
        const oldText = pyStr(evaluate(node.old, { ...ctx, record }, { literal: false }) ?? '')
        const newText = pyStr(evaluate(node.new, { ...ctx, record }, { literal: false }) ?? '')
        if (oldText) renameKeys(record, (k) => k.split(oldText).join(newText), true)
      }
    }
    case 'DpathFlattenFields': {
      const path = (Array.isArray(node.field_path) ? node.field_path : []).map((p) => pyStr(evaluate(p, base, { literal: false })))
      return (record) => {
        let parent: unknown = record
        for (const k of path.slice(0, -1)) parent = parent && typeof parent === 'object' ? (parent as Row)[k] : undefined
        const last = path[path.length - 1]
        if (last === undefined || !parent || typeof parent !== 'object') return
        const value = (parent as Row)[last]
        if (!value || typeof value !== 'object' || Array.isArray(value)) return
        if (node.replace_record === true) {
          for (const k of Object.keys(record)) delete record[k]
          Object.assign(record, value)
          return
        }
        if (node.delete_origin_value === true) delete (parent as Row)[last]
        for (const [k, v] of Object.entries(value as Row)) if (!(k in record)) record[k] = v
      }
    }
    case 'FlattenFields': {
      const flattenLists = node.flatten_lists !== false
      return (record) => {
        const flat = flattenRecord(record, flattenLists)
        for (const k of Object.keys(record)) delete record[k]
        for (const [k, v] of Object.entries(flat)) Object.defineProperty(record, k, { value: v, enumerable: true, writable: true, configurable: true })
      }
    }
    default:
      throw configError(`unsupported transformation ${String(node.type)}`)
  }
}

/**
 * FlattenFields, with the CDK's naming: a nested value keeps its own key unless that key was
 * already emitted, in which case it becomes `parent.key`; list items are `parent.index`, and once
 * a list has been met every later key carries its parent's name. The CDK walks the record with a
 * stack (last key first), which decides which of two equal keys keeps the short name; this walk
 * does the same so both produce the same columns.
 */
function flattenRecord(record: Row, flattenLists: boolean): Row {
  const out: Row = Object.create(null) as Row
  const pending: [unknown, string][] = [[record, '_']]
  let withParent = false
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const [value, key] = item
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value as Row)) pending.push([v, Object.hasOwn(out, k) || withParent ? `${key}.${k}` : k])
    } else if (Array.isArray(value) && flattenLists) {
      value.forEach((v, i) => {
        withParent = true
        pending.push([v, `${key}.${i}`])
      })
    } else {
      out[key] = value
    }
  }
  return out
}

function snakeCase(key: string): string {
  const s = key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase()
  return /^\d/.test(s) ? `_${s}` : s
}

/** Renames keys in place (recursively into nested objects when `deep`). */
function renameKeys(obj: Row, rename: (k: string) => string, deep = false): void {
  for (const k of Object.keys(obj)) {
    const v = obj[k]
    if (deep && v && typeof v === 'object' && !Array.isArray(v)) renameKeys(v as Row, rename, deep)
    const nk = rename(k)
    if (nk !== k) {
      delete obj[k]
      obj[nk] = v
    }
  }
}

function jsonTypeMatches(v: unknown, t: string): boolean {
  switch (t) {
    case 'string':
      return typeof v === 'string'
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v)
    case 'number':
      return typeof v === 'number'
    case 'boolean':
      return typeof v === 'boolean'
    case 'array':
      return Array.isArray(v)
    case 'object':
      return v !== null && typeof v === 'object' && !Array.isArray(v)
    default:
      return false
  }
}

/**
 * `schema_normalization: Default`: casts values to the declared JSON-schema type (numeric strings
 * to numbers, scalars to strings, 'true'/'false' to booleans, a scalar to a one-item array),
 * recursing into objects and arrays; values that cannot be cast stay as they are.
 */
export function normalizeToSchema(v: unknown, schema: unknown): unknown {
  if (v === null || v === undefined || !schema || typeof schema !== 'object') return v
  const sc = schema as Record<string, unknown>
  const types = (Array.isArray(sc.type) ? sc.type : sc.type === undefined ? [] : [sc.type]).map(String).filter((t) => t !== 'null')
  const matched = types.find((t) => jsonTypeMatches(v, t))
  const target = matched ?? types[0]
  if (target === 'object' && matched && sc.properties && typeof sc.properties === 'object') {
    const o = v as Row
    for (const [k, sub] of Object.entries(sc.properties as Record<string, unknown>)) if (k in o) o[k] = normalizeToSchema(o[k], sub)
    return o
  }
  if (target === 'array') {
    const arr = Array.isArray(v) ? v : [v]
    return sc.items ? arr.map((x) => normalizeToSchema(x, sc.items)) : arr
  }
  if (matched || target === undefined) return v
  switch (target) {
    case 'string':
      return typeof v === 'object' ? v : pyStr(v)
    case 'integer':
    case 'number': {
      if (typeof v === 'boolean') return v ? 1 : 0
      if (typeof v !== 'string' || v.trim() === '') return v
      const n = Number(v)
      if (!Number.isFinite(n)) return v
      return target === 'integer' && !Number.isInteger(n) ? v : n
    }
    case 'boolean':
      return typeof v === 'string' && /^(true|false)$/i.test(v) ? v.toLowerCase() === 'true' : v
    default:
      return v
  }
}

/** RecordSelector: extract, filter, transform. */
export class RecordSelector {
  readonly #path: unknown[]
  readonly #auto: boolean
  readonly #filter: unknown
  readonly #transforms: Transformation[]
  readonly #normalizeSchema: unknown

  constructor(selector: ManifestNode, transformations: ManifestNode[], base: TemplateContext, schema?: unknown) {
    const extractor = (selector.extractor ?? {}) as ManifestNode
    this.#path = Array.isArray(extractor.field_path) ? extractor.field_path : []
    this.#auto = extractor.type === 'SluiceAutoExtractor'
    const rf = selector.record_filter as ManifestNode | undefined
    this.#filter = rf?.condition
    this.#transforms = transformations.map((t) => createTransformation(t, base))
    this.#normalizeSchema = selector.schema_normalization === 'Default' ? schema : undefined
  }

  /** The field path for the current context (keys may be templates). */
  fieldPath(ctx: TemplateContext): string[] {
    return this.#path.map((p) => pyStr(evaluate(p, ctx, { literal: false })))
  }

  /** Raw extraction (paginators count these, before filtering). */
  extract(bodies: unknown[], ctx: TemplateContext, topLevelArray = false): Row[] {
    if (this.#auto) return topLevelArray ? (bodies as Row[]) : autoDetectRecords(bodies[0])
    const path = this.fieldPath(ctx)
    if (bodies.length === 1) return extractRecords(bodies[0], path)
    const out: Row[] = []
    for (const b of bodies) for (const r of extractRecords(b, path)) out.push(r)
    return out
  }

  /** Filters and transforms extracted records in place order. */
  select(records: Row[], ctx: TemplateContext): Row[] {
    const hasFilter = this.#filter !== undefined && this.#filter !== ''
    const schema = this.#normalizeSchema
    if (!hasFilter && this.#transforms.length === 0 && !schema) return records
    const out: Row[] = []
    for (const r of records) {
      if (r === null || typeof r !== 'object') continue
      if (hasFilter && !evaluateCondition(this.#filter, { ...ctx, record: r })) continue
      for (const t of this.#transforms) t(r, ctx)
      if (schema) normalizeToSchema(r, schema)
      out.push(r)
    }
    return out
  }
}
