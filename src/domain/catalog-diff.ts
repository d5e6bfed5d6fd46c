/**
 * Airbyte's `CatalogDiff` between a connection's configured catalog and a freshly discovered one,
 * and Airbyte's "breaking change" verdict over it. Backs `web_backend/connections/get` with
 * `withRefreshedCatalog: true` and `sources/discover_schema` with a `connectionId`.
 *
 * Shape: `updateStream` is the object `{ fieldTransforms, streamAttributeTransforms }` that Airbyte
 * introduced in platform v0.59 (May 2024) and that every 1.x Config API returns (config.yaml,
 * `StreamTransform.updateStream`); the plain `FieldTransform[]` of Prefect's docstring predates it.
 *
 * Semantics follow airbyte-platform's `CatalogDiffHelpers` (read, not copied):
 * - streams present only in the current catalog are `remove_stream`, only in the discovered one
 *   `add_stream`, whether selected or not;
 * - `update_stream` is reported only for streams that are selected in the connection;
 * - every node of the JSON schema below the root is a field, named by its path: object
 *   `properties` add the property name, array `items` add the literal `'items'`, and
 *   `oneOf`/`anyOf`/`allOf` branches keep the path of their parent. A nested change therefore
 *   shows up at the leaf and at every ancestor whose sub-schema changed;
 * - a node without any `type`-like keyword (typically a bare `oneOf`) is compared as a whole and
 *   its children are not listed;
 * - two schema nodes at the same path collapse into the marker `'Duplicated Schema'`.
 *
 * Deliberate differences: namespaces null, undefined and '' are the same stream (as everywhere in
 * sluice, see `streamKey`), where Airbyte tells '' apart; a non-object schema node is compared as
 * an opaque value where Airbyte rejects the schema; and the output is sorted so repeated calls
 * are deep-equal (Airbyte returns hash-set order, which the spec says does not matter).
 */
import { streamKey } from '../protocol/index.js'

export const STREAM_TRANSFORM_TYPES = ['add_stream', 'remove_stream', 'update_stream'] as const
export type StreamTransformType = (typeof STREAM_TRANSFORM_TYPES)[number]

export const FIELD_TRANSFORM_TYPES = ['add_field', 'remove_field', 'update_field_schema'] as const
export type FieldTransformType = (typeof FIELD_TRANSFORM_TYPES)[number]

export const STREAM_ATTRIBUTE_TRANSFORM_TYPES = ['update_primary_key'] as const
export type StreamAttributeTransformType = (typeof STREAM_ATTRIBUTE_TRANSFORM_TYPES)[number]

/** Schema reported for a path that occurs more than once in one stream's schema (Airbyte's marker). */
export const DUPLICATED_SCHEMA = 'Duplicated Schema'

/** A stream as the Config API carries it; only the keys the diff reads. */
export interface StreamLike {
  name: string
  namespace?: string | null
  jsonSchema?: Record<string, unknown>
  sourceDefinedPrimaryKey?: string[][] | null
}

/** A `syncCatalog` entry (`AirbyteStreamAndConfiguration`); only the keys the diff reads. */
export interface ConfiguredStreamLike {
  stream: StreamLike
  config: {
    selected?: boolean
    cursorField?: string[] | null
    primaryKey?: string[][] | null
    syncMode?: string
    destinationSyncMode?: string
  }
}

/** JSON Schema of one field: normally an object, `DUPLICATED_SCHEMA`, or whatever the source sent. */
export type FieldSchema = unknown

export interface DiffStreamDescriptor {
  name: string
  namespace?: string
}

export interface FieldTransform {
  transformType: FieldTransformType
  /** Path to the field: property names, and `'items'` for an array's elements. */
  fieldName: string[]
  breaking: boolean
  addField?: { schema: FieldSchema }
  removeField?: { schema: FieldSchema }
  updateFieldSchema?: { oldSchema: FieldSchema; newSchema: FieldSchema }
}

export interface StreamAttributeTransform {
  transformType: StreamAttributeTransformType
  breaking: boolean
  updatePrimaryKey?: { oldPrimaryKey: string[][]; newPrimaryKey: string[][] }
}

export interface StreamTransformUpdateStream {
  fieldTransforms: FieldTransform[]
  streamAttributeTransforms: StreamAttributeTransform[]
}

export interface StreamTransform {
  transformType: StreamTransformType
  streamDescriptor: DiffStreamDescriptor
  /** Present only on `update_stream`. */
  updateStream?: StreamTransformUpdateStream
}

/** Airbyte's `CatalogDiff`. */
export interface CatalogDiff {
  transforms: StreamTransform[]
}

