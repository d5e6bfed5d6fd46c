import type { ConnectorRegistry } from '../connectors/registry.js'
import { catalogEntries, type CatalogEntry } from '../domain/catalog-entries.js'
import type { AttemptInput } from '../engine/types.js'
import { configError } from '../errors.js'
import {
  streamKey,
  streamLabel,
  type ConnectorConfig,
  type ConnectorContext,
  type DestinationDefinition,
  type SourceDefinition,
  type StateMessage,
} from '../protocol/index.js'
import { decryptSecrets, encryptSecrets, secretValues } from '../secrets/config-secrets.js'
import type { SecretService } from '../secrets/secret-service.js'
import type { ActorRecord, ConfigStore } from '../store/config-store.js'
import type { AttemptRecord, JobRecord, JobStore } from '../store/job-store.js'
import { configuredCatalog, fieldSelection, namespaceMapping, resetEntries } from './attempt-catalog.js'
import type { AttemptLog } from './attempt-log.js'
import type { SchemaCheck } from './schema-check.js'
import { updateRecord } from '../store/config-store.js'

/** The engine input of one attempt, all but the progress callback (the runner adds it). */
export type PreparedAttempt = Omit<AttemptInput, 'onProgress'>

/** Where the preparation reads the connection, its connectors and its state. */
export interface AttemptPreparationOptions {
  configStore: ConfigStore
  jobStore: JobStore
  registry: ConnectorRegistry
  /** Decrypts stored connector configurations. */
  secrets: SecretService
  context: ConnectorContext
  /** Discovers and applies schema changes before the first attempt of a sync. */
  schemaCheck: SchemaCheck
}

/**
 * Builds the engine input of a claimed attempt: loads the connection and its connectors,
 * decrypts their configurations (and registers the secrets with the attempt log so they are
 * scrubbed), runs the schema check before a sync's first attempt, applies Airbyte's generation
 * and state rules, and builds the configured catalog.
 */
export class AttemptPreparation {
  readonly #options: AttemptPreparationOptions

  constructor(options: AttemptPreparationOptions) {
    this.#options = options
  }

  /** Loads the connection and connectors, applies generations/state rules, builds the engine input. */
  async prepare(job: JobRecord, attempt: AttemptRecord, log: AttemptLog, signal: AbortSignal): Promise<PreparedAttempt> {
    const { configStore, jobStore, registry } = this.#options
    const stored = await configStore.getConnection(job.configId)
    if (stored === undefined) throw configError(`The connection ${job.configId} no longer exists.`)
    if (stored.status === 'deprecated') throw configError(`The connection ${job.configId} was deleted.`)
    const sourceActor = await configStore.getActor('source', stored.sourceId)
    const destinationActor = await configStore.getActor('destination', stored.destinationId)
    if (sourceActor === undefined || sourceActor.tombstone) throw configError(`The source ${stored.sourceId} of this connection no longer exists.`)
    if (destinationActor === undefined || destinationActor.tombstone) {
      throw configError(`The destination ${stored.destinationId} of this connection no longer exists.`)
    }
    const sourceDef = registry.getSource(sourceActor.definitionId)
    const destinationDef = registry.getDestination(destinationActor.definitionId)
    if (sourceDef === undefined) throw configError(`The source definition ${sourceActor.definitionId} is not available in this server.`)
    if (destinationDef === undefined) throw configError(`The destination definition ${destinationActor.definitionId} is not available in this server.`)
    const sourceConfig = this.#decryptedConfig(sourceActor, sourceDef, log)
    const destinationConfig = this.#decryptedConfig(destinationActor, destinationDef, log)
    const isSync = job.configType === 'sync' || job.configType === 'refresh'
    const connection =
      isSync && attempt.attemptNumber === 0
        ? await this.#options.schemaCheck.run({ job, connection: stored, sourceActor, sourceDef, sourceConfig, destinationDef, log, signal })
        : stored

    const entries = catalogEntries(connection)
    const isReset = job.configType === 'reset_connection' || job.configType === 'clear'
    const selected = isReset ? resetEntries(entries, job.streams) : entries.filter((e) => e.selected)
    // A refresh is a sync whose named streams start over (state cleared, new generation).
    const refreshed = job.configType === 'refresh' ? resetEntries(selected, job.streams) : []
    await this.#applyGenerationRules(job, attempt, selected, refreshed, isReset, log)
    const generations = await jobStore.getGenerations(connection.connectionId)
    const truncate = new Set(job.refreshMode === 'truncate' ? refreshed.map((e) => streamKey(e.stream)) : [])
    const catalog = configuredCatalog(selected, job.id, generations, { reset: isReset, truncate })

    const wanted = new Set(selected.map((e) => streamKey(e.stream)))
    const state: StateMessage[] = isReset
      ? []
      : (await jobStore.getState(connection.connectionId))
          .filter((s) => s.state !== null && wanted.has(streamKey(s.stream)))
          .map((s) => ({ type: 'STATE', stream: s.stream, data: s.state }))
    log.info(
      `${isReset ? 'Clearing' : 'Syncing'} ${catalog.streams.length} stream(s) from ${sourceDef.name} to ${destinationDef.name}: ` +
        catalog.streams.map((s) => `${streamLabel(s.stream)} (${s.syncMode} / ${s.destinationSyncMode}, generation ${s.generationId})`).join(', '),
    )
    if (state.length > 0) log.info(`Resuming ${state.length} stream(s) from saved state.`)

    return {
      source: sourceDef.source,
      sourceConfig,
      destination: destinationDef.destination,
      destinationConfig,
      catalog,
      mapping: namespaceMapping(connection, entries),
      fieldSelection: fieldSelection(selected),
      state,
      ...(isReset ? { emptySource: true } : {}),
      options: {
        signal,
        logger: log,
        context: this.#options.context,
        onConfigUpdate: (config) => this.#saveSourceConfig(sourceActor.id, sourceDef, config, log),
      },
      onStateCommitted: async (states) => {
        await jobStore.saveState(
          connection.connectionId,
          states.map((s) => ({ stream: s.stream, state: s.data })),
        )
      },
    }
  }

