import { fieldSelectionProblems } from './field-selection.js'
import { SluiceError, type ValidationError } from '../errors.js'
import {
  DESTINATION_SYNC_MODES,
  SYNC_MODES,
  type AirbyteCatalog,
  type AirbyteStream,
  type DestinationSyncMode,
  type SyncMode,
} from '../protocol/index.js'
import type { ConnectionRecord } from '../store/config-store.js'

/** A stream entry of a connection's `syncCatalog` (Airbyte's `AirbyteStreamAndConfiguration`). */
export type SyncCatalogEntry = ConnectionRecord['syncCatalog']['streams'][number]

/** Keys `AirbyteStream` allows (the schema is additionalProperties:false). */
const STREAM_KEYS = ['name', 'jsonSchema', 'supportedSyncModes', 'sourceDefinedCursor', 'defaultCursorField', 'sourceDefinedPrimaryKey', 'namespace', 'isResumable'] as const
/** Keys `AirbyteStreamConfiguration` allows (v1.6; additionalProperties:false). */
const CONFIG_KEYS = [
  'syncMode',
  'cursorField',
  'destinationSyncMode',
  'primaryKey',
  'aliasName',
  'selected',
  'suggested',
  'fieldSelectionEnabled',
  'selectedFields',
  'hashedFields',
  'mappers',
  'minimumGenerationId',
  'generationId',
  'syncId',
] as const

function pick(source: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const k of keys) if (source[k] !== undefined && source[k] !== null) out[k] = source[k]
  return out
}

/** A protocol stream in the API shape, with only the keys the contract allows. */
export function toApiStream(stream: AirbyteStream): Record<string, unknown> {
  return pick(stream as unknown as Record<string, unknown>, STREAM_KEYS)
}

/** Airbyte's default configuration of a discovered stream (CatalogConverter.generateDefaultConfiguration). */
export function defaultStreamConfig(stream: AirbyteStream, streamCount: number): Record<string, unknown> {
  const modes = stream.supportedSyncModes ?? ['full_refresh']
  const cursor = stream.sourceDefinedCursor === true || (stream.defaultCursorField?.length ?? 0) > 0
  const pk = (stream.sourceDefinedPrimaryKey?.length ?? 0) > 0
  let syncMode: SyncMode = 'full_refresh'
  let destinationSyncMode: DestinationSyncMode = 'overwrite'
  if (cursor && modes.includes('incremental')) {
    if (pk) {
      syncMode = 'incremental'
      destinationSyncMode = 'append_dedup'
    } else if (!modes.includes('full_refresh')) {
      syncMode = 'incremental'
      destinationSyncMode = 'append'
    }
  }
  const selected = streamCount === 1
  return {
    syncMode,
    cursorField: stream.defaultCursorField ?? [],
    destinationSyncMode,
    primaryKey: stream.sourceDefinedPrimaryKey ?? [],
    aliasName: stream.name.replace(/[^A-Za-z0-9]/g, '_'),
    selected,
    suggested: selected,
    fieldSelectionEnabled: false,
  }
}

/** A discovered catalog as the API returns it: each stream with its default configuration. */
export function toApiCatalog(catalog: AirbyteCatalog): { streams: SyncCatalogEntry[] } {
  return { streams: catalog.streams.map((s) => ({ stream: toApiStream(s), config: defaultStreamConfig(s, catalog.streams.length) })) }
}

/** A stored syncCatalog for responses: only contract keys inside each entry. */
export function toApiSyncCatalog(syncCatalog: ConnectionRecord['syncCatalog']): { streams: SyncCatalogEntry[] } {
  return {
    streams: syncCatalog.streams.map((e) => ({ stream: pick(e.stream, STREAM_KEYS), config: pick(e.config, CONFIG_KEYS) })),
  }
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string')
}

function isPathList(v: unknown): v is string[][] {
  return Array.isArray(v) && v.every(isStringArray)
}

/**
 * True when the path may name a column of the JSON schema. Only a level that lists its columns
 * and does not declare additional ones can refuse a key: a level without `properties`, with
 * `properties: {}` (dynamic or loose schemas, common in declarative manifests) or with
 * `additionalProperties: true` / a schema accepts any key. Airbyte's server does not check keys
 * against the schema at all; sluice still catches a typo against a database table's full column list.
 */
function hasColumn(jsonSchema: Record<string, unknown> | undefined, path: string[]): boolean {
  if (path.length === 0) return false
  let node: unknown = jsonSchema
  for (const key of path) {
    if (typeof node !== 'object' || node === null) return true
    const { properties: props, additionalProperties: extra } = node as { properties?: unknown; additionalProperties?: unknown }
    if (typeof props !== 'object' || props === null || Object.keys(props).length === 0) return true
    if (!Object.prototype.hasOwnProperty.call(props, key)) return extra === true || (typeof extra === 'object' && extra !== null)
    node = (props as Record<string, unknown>)[key]
  }
  return true
}

