/**
 * What a change of the source's schema does to a connection, as Airbyte's schema change handling
 * (ApplySchemaChangeHelper and ConnectionsHandler.disableConnectionIfNeeded, read, not copied):
 *
 * - the connection's catalog picture (its streams plus, unselected, those of the catalog it was
 *   made from) is diffed against the newly discovered catalog (`catalogDiff`);
 * - a breaking change (an enabled stream lost its cursor or a primary-key column it dedups on, or
 *   got another source-defined key) turns the connection off, whatever the preference;
 * - otherwise `nonBreakingChangesPreference` decides: `ignore` keeps the catalog and leaves the
 *   change for review, `disable` turns the connection off, `propagate_columns` takes the new
 *   schema of every enabled stream that changed (new columns in, vanished ones out) and leaves new
 *   streams unselected, `propagate_fully` also adds new streams (enabled, with a default sync mode
 *   the destination supports) and drops vanished ones.
 *
 * Pure: the worker's schema check and the API's reads share it.
 */
import { streamKey, streamLabel, type AirbyteCatalog, type AirbyteStream, type DestinationSyncMode } from '../protocol/index.js'
import type { ConnectionRecord, SchemaChangeVerdict, SchemaCheckRecord } from '../store/config-store.js'
import { defaultStreamConfig, defaultSyncModes, toApiCatalog, toApiStream, toApiSyncCatalog, type SyncCatalogEntry } from './catalog-conversion.js'
import { catalogDiff, hasBreakingChange, type CatalogDiff, type ConfiguredStreamLike, type StreamLike, type StreamTransform } from './catalog-diff.js'

export const NON_BREAKING_PREFERENCES = ['ignore', 'disable', 'propagate_columns', 'propagate_fully'] as const
export type NonBreakingChangesPreference = (typeof NON_BREAKING_PREFERENCES)[number]

/** A catalog in the Config API shape (`{streams: [{stream, config}]}`). */
export interface ApiCatalog {
  streams: SyncCatalogEntry[]
}

const key = (s: { name?: unknown; namespace?: unknown }): string => streamKey({ name: String(s.name), namespace: typeof s.namespace === 'string' ? s.namespace : null })

/**
 * Airbyte's catalog merge (CatalogMergeHelper): the discovered streams in their order, each with
 * the configuration the connection had for it (its sync mode only while still supported, a
 * source-defined primary key first); streams the connection did not have come unselected.
 */
export function mergeCatalog(configured: ApiCatalog, discovered: ApiCatalog): ApiCatalog {
  const before = new Map(configured.streams.map((e) => [key(e.stream), e]))
  return {
    streams: discovered.streams.map((d) => {
      const old = before.get(key(d.stream))
      if (old === undefined) return { stream: d.stream, config: { ...d.config, selected: false } }
      const supported = Array.isArray(d.stream.supportedSyncModes) ? (d.stream.supportedSyncModes as unknown[]) : []
      const sourcePk = d.stream.sourceDefinedPrimaryKey
      const config: Record<string, unknown> = { ...old.config }
      if (!supported.includes(old.config.syncMode)) config.syncMode = d.config.syncMode
      if (!Array.isArray(old.config.cursorField) || old.config.cursorField.length === 0) config.cursorField = d.config.cursorField
      if (Array.isArray(sourcePk) && sourcePk.length > 0) config.primaryKey = sourcePk
      else if (!Array.isArray(old.config.primaryKey) || old.config.primaryKey.length === 0) config.primaryKey = d.config.primaryKey
      // Selected fields the source no longer has are dropped from the selection; new fields stay unselected.
      const props = (d.stream.jsonSchema as { properties?: unknown } | undefined)?.properties
      if (config.fieldSelectionEnabled === true && Array.isArray(config.selectedFields) && typeof props === 'object' && props !== null) {
        config.selectedFields = config.selectedFields.filter((f: { fieldPath?: unknown }) => Array.isArray(f?.fieldPath) && Object.prototype.hasOwnProperty.call(props, String(f.fieldPath[0])))
      }
      return { stream: d.stream, config }
    }),
  }
}

