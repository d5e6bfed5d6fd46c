/** Airbyte catalog types, in sluice's internal camelCase form (the API shape of the Config API). */

export const SYNC_MODES = ['full_refresh', 'incremental'] as const
export type SyncMode = (typeof SYNC_MODES)[number]

export const DESTINATION_SYNC_MODES = ['append', 'overwrite', 'append_dedup', 'overwrite_dedup'] as const
export type DestinationSyncMode = (typeof DESTINATION_SYNC_MODES)[number]

/** A stream's identity. A null/undefined namespace and '' are the same key (see streamKey). */
export interface StreamDescriptor {
  name: string
  namespace?: string | null
}

/** A JSON Schema object; kept loose because connectors emit arbitrary schemas. */
export type JsonSchema = Record<string, unknown>

export interface AirbyteStream {
  name: string
  namespace?: string | null
  jsonSchema: JsonSchema
  supportedSyncModes: SyncMode[]
  sourceDefinedCursor?: boolean
  defaultCursorField?: string[]
  sourceDefinedPrimaryKey?: string[][]
  isResumable?: boolean
}

export interface AirbyteCatalog {
  streams: AirbyteStream[]
}

/** One stream as a sync runs it: the discovered stream plus the user's choices. */
export interface ConfiguredStream {
  stream: AirbyteStream
  syncMode: SyncMode
  destinationSyncMode: DestinationSyncMode
  /** Path of the cursor column, e.g. ['updated_at']; empty when none. */
  cursorField: string[]
  /** List of paths, e.g. [['id']]; empty when none. */
  primaryKey: string[][]
  /** sync id = job id. */
  syncId: number
  generationId: number
  /** Equals generationId when the destination must drop older generations (truncate). */
  minimumGenerationId: number
}

export interface ConfiguredCatalog {
  streams: ConfiguredStream[]
}

/** Stable map key for a stream descriptor: null and '' namespaces are the same. */
export function streamKey(d: StreamDescriptor): string {
  return `${d.namespace ?? ''}\u0000${d.name}`
}

/** Human-readable stream name for messages and logs: `namespace.name` or `name`. */
export function streamLabel(d: StreamDescriptor): string {
  return d.namespace ? `${d.namespace}.${d.name}` : d.name
}