  /**
   * Airbyte's generation rules (semantics doc §2.4, §2.5): at the first attempt of a sync job,
   * every full_refresh stream gets a new generation and loses its state; later attempts do the
   * same for non-resumable full_refresh streams. A reset/clear does it for its streams once, and
   * so does a refresh for the streams it refreshes (on top of the sync rule).
   */
  async #applyGenerationRules(
    job: JobRecord,
    attempt: AttemptRecord,
    selected: CatalogEntry[],
    refreshed: CatalogEntry[],
    isReset: boolean,
    log: AttemptLog,
  ): Promise<void> {
    const { jobStore } = this.#options
    let streams: CatalogEntry[]
    if (isReset) streams = attempt.attemptNumber === 0 ? selected : []
    else if (attempt.attemptNumber === 0) streams = selected.filter((e) => e.syncMode === 'full_refresh' || refreshed.includes(e))
    else streams = selected.filter((e) => e.syncMode === 'full_refresh' && e.stream.isResumable !== true)
    if (streams.length === 0) return
    const descriptors = streams.map((e) => ({ name: e.stream.name, namespace: e.stream.namespace ?? null }))
    await jobStore.clearState(job.configId, descriptors)
    await jobStore.bumpGenerations(job.configId, descriptors)
    log.info(`New generation and cleared state for: ${descriptors.map(streamLabel).join(', ')}.`)
  }

  /**
   * Persists a configuration the source changed during the run (Airbyte's CONTROL
   * CONNECTOR_CONFIG: rotated OAuth tokens), so the next sync starts with it. Keys in the update
   * replace the stored ones, others are kept; secrets are encrypted and scrubbed from the log.
   */
  async #saveSourceConfig(sourceId: string, def: SourceDefinition, update: ConnectorConfig, log: AttemptLog): Promise<void> {
    const { configStore, secrets } = this.#options
    const spec = def.source.spec.connectionSpecification
    log.addSecrets(secretValues(spec, update))
    // Compare and set: an edit of the source made through the API meanwhile is kept.
    const saved = await updateRecord(
      () => configStore.getActor('source', sourceId),
      (current) => (current.tombstone ? undefined : { ...current, configuration: encryptSecrets(spec, { ...decryptSecrets(current.configuration, secrets), ...update }, secrets) }),
      (next) => configStore.putActor(next),
    )
    if (saved === undefined) return
    log.info('Saved the source configuration updated during the sync (e.g. a rotated token).')
  }

  /** A connector configuration with its secrets decrypted; the secrets are scrubbed from this attempt's log. */
  #decryptedConfig(actor: ActorRecord, def: SourceDefinition | DestinationDefinition, log: AttemptLog): ConnectorConfig {
    const config = decryptSecrets(actor.configuration, this.#options.secrets)
    const spec = def.kind === 'source' ? def.source.spec : def.destination.spec
    log.addSecrets(secretValues(spec.connectionSpecification, config))
    return config
  }
}