/**
 * The connection's whole catalog as it was configured: its streams plus, unselected, those of the
 * catalog it was made from (`original`, the catalog of its sourceCatalogId; sluice stores only
 * the streams a caller listed).
 */
export function configuredPicture(syncCatalog: ConnectionRecord['syncCatalog'], original: AirbyteCatalog | undefined): ApiCatalog {
  const configured = toApiSyncCatalog(syncCatalog)
  if (original === undefined) return configured
  const merged = mergeCatalog(configured, toApiCatalog(original))
  // Streams the connection has that the original catalog lacks stay too.
  const seen = new Set(merged.streams.map((e) => key(e.stream)))
  return { streams: [...merged.streams, ...configured.streams.filter((e) => !seen.has(key(e.stream)))] }
}

/** catalogDiff (Airbyte's rules, catalog-diff.ts) from one catalog to another, with the verdict. */
export function diffAgainst(current: ApiCatalog, next: ApiCatalog): { catalogDiff: CatalogDiff; breakingChange: boolean } {
  const streams = current.streams as unknown as ConfiguredStreamLike[]
  const diff = catalogDiff(streams, next.streams.map((e) => e.stream as unknown as StreamLike))
  return { catalogDiff: diff, breakingChange: hasBreakingChange(diff, streams) }
}

/** The connection's preference; anything unknown reads as Airbyte's default, `ignore`. */
export function nonBreakingPreference(conn: Pick<ConnectionRecord, 'extra'>): NonBreakingChangesPreference {
  const p = conn.extra.nonBreakingChangesPreference
  return (NON_BREAKING_PREFERENCES as readonly unknown[]).includes(p) ? (p as NonBreakingChangesPreference) : 'ignore'
}

/** What a schema check does about a discovered catalog. */
export interface SchemaChangePlan {
  diff: CatalogDiff
  breaking: boolean
  preference: NonBreakingChangesPreference
  /** What is left for the user once the plan is applied. */
  schemaChange: SchemaChangeVerdict
  /** The connection is turned off (a breaking change, or any change under `disable`). */
  disable: boolean
  /** The connection's new syncCatalog when changes are propagated. */
  syncCatalog?: ConnectionRecord['syncCatalog']
  /** The transforms propagated into the connection (`propagate_*` only). */
  applied: StreamTransform[]
}

/**
 * The plan for a connection whose source now discovers `discovered`. `original` is the catalog of
 * the connection's sourceCatalogId (undefined when it has none); `destinationModes` the
 * destination's supported sync modes (for streams `propagate_fully` adds).
 */
export function planSchemaChange(
  conn: Pick<ConnectionRecord, 'syncCatalog' | 'extra'>,
  original: AirbyteCatalog | undefined,
  discovered: AirbyteCatalog,
  destinationModes: readonly DestinationSyncMode[],
): SchemaChangePlan {
  const preference = nonBreakingPreference(conn)
  const { catalogDiff: diff, breakingChange: breaking } = diffAgainst(configuredPicture(conn.syncCatalog, original), toApiCatalog(discovered))
  const base = { diff, breaking, preference, applied: [] }
  if (diff.transforms.length === 0) return { ...base, schemaChange: 'no_change', disable: false }
  if (breaking) return { ...base, schemaChange: 'breaking', disable: true }
  if (preference === 'ignore') return { ...base, schemaChange: 'non_breaking', disable: false }
  if (preference === 'disable') return { ...base, schemaChange: 'non_breaking', disable: true }
  const { syncCatalog, applied } = propagate(conn.syncCatalog, discovered, diff, preference === 'propagate_fully', destinationModes)
  return { ...base, schemaChange: 'no_change', disable: false, syncCatalog, applied }
}