function sameNamespace(a: unknown, b: unknown): boolean {
  return (a ?? '') === (b ?? '')
}

/**
 * The sync modes of a stream the caller names without any: the first pair the stream and the
 * destination both support of incremental + append_dedup (the stream has a cursor and a primary
 * key), full_refresh + overwrite, full_refresh + append, incremental + append (it has a cursor).
 * The order of Airbyte's web app; with a destination that supports every mode it gives the
 * discover default. Undefined when none fits.
 */
export function defaultSyncModes(stream: AirbyteStream, destinationModes: readonly DestinationSyncMode[]): readonly [SyncMode, DestinationSyncMode] | undefined {
  const sourceModes = stream.supportedSyncModes ?? ['full_refresh']
  const hasCursor = stream.sourceDefinedCursor === true || (stream.defaultCursorField?.length ?? 0) > 0
  const hasKey = (stream.sourceDefinedPrimaryKey?.length ?? 0) > 0
  const order: Array<readonly [SyncMode, DestinationSyncMode]> = [
    ...(hasCursor && hasKey ? [['incremental', 'append_dedup'] as const] : []),
    ['full_refresh', 'overwrite'],
    ['full_refresh', 'append'],
    ...(hasCursor ? [['incremental', 'append'] as const] : []),
  ]
  return order.find(([sync, destination]) => sourceModes.includes(sync) && destinationModes.includes(destination))
}

/**
 * The destination sync mode of a stream requested with a sync mode but without one: for
 * incremental, append_dedup when the destination supports it and the stream has a primary key,
 * else append; for full_refresh, overwrite, else append. Undefined when the destination supports
 * none of them (validation then names the field).
 */
function destinationModeFor(syncMode: unknown, hasKey: boolean, destinationModes: readonly DestinationSyncMode[]): DestinationSyncMode | undefined {
  const order: DestinationSyncMode[] = syncMode === 'incremental' ? (hasKey ? ['append_dedup', 'append'] : ['append']) : syncMode === 'full_refresh' ? ['overwrite', 'append'] : []
  return order.find((m) => destinationModes.includes(m))
}

/**
 * Validates a requested syncCatalog against the source's discovered catalog and the
 * destination's supported sync modes, and returns what is stored: each entry's `stream` is the
 * discovered stream, its `config` the caller's choices completed with the discover defaults.
 * Throws 422 (SLUICE_ERR_INVALID_CATALOG) naming each stream and field that is wrong.
 */