/**
 * The changes from the connection's catalog (`current`, its `syncCatalog.streams`) to a newly
 * discovered catalog. Identical catalogs give `{ transforms: [] }`.
 */
export function catalogDiff(current: readonly ConfiguredStreamLike[], discovered: readonly StreamLike[]): CatalogDiff {
  const before = new Map<string, ConfiguredStreamLike>()
  // Airbyte diffs a stream's fields only against the configured (selected) streams.
  const selected = new Map<string, ConfiguredStreamLike>()
  for (const entry of current) {
    const key = streamKey(entry.stream)
    before.set(key, entry)
    if (isSelected(entry) && !selected.has(key)) selected.set(key, entry)
  }
  const after = new Map<string, StreamLike>()
  for (const stream of discovered) after.set(streamKey(stream), stream)

  const transforms: StreamTransform[] = []
  for (const [key, entry] of before) {
    if (!after.has(key)) transforms.push({ transformType: 'remove_stream', streamDescriptor: descriptor(entry.stream) })
  }
  for (const [key, stream] of after) {
    const old = before.get(key)
    if (old === undefined) {
      transforms.push({ transformType: 'add_stream', streamDescriptor: descriptor(stream) })
      continue
    }
    const configured = selected.get(key)
    if (configured === undefined) continue
    const updateStream = streamUpdate(old.stream, stream, configured.config)
    if (updateStream.fieldTransforms.length > 0 || updateStream.streamAttributeTransforms.length > 0) {
      transforms.push({ transformType: 'update_stream', streamDescriptor: descriptor(stream), updateStream })
    }
  }
  transforms.sort(compareStreamTransforms)
  return { transforms }
}

/**
 * Airbyte's verdict: true when an `update_stream` transform carries a breaking field or attribute
 * transform. Adding or removing a stream is never breaking. Streams that `current` lists as not
 * selected are ignored (`catalogDiff` never reports field changes for them anyway).
 */
export function hasBreakingChange(diff: CatalogDiff, current: readonly ConfiguredStreamLike[]): boolean {
  const unselected = new Set<string>()
  for (const entry of current) if (!isSelected(entry)) unselected.add(streamKey(entry.stream))
  for (const entry of current) if (isSelected(entry)) unselected.delete(streamKey(entry.stream))
  return diff.transforms.some(
    (t) =>
      t.transformType === 'update_stream' &&
      !unselected.has(streamKey(t.streamDescriptor)) &&
      ((t.updateStream?.fieldTransforms.some((f) => f.breaking) ?? false) ||
        (t.updateStream?.streamAttributeTransforms.some((a) => a.breaking) ?? false)),
  )
}

// Same default as the rest of sluice: a stream is selected unless it says otherwise.
function isSelected(entry: ConfiguredStreamLike): boolean {
  return entry.config.selected !== false
}

function descriptor(stream: StreamLike): DiffStreamDescriptor {
  // The Config API omits null members, so a missing namespace is absent, not null.
  return stream.namespace === undefined || stream.namespace === null ? { name: stream.name } : { name: stream.name, namespace: stream.namespace }
}

function streamUpdate(oldStream: StreamLike, newStream: StreamLike, config: ConfiguredStreamLike['config']): StreamTransformUpdateStream {
  const streamAttributeTransforms: StreamAttributeTransform[] = []
  const oldPk = oldStream.sourceDefinedPrimaryKey ?? []
  const newPk = newStream.sourceDefinedPrimaryKey ?? []
  if (!jsonEqual(oldPk, newPk)) {
    streamAttributeTransforms.push({
      transformType: 'update_primary_key',
      breaking: primaryKeyChangeBreaks(config, newPk),
      updatePrimaryKey: { oldPrimaryKey: clone(oldPk), newPrimaryKey: clone(newPk) },
    })
  }

  const oldFields = fieldSchemas(oldStream.jsonSchema ?? {})
  const newFields = fieldSchemas(newStream.jsonSchema ?? {})
  const fieldTransforms: FieldTransform[] = []
  for (const [key, { path, schema }] of oldFields) {
    const next = newFields.get(key)
    if (next === undefined) {
      fieldTransforms.push({ transformType: 'remove_field', fieldName: [...path], breaking: fieldRemovalBreaks(config, path), removeField: { schema: clone(schema) } })
    } else if (!jsonEqual(schema, next.schema)) {
      // A changed type is never breaking in Airbyte, even on the cursor or primary key.
      fieldTransforms.push({
        transformType: 'update_field_schema',
        fieldName: [...path],
        breaking: false,
        updateFieldSchema: { oldSchema: clone(schema), newSchema: clone(next.schema) },
      })
    }
  }
  for (const [key, { path, schema }] of newFields) {
    if (!oldFields.has(key)) fieldTransforms.push({ transformType: 'add_field', fieldName: [...path], breaking: false, addField: { schema: clone(schema) } })
  }
  fieldTransforms.sort((a, b) => comparePaths(a.fieldName, b.fieldName) || compareStrings(a.transformType, b.transformType))
  return { fieldTransforms, streamAttributeTransforms }
}

