import { configError } from '../../errors.js'
import type { JsonSchema } from '../../protocol/index.js'
import { evaluate, evaluateCondition, type TemplateContext } from './interpolation/interpolator.js'
import { pyStr } from './interpolation/py-values.js'
import type { ManifestNode } from './manifest-loader.js'
import { DeclarativeStream, streamSchema, type StreamEnvironment } from './retriever/declarative-stream.js'
import { createTransformation, type Row } from './retriever/record-selector.js'

/** The Airbyte types a DynamicSchemaLoader may name, as the CDK maps them (all nullable). */
const AIRBYTE_TYPES: Record<string, Row> = {
  string: { type: ['null', 'string'] },
  boolean: { type: ['null', 'boolean'] },
  date: { type: ['null', 'string'], format: 'date' },
  timestamp_without_timezone: { type: ['null', 'string'], format: 'date-time', airbyte_type: 'timestamp_without_timezone' },
  timestamp_with_timezone: { type: ['null', 'string'], format: 'date-time' },
  time_without_timezone: { type: ['null', 'string'], format: 'time', airbyte_type: 'time_without_timezone' },
  time_with_timezone: { type: ['null', 'string'], format: 'time', airbyte_type: 'time_with_timezone' },
  integer: { type: ['null', 'integer'] },
  number: { type: ['null', 'number'] },
  array: { type: ['null', 'array'] },
  object: { type: ['null', 'object'] },
}

function isObject(v: unknown): v is Row {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** Sets an own property, also for a name such as `__proto__` that plain assignment would treat specially. */
function setOwn(obj: Row, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true })
}

function loadersOf(node: ManifestNode): ManifestNode[] {
  const source = node.type === 'StateDelegatingStream' ? ((node.incremental_stream ?? {}) as ManifestNode) : node
  const l = source.schema_loader
  return (Array.isArray(l) ? l : l ? [l] : []) as ManifestNode[]
}

/** True when the stream's schema comes (at least partly) from a DynamicSchemaLoader. */
export function hasDynamicSchema(node: ManifestNode): boolean {
  return loadersOf(node).some((l) => l.type === 'DynamicSchemaLoader')
}

/** dpath.get without globs: the value at the path, or undefined. */
function pointerGet(body: unknown, path: string[]): unknown {
  let cur = body
  for (const k of path) {
    if (Array.isArray(cur) && /^\d+$/.test(k)) cur = cur[Number(k)]
    else if (isObject(cur) && Object.hasOwn(cur, k)) cur = cur[k]
    else return undefined
  }
  return cur
}

function airbyteType(name: unknown, where: string): Row {
  if (typeof name !== 'string' || !Object.hasOwn(AIRBYTE_TYPES, name)) throw configError(`${where}: invalid Airbyte data type ${JSON.stringify(name ?? null)} (one of ${Object.keys(AIRBYTE_TYPES).join(', ')})`)
  return structuredClone(AIRBYTE_TYPES[name] as Row)
}

/** A `{field_type, items}` target type: an array's items may be a type name or another complex type. */
function complexType(t: Row, where: string): Row {
  const out = airbyteType(t.field_type, where)
  if (t.items === undefined || t.items === null || t.items === '') return out
  if (t.field_type !== 'array') throw configError(`${where}: items can only be used when field_type is array`)
  out.items = isObject(t.items) ? complexType(t.items, where) : airbyteType(t.items, where)
  return out
}