export function resolveSyncCatalog(
  requested: ReadonlyArray<{ stream?: Record<string, unknown>; config?: Record<string, unknown> }>,
  discovered: AirbyteCatalog,
  destinationModes: readonly DestinationSyncMode[],
): ConnectionRecord['syncCatalog'] {
  const errors: ValidationError[] = []
  const fail = (i: number, field: string, invalidValue: unknown, message: string): void => {
    errors.push({
      propertyPath: `syncCatalog.streams[${i}].${field}`,
      invalidValue: invalidValue === undefined ? 'null' : typeof invalidValue === 'string' ? invalidValue : JSON.stringify(invalidValue),
      message,
    })
  }
  const out: SyncCatalogEntry[] = []
  const seen = new Set<string>()
  const names = discovered.streams.map((s) => (s.namespace ? `${s.namespace}.${s.name}` : s.name))
  const available = names.length > 10 ? `${names.slice(0, 10).join(', ')}, ...` : names.join(', ') || 'none'
  requested.forEach((entry, i) => {
    const name = entry.stream?.name
    const namespace = entry.stream?.namespace
    if (typeof name !== 'string' || name === '') {
      fail(i, 'stream.name', name, 'is required')
      return
    }
    const label = namespace ? `${String(namespace)}.${name}` : name
    let match = discovered.streams.find((s) => s.name === name && sameNamespace(s.namespace, namespace))
    if (!match && (namespace === undefined || namespace === null)) {
      const byName = discovered.streams.filter((s) => s.name === name)
      if (byName.length === 1) match = byName[0]
    }
    if (!match) {
      fail(i, 'stream.name', label, `stream '${label}' is not in the source's catalog (streams: ${available})`)
      return
    }
    const key = `${match.namespace ?? ''}\u0000${match.name}`
    if (seen.has(key)) {
      fail(i, 'stream.name', label, `stream '${label}' is listed twice`)
      return
    }
    seen.add(key)
    const defaults = defaultStreamConfig(match, 1)
    const given = entry.config ?? {}
    const config: Record<string, unknown> = { ...defaults, selected: true, suggested: false, ...pick(given, CONFIG_KEYS) }
    const named = (key: string): boolean => given[key] !== undefined && given[key] !== null
    if (!named('syncMode') && !named('destinationSyncMode')) {
      const [syncMode, destinationSyncMode] = defaultSyncModes(match, destinationModes) ?? [defaults.syncMode, defaults.destinationSyncMode]
      config.syncMode = syncMode
      config.destinationSyncMode = destinationSyncMode
    } else if (!named('destinationSyncMode')) {
      const hasKey = (match.sourceDefinedPrimaryKey?.length ?? 0) > 0 || (Array.isArray(config.primaryKey) && config.primaryKey.length > 0)
      config.destinationSyncMode = destinationModeFor(config.syncMode, hasKey, destinationModes) ?? defaults.destinationSyncMode
    }
    const syncMode = config.syncMode
    const destinationSyncMode = config.destinationSyncMode
    const selected = config.selected !== false
    if (typeof syncMode !== 'string' || !(SYNC_MODES as readonly string[]).includes(syncMode)) {
      fail(i, 'config.syncMode', syncMode, `stream '${label}': syncMode must be one of ${SYNC_MODES.join(', ')}`)
      return
    }
    if (typeof destinationSyncMode !== 'string' || !(DESTINATION_SYNC_MODES as readonly string[]).includes(destinationSyncMode)) {
      fail(i, 'config.destinationSyncMode', destinationSyncMode, `stream '${label}': destinationSyncMode must be one of ${DESTINATION_SYNC_MODES.join(', ')}`)
      return
    }
    // Airbyte: a source-defined cursor and a source-defined primary key win over the caller's
    // choice; store the effective values so the API shows what a sync will use.
    if (match.sourceDefinedCursor && (match.defaultCursorField?.length ?? 0) > 0) config.cursorField = match.defaultCursorField
    if ((match.sourceDefinedPrimaryKey?.length ?? 0) > 0) config.primaryKey = match.sourceDefinedPrimaryKey
    if (!isStringArray(config.cursorField)) {
      fail(i, 'config.cursorField', config.cursorField, `stream '${label}': cursorField must be a path (array of strings)`)
      return
    }
    if (!isPathList(config.primaryKey)) {
      fail(i, 'config.primaryKey', config.primaryKey, `stream '${label}': primaryKey must be a list of paths (array of arrays of strings)`)
      return
    }
    out.push({ stream: toApiStream(match), config })
    if (!selected) return
    const supported = match.supportedSyncModes ?? ['full_refresh']
    if (!supported.includes(syncMode as SyncMode)) {
      fail(i, 'config.syncMode', syncMode, `stream '${label}' does not support sync mode '${syncMode}' (supported: ${supported.join(', ')})`)
    }
    if (!destinationModes.includes(destinationSyncMode as DestinationSyncMode)) {
      fail(i, 'config.destinationSyncMode', destinationSyncMode, `stream '${label}': the destination does not support '${destinationSyncMode}' (supported: ${destinationModes.join(', ')})`)
    }
    const cursor = config.cursorField as string[]
    if (syncMode === 'incremental') {
      if (cursor.length === 0) fail(i, 'config.cursorField', cursor, `stream '${label}': incremental sync needs a cursorField`)
      else if (!hasColumn(match.jsonSchema, cursor)) fail(i, 'config.cursorField', cursor, `stream '${label}': cursor '${cursor.join('.')}' is not a column of the stream`)
    }
    const pk = config.primaryKey as string[][]
    pk.forEach((path, j) => {
      if (path.length === 0 || !hasColumn(match.jsonSchema, path)) {
        fail(i, `config.primaryKey[${j}]`, path, `stream '${label}': primary key '${path.join('.')}' is not a column of the stream`)
      }
    })
    if ((destinationSyncMode === 'append_dedup' || destinationSyncMode === 'overwrite_dedup') && pk.length === 0) {
      fail(i, 'config.primaryKey', pk, `stream '${label}': ${destinationSyncMode} needs a primary key`)
    }
    const context = { jsonSchema: match.jsonSchema, syncMode: syncMode as SyncMode, destinationSyncMode: destinationSyncMode as DestinationSyncMode, cursorField: cursor, primaryKey: pk }
    for (const p of fieldSelectionProblems(config, context)) fail(i, `config.${p.field}`, p.value, `stream '${label}': ${p.message}`)
  })
  if (errors.length > 0) {
    throw new SluiceError('SLUICE_ERR_INVALID_CATALOG', `Invalid syncCatalog: ${errors.map((e) => `${e.propertyPath}: ${e.message}`).join('; ')}.`, {
      validationErrors: errors,
    })
  }
  return { streams: out }
}
