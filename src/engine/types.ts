import type {
  ConfiguredCatalog,
  ConnectorConfig,
  Destination,
  RunOptions,
  Source,
  StateMessage,
  StreamStats,
  StreamStatsEntry,
} from '../protocol/index.js'

/** How stream names and namespaces are mapped on the way to the destination (Airbyte §6.1). */
export interface NamespaceMapping {
  namespaceDefinition: 'source' | 'destination' | 'customformat'
  namespaceFormat?: string
  prefix?: string
  /** Per-stream alias (`config.aliasName`), keyed by streamKey of the source descriptor. */
  aliases?: ReadonlyMap<string, string>
}

/** Everything one sync attempt needs. The engine never touches the store: it calls back. */
export interface AttemptInput {
  source: Source
  sourceConfig: ConnectorConfig
  destination: Destination
  destinationConfig: ConnectorConfig
  /** Catalog with source-side names, sync ids and generation ids already set. */
  catalog: ConfiguredCatalog
  mapping: NamespaceMapping
  /**
   * Streams with a field selection: the top-level fields their records keep, keyed by streamKey
   * of the source descriptor (the catalog's schemas are already projected to them).
   */
  fieldSelection?: ReadonlyMap<string, ReadonlySet<string>>
  /** Last committed state per stream (source-side names). */
  state: StateMessage[]
  /** A reset/clear: read nothing, emit null states and COMPLETE per stream. */
  emptySource?: boolean
  options: RunOptions
  /**
   * Called with states the destination has made durable, already mapped back to source-side
   * names, in order. The engine waits for it before counting the records as committed.
   */
  onStateCommitted(states: StateMessage[]): Promise<void>
  /** Called at most about once a second with running totals. */
  onProgress?(progress: AttemptProgress): void
}

export interface AttemptProgress {
  totalStats: StreamStats
  streamStats: StreamStatsEntry[]
}

export type AttemptResult = AttemptProgress