function isDedup(destinationSyncMode: string | undefined): boolean {
  return destinationSyncMode === 'append_dedup' || destinationSyncMode === 'overwrite_dedup'
}

/** Removing the incremental cursor, or a primary-key column of a deduped stream, breaks the sync. */
function fieldRemovalBreaks(config: ConfiguredStreamLike['config'], path: readonly string[]): boolean {
  if (config.syncMode === 'incremental' && config.cursorField != null && jsonEqual(config.cursorField, path)) return true
  return isDedup(config.destinationSyncMode) && (config.primaryKey ?? []).some((component) => jsonEqual(component, path))
}

/** A new, non-empty source-defined key breaks a deduped stream unless it is the configured key (order ignored). */
function primaryKeyChangeBreaks(config: ConfiguredStreamLike['config'], newPk: readonly string[][]): boolean {
  if (newPk.length === 0 || !isDedup(config.destinationSyncMode)) return false
  const configured = new Set((config.primaryKey ?? []).map((c) => JSON.stringify(c)))
  const next = new Set(newPk.map((c) => JSON.stringify(c)))
  return configured.size !== next.size || [...next].some((c) => !configured.has(c))
}

interface FieldEntry {
  path: readonly string[]
  schema: FieldSchema
}

const COMPOSITE_KEYWORDS = ['oneOf', 'allOf', 'anyOf'] as const

/** Every field below the root of `jsonSchema`, keyed by its path, in depth-first preorder. */
function fieldSchemas(jsonSchema: Record<string, unknown>): Map<string, FieldEntry> {
  const fields = new Map<string, FieldEntry>()
  const visit = (node: unknown, path: readonly string[]): void => {
    if (path.length > 0) {
      const key = JSON.stringify(path)
      fields.set(key, { path, schema: fields.has(key) ? DUPLICATED_SCHEMA : node })
    }
    if (!isObject(node)) return
    // A typeless node (a bare oneOf, a $ref, {}) is one field: Airbyte drops everything under it.
    if (path.length > 0 && Object.keys(node).every((k) => !k.includes('type'))) return
    for (const type of schemaTypes(node)) {
      if (type === 'array') {
        if ('items' in node) visit(node.items, [...path, 'items'])
      } else if (type === 'object') {
        if ('properties' in node) {
          if (isObject(node.properties)) for (const [name, child] of Object.entries(node.properties)) visit(child, [...path, name])
        } else {
          const keyword = COMPOSITE_KEYWORDS.find((k) => k in node)
          const branches = keyword === undefined ? undefined : node[keyword]
          if (Array.isArray(branches)) for (const branch of branches) visit(branch, path)
        }
      }
    }
  }
  visit(jsonSchema, [])
  return fields
}

/** The node's JSON Schema types; an `enum` without `type` is a string, anything else an object. */
function schemaTypes(node: Record<string, unknown>): string[] {
  const type = node.type
  if (Array.isArray(type)) return type.filter((t): t is string => typeof t === 'string')
  if (typeof type === 'string') return [type]
  if (type !== undefined) return []
  return 'enum' in node ? ['string'] : ['object']
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Structural JSON equality; key order does not matter, an undefined member is an absent one. */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]))
  if (!isObject(a) || !isObject(b)) return false
  const aKeys = Object.keys(a).filter((k) => a[k] !== undefined)
  const bKeys = Object.keys(b).filter((k) => b[k] !== undefined)
  return aKeys.length === bKeys.length && aKeys.every((k) => k in b && jsonEqual(a[k], b[k]))
}

// Output must not alias the caller's catalogs: a later edit of either would change the diff.
function clone<T>(value: T): T {
  return structuredClone(value)
}

// Code-unit order, not locale order, so the result does not depend on the process locale.
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function comparePaths(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = compareStrings(a[i] as string, b[i] as string)
    if (c !== 0) return c
  }
  return a.length - b.length
}

function compareStreamTransforms(a: StreamTransform, b: StreamTransform): number {
  return (
    compareStrings(a.streamDescriptor.name, b.streamDescriptor.name) ||
    compareStrings(a.streamDescriptor.namespace ?? '', b.streamDescriptor.namespace ?? '') ||
    compareStrings(a.transformType, b.transformType)
  )
}
