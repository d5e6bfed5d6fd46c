import type { AirbyteCatalog, ConfiguredCatalog, DestinationSyncMode } from './catalog.js'
import type { DestinationMessage, SourceMessage, StateMessage } from './messages.js'
import type { ConnectionStatus, ConnectorSpecification } from './spec.js'

/*
 * The connector contract: what every source and destination implements (Airbyte's verbs as
 * async functions and iterables). It lives at the bottom so the engine, the registry and the
 * connector families depend on it, never on each other.
 */

/** Connector configuration after spec validation (secrets in clear, only inside the process). */
export type ConnectorConfig = Record<string, unknown>

/** Minimal logger connectors write to; lines go to the attempt log (secrets must not be passed). */
export interface ConnectorLogger {
  debug(message: string): void
  info(message: string): void
  warn(message: string): void
  error(message: string): void
}

/** Server-level settings a connector may need. */
export interface ConnectorContext {
  /** The server's data directory. */
  dataDir: string
  /** Root under which the Local Files destination may write (no path traversal outside it). */
  localFilesRoot: string
}

export interface RunOptions {
  signal: AbortSignal
  logger: ConnectorLogger
  context: ConnectorContext
  /**
   * Optional: persist a connector config the source had to change during the run (Airbyte's
   * CONTROL connectorConfig message, e.g. an OAuth provider rotated the refresh token). The
   * caller stores it (secrets encrypted) so the next run uses it.
   */
  onConfigUpdate?(config: ConnectorConfig): Promise<void>
}

export interface Source<C extends ConnectorConfig = ConnectorConfig> {
  readonly spec: ConnectorSpecification
  /**
   * Optional checks JSON Schema cannot express, run after spec validation (e.g. Postgres
   * rejects the CDC method). Throws a SluiceError (config error, HTTP 422) with a clear message.
   * `context` is given at create/update (the server's settings, e.g. the Local Files root).
   */
  validateConfig?(config: C, context?: ConnectorContext): void
  check(config: C, opts: RunOptions): Promise<ConnectionStatus>
  discover(config: C, opts: RunOptions): Promise<AirbyteCatalog>
  /**
   * Yields record batches (bounded in rows and bytes), STATE after the records it covers, LOG,
   * STREAM_STATUS and ESTIMATE messages. `state` holds the last committed state per stream.
   * Must stop promptly (and clean up in `finally`) when `opts.signal` aborts.
   */
  read(config: C, catalog: ConfiguredCatalog, state: StateMessage[], opts: RunOptions): AsyncIterable<SourceMessage>
}

/** What a destination can do; the engine and API consult this instead of extra methods. */
export interface DestinationCapabilities {
  supportedSyncModes: DestinationSyncMode[]
  /** Understands RecordBatch.pgCopyText. */
  acceptsPgCopyText: boolean
  /** Prefers RecordBatch.columns() when present. */
  acceptsColumns: boolean
}

export interface Destination<C extends ConnectorConfig = ConnectorConfig> {
  readonly spec: ConnectorSpecification
  readonly capabilities: DestinationCapabilities
  /** As Source.validateConfig: checks beyond the spec, run at create/update (a 422 on failure). */
  validateConfig?(config: C, context?: ConnectorContext): void
  check(config: C, opts: RunOptions): Promise<ConnectionStatus>
  /**
   * Consumes batches, states and STREAM_STATUS COMPLETE markers; yields each STATE back only
   * once every record before it is durable (stage, then commit). Overwrite streams swap their
   * new data in only after COMPLETE for that stream. On abort or error, leaves no partial
   * output visible.
   */
  write(config: C, catalog: ConfiguredCatalog, input: AsyncIterable<DestinationMessage>, opts: RunOptions): AsyncIterable<StateMessage>
}

export const SOURCE_TYPES = ['api', 'file', 'database', 'custom'] as const
export type SourceType = (typeof SOURCE_TYPES)[number]

/** Registry metadata shared by source and destination definitions (Airbyte's ids and names). */
export interface DefinitionMetadata {
  definitionId: string
  name: string
  dockerRepository: string
  dockerImageTag: string
  documentationUrl: string
  releaseStage: 'alpha' | 'beta' | 'generally_available' | 'custom'
  supportLevel: 'community' | 'certified' | 'archived' | 'none'
  icon?: string
  custom?: boolean
}

export interface SourceDefinition extends DefinitionMetadata {
  kind: 'source'
  sourceType: SourceType
  source: Source
}

export interface DestinationDefinition extends DefinitionMetadata {
  kind: 'destination'
  destination: Destination
}

export type ConnectorDefinition = SourceDefinition | DestinationDefinition
