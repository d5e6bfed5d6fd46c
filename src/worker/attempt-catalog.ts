import type { NamespaceMapping } from '../engine/types.js'
import type { CatalogEntry } from '../domain/catalog-entries.js'
import { projectJsonSchema } from '../domain/field-selection.js'
import {
  streamKey,
  type ConfiguredCatalog,
  type ConfiguredStream,
  type DestinationSyncMode,
  type StreamDescriptor,
  type SyncMode,
} from '../protocol/index.js'
import type { ConnectionRecord } from '../store/config-store.js'

/** The connection's namespace / prefix / alias settings for the engine. */
export function namespaceMapping(connection: ConnectionRecord, entries: readonly CatalogEntry[]): NamespaceMapping {
  const aliases = new Map<string, string>()
  for (const e of entries) if (e.aliasName !== undefined && e.aliasName !== e.stream.name) aliases.set(streamKey(e.stream), e.aliasName)
  const mapping: NamespaceMapping = { namespaceDefinition: connection.namespaceDefinition, prefix: connection.prefix, aliases }
  if (connection.namespaceFormat !== undefined) mapping.namespaceFormat = connection.namespaceFormat
  return mapping
}

/**
 * The configured catalog of one attempt. `generations` are the streams' current generation ids
 * (already bumped where the job needs it); reset streams are forced to full_refresh + overwrite
 * (Airbyte's CatalogTransforms.updateCatalogForReset); `truncate` (streamKeys) are streams of a
 * "refresh and remove records" whose older generations go at the end. A stream with a field
 * selection carries a schema with only its selected fields, so the source may read fewer columns
 * and the destination creates only those (the engine drops the others from the records).
 */
export function configuredCatalog(
  entries: readonly CatalogEntry[],
  syncId: number,
  generations: ReadonlyMap<string, number>,
  opts: { reset?: boolean; truncate?: ReadonlySet<string> } = {},
): ConfiguredCatalog {
  const streams: ConfiguredStream[] = entries.map((e) => {
    const syncMode: SyncMode = opts.reset === true ? 'full_refresh' : e.syncMode
    const destinationSyncMode: DestinationSyncMode = opts.reset === true ? 'overwrite' : e.destinationSyncMode
    const generationId = generations.get(streamKey(e.stream)) ?? 0
    const truncates = destinationSyncMode === 'overwrite' || destinationSyncMode === 'overwrite_dedup' || opts.truncate?.has(streamKey(e.stream)) === true
    return {
      stream: e.selectedFields === undefined ? e.stream : { ...e.stream, jsonSchema: projectJsonSchema(e.stream.jsonSchema, e.selectedFields) },
      syncMode,
      destinationSyncMode,
      cursorField: e.cursorField,
      primaryKey: e.primaryKey,
      syncId,
      generationId,
      minimumGenerationId: truncates ? generationId : 0,
    }
  })
  return { streams }
}

/** The fields each stream with a field selection keeps, keyed by streamKey (source names): the engine's projection. */
export function fieldSelection(entries: readonly CatalogEntry[]): Map<string, ReadonlySet<string>> {
  const out = new Map<string, ReadonlySet<string>>()
  for (const e of entries) if (e.selectedFields !== undefined) out.set(streamKey(e.stream), new Set(e.selectedFields))
  return out
}

/** The entries a reset/clear job works on: the named streams, or every selected one. */
export function resetEntries(entries: readonly CatalogEntry[], streams: readonly StreamDescriptor[]): CatalogEntry[] {
  if (streams.length === 0) return entries.filter((e) => e.selected)
  const wanted = new Set(streams.map(streamKey))
  return entries.filter((e) => wanted.has(streamKey(e.stream)))
}