function propagate(
  syncCatalog: ConnectionRecord['syncCatalog'],
  discovered: AirbyteCatalog,
  diff: CatalogDiff,
  fully: boolean,
  destinationModes: readonly DestinationSyncMode[],
): { syncCatalog: ConnectionRecord['syncCatalog']; applied: StreamTransform[] } {
  const found = new Map(discovered.streams.map((s) => [streamKey(s), s]))
  let streams = syncCatalog.streams.map((e) => ({ stream: e.stream, config: e.config }))
  const applied: StreamTransform[] = []
  for (const t of diff.transforms) {
    const k = streamKey(t.streamDescriptor)
    const stream = found.get(k)
    if (t.transformType === 'update_stream' && stream !== undefined) {
      const at = streams.findIndex((e) => key(e.stream) === k)
      if (at < 0) continue
      streams[at] = { stream: toApiStream(stream), config: streams[at]?.config ?? {} }
      applied.push(t)
    } else if (t.transformType === 'add_stream' && fully && stream !== undefined) {
      streams.push({ stream: toApiStream(stream), config: newStreamConfig(stream, destinationModes) })
      applied.push(t)
    } else if (t.transformType === 'remove_stream' && fully) {
      streams = streams.filter((e) => key(e.stream) !== k)
      applied.push(t)
    }
  }
  return { syncCatalog: { streams }, applied }
}

/**
 * A stream `propagate_fully` adds: enabled, with the sync modes a stream named without any gets
 * ({@link defaultSyncModes}: the discover default when the destination takes it); unselected when
 * the destination takes none the stream can use.
 */
function newStreamConfig(stream: AirbyteStream, destinationModes: readonly DestinationSyncMode[]): Record<string, unknown> {
  const config: Record<string, unknown> = { ...defaultStreamConfig(stream, 1), selected: true, suggested: false }
  const modes = defaultSyncModes(stream, destinationModes)
  if (modes === undefined) return { ...config, selected: false }
  return { ...config, syncMode: modes[0], destinationSyncMode: modes[1] }
}

/**
 * `schemaChange` of a connection read: `breaking` while the connection carries a breaking change,
 * `non_breaking` while its last schema check left a change pending and the connection is still
 * based on the catalog it had then (saving a refreshed catalog, with its sourceCatalogId, moves it
 * on), else `no_change`.
 */
export function schemaChangeOf(conn: Pick<ConnectionRecord, 'extra' | 'sourceCatalogId'>, check: SchemaCheckRecord | undefined): SchemaChangeVerdict {
  if (conn.extra.breakingChange === true) return 'breaking'
  if (check === undefined || check.schemaChange === 'no_change') return 'no_change'
  return (check.baselineCatalogId ?? null) === (conn.sourceCatalogId ?? null) ? check.schemaChange : 'no_change'
}

/** One line per stream transform, for the attempt log and notifications. */
export function describeTransforms(transforms: readonly StreamTransform[]): string[] {
  return transforms.map((t) => {
    const label = `'${streamLabel(t.streamDescriptor)}'`
    if (t.transformType === 'add_stream') return `new stream ${label}`
    if (t.transformType === 'remove_stream') return `stream ${label} removed`
    const parts: string[] = []
    const fields = t.updateStream?.fieldTransforms ?? []
    const list = (type: string): string => fields.filter((f) => f.transformType === type && !f.breaking).map((f) => f.fieldName.join('.')).join(', ')
    const added = list('add_field')
    const removed = list('remove_field')
    const changed = list('update_field_schema')
    if (added !== '') parts.push(`columns added: ${added}`)
    if (removed !== '') parts.push(`columns removed: ${removed}`)
    if (changed !== '') parts.push(`column types changed: ${changed}`)
    const broken = fields.filter((f) => f.breaking).map((f) => f.fieldName.join('.'))
    if (broken.length > 0) parts.push(`cursor or primary-key column removed (breaking): ${broken.join(', ')}`)
    for (const a of t.updateStream?.streamAttributeTransforms ?? []) {
      const pk = (p: string[][] | undefined): string => (p ?? []).map((c) => c.join('.')).join(', ') || 'none'
      parts.push(`primary key ${pk(a.updatePrimaryKey?.oldPrimaryKey)} -> ${pk(a.updatePrimaryKey?.newPrimaryKey)}${a.breaking ? ' (breaking)' : ''}`)
    }
    return `stream ${label}: ${parts.join('; ')}`
  })
}