function sameType(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

/**
 * DynamicSchemaLoader: reads the first record of its retriever, takes the list at `schema_pointer`
 * and makes one property per item: the name at `key_pointer` (a string), the type at
 * `type_pointer` (default `string`) replaced by the first `types_mapping` entry whose
 * `current_type` equals it and whose `condition` (with `raw_schema`, the item) holds; then
 * `schema_filter` (a RecordFilter over `{name: type}`) and `schema_transformations` on the
 * properties mapping.
 */
async function loadOne(loader: ManifestNode, streamName: string, where: string, env: StreamEnvironment, signal: AbortSignal): Promise<JsonSchema> {
  const params = (loader.$parameters ?? {}) as Row
  const base: TemplateContext = { config: env.config, parameters: params }
  const id = (loader.schema_type_identifier ?? {}) as ManifestNode
  const pointer = (p: unknown): string[] => (Array.isArray(p) ? p : []).map((k) => pyStr(evaluate(k, base, { literal: false })))
  const retriever = new DeclarativeStream({ type: 'DeclarativeStream', name: `${streamName} schema`, retriever: loader.retriever, $parameters: params }, env)
  let first: Row | undefined
  for await (const ev of retriever.read(undefined, signal, { fullRefresh: true })) {
    if (ev.kind === 'records' && ev.rows.length > 0) {
      first = ev.rows[0]
      break
    }
  }
  const schemaPointer = pointer(id.schema_pointer)
  const raw = first === undefined ? [] : pointerGet(first, schemaPointer)
  if (!Array.isArray(raw)) throw configError(`${where}.schema_type_identifier.schema_pointer: ${JSON.stringify(schemaPointer)} does not point to a list in the schema response`)
  const keyPointer = pointer(id.key_pointer)
  const typePointer = pointer(id.type_pointer)
  const mappings = (Array.isArray(id.types_mapping) ? id.types_mapping : []) as ManifestNode[]
  let properties: Row = {}
  for (const item of raw) {
    const key = pointerGet(item, keyPointer)
    if (typeof key !== 'string') throw configError(`${where}.schema_type_identifier.key_pointer: expected a string field name, got ${JSON.stringify(key ?? null)}`)
    const found = typePointer.length ? pointerGet(item, typePointer) : undefined
    let type: unknown = found === undefined || found === null ? 'string' : found
    for (const m of mappings) {
      const holds = m.condition === undefined || m.condition === null || m.condition === '' || evaluateCondition(m.condition, { ...base, parameters: {}, raw_schema: item })
      if (holds && sameType(type, m.current_type)) {
        type = m.target_type
        break
      }
    }
    const typeWhere = `${where}.schema_type_identifier: field ${key}`
    if (Array.isArray(type) && type.length === 2 && type.every((t) => typeof t === 'string')) setOwn(properties, key, { oneOf: [airbyteType(type[0], typeWhere), airbyteType(type[1], typeWhere)] })
    else if (typeof type === 'string') setOwn(properties, key, airbyteType(type, typeWhere))
    else if (isObject(type)) setOwn(properties, key, complexType(type, typeWhere))
    else throw configError(`${typeWhere}: invalid data type ${JSON.stringify(type)} (a type name or a list of two)`)
  }
  const filter = loader.schema_filter as ManifestNode | undefined
  if (filter && filter.condition !== undefined && filter.condition !== '') {
    const kept: Row = {}
    for (const [k, v] of Object.entries(properties)) if (evaluateCondition(filter.condition, { ...base, record: { [k]: v } })) setOwn(kept, k, v)
    properties = kept
  }
  for (const t of (Array.isArray(loader.schema_transformations) ? loader.schema_transformations : []) as ManifestNode[]) {
    createTransformation(t, base)(properties, { ...base })
  }
  return { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', additionalProperties: true, properties }
}

/**
 * The stream's schema with its DynamicSchemaLoaders resolved (requests are sent here). Several
 * loaders merge their properties in order, later ones winning, as the static loaders do.
 */
export async function resolveDynamicSchema(node: ManifestNode, streamName: string, env: StreamEnvironment, signal: AbortSignal): Promise<JsonSchema> {
  const schemas: JsonSchema[] = []
  const loaders = loadersOf(node)
  for (const [i, l] of loaders.entries()) {
    const where = `stream ${streamName}: schema_loader${loaders.length > 1 || Array.isArray(node.schema_loader) ? `[${i}]` : ''}`
    schemas.push(l.type === 'DynamicSchemaLoader' ? await loadOne(l, streamName, where, env, signal) : streamSchema({ schema_loader: l }))
  }
  if (schemas.length === 1) return schemas[0] as JsonSchema
  const properties: Row = {}
  for (const s of schemas) Object.assign(properties, (s.properties as Row | undefined) ?? {})
  return { ...schemas[0], properties }
}
