import { randomUUID } from 'node:crypto'
import type {
  AirbyteCatalog,
  ConnectorConfig,
  ConnectorContext,
  ConnectorSpecification,
  DestinationDefinition,
  SourceDefinition,
} from '../protocol/index.js'
import type { ConnectorRegistry } from '../connectors/registry.js'
import { isSluiceError, notFound, SluiceError } from '../errors.js'
import { decryptSecrets, encryptedLookingPaths, encryptSecrets, maskSecrets, restoreMaskedSecrets, secretPaths, secretValues } from '../secrets/config-secrets.js'
import type { SecretService } from '../secrets/secret-service.js'
import type { ActorRecord, CatalogRecord, ConfigStore } from '../store/config-store.js'
import { toApiCatalog } from '../domain/catalog-conversion.js'
import { configHash } from '../domain/config-hash.js'
import { cancelActiveJob, deprecateConnections } from './connection-service.js'
import { callConnector, scrub, type SynchronousJobRead } from './connector-calls.js'
import type { ApiDeps } from './deps.js'
import { validateConnectorConfig } from './request-validation.js'
import { requireWorkspace } from './workspace-service.js'

export type ActorKind = ActorRecord['kind']
export type DefinitionOf<K extends ActorKind> = K extends 'source' ? SourceDefinition : DestinationDefinition

/** Airbyte's names of the config types in "Could not find configuration for <TYPE>: <id>". */
const CONFIG_TYPE = { source: 'SourceConnection', destination: 'DestinationConnection' } as const
const DEFINITION_TYPE = { source: 'StandardSourceDefinition', destination: 'StandardDestinationDefinition' } as const

const DEFAULT_CHECK_MS = 60_000
const DEFAULT_DISCOVER_MS = 5 * 60_000

/** The definition of a kind, or undefined. */
export function findDefinition<K extends ActorKind>(registry: ConnectorRegistry, kind: K, definitionId: string): DefinitionOf<K> | undefined {
  return (kind === 'source' ? registry.getSource(definitionId) : registry.getDestination(definitionId)) as DefinitionOf<K> | undefined
}

/** The definition, or the 404 Airbyte sends for an unknown definition id. */
export function requireDefinition<K extends ActorKind>(registry: ConnectorRegistry, kind: K, definitionId: string): DefinitionOf<K> {
  const def = findDefinition(registry, kind, definitionId)
  if (!def) throw notFound(DEFINITION_TYPE[kind], definitionId)
  return def
}

/** The connector spec of a definition. */
export function specOf(def: SourceDefinition | DestinationDefinition): ConnectorSpecification {
  return def.kind === 'source' ? def.source.spec : def.destination.spec
}

/** Loads a live (not deleted) actor or throws 404. */
export async function requireActor(store: ConfigStore, kind: ActorKind, id: string): Promise<ActorRecord> {
  const actor = await store.getActor(kind, id)
  if (!actor || actor.tombstone) throw notFound(CONFIG_TYPE[kind], id)
  return actor
}

/** An actor with its definition and its configuration in clear (only ever inside the process). */
export interface LoadedActor<K extends ActorKind = ActorKind> {
  actor: ActorRecord
  definition: DefinitionOf<K>
  /** Decrypted configuration, ready for the connector. */
  config: ConnectorConfig
}

/**
 * Loads a source or destination with its definition and DECRYPTED configuration: what a worker
 * needs to run the connector. Throws 404 (SLUICE_ERR_NOT_FOUND) for an unknown or deleted actor
 * or a definition that is no longer registered.
 */
export async function loadActorWithConfig<K extends ActorKind>(
  deps: Pick<ApiDeps, 'configStore' | 'registry' | 'secrets'>,
  kind: K,
  id: string,
): Promise<LoadedActor<K>> {
  const actor = await requireActor(deps.configStore, kind, id)
  const definition = requireDefinition(deps.registry, kind, actor.definitionId)
  return { actor, definition, config: decryptSecrets(actor.configuration, deps.secrets) }
}

/** The largest connector configuration stored (1 MiB of JSON): every read of the actor returns it. */
export const MAX_CONFIG_BYTES = 1024 * 1024

/**
 * Turns an incoming `connectionConfiguration` into what is stored: masks replaced by the stored
 * secrets (update), validated against the spec (422 naming each field) and the connector's own
 * validateConfig, secrets encrypted.
 * Nothing is written here, so a failure stores nothing.
 */
export function prepareConfiguration(
  definition: SourceDefinition | DestinationDefinition,
  incoming: Record<string, unknown>,
  deps: { secrets: SecretService; context: ConnectorContext },
  storedPlain?: Record<string, unknown>,
): { plain: ConnectorConfig; stored: Record<string, unknown> } {
  const schema = specOf(definition).connectionSpecification
  const size = Buffer.byteLength(JSON.stringify(incoming))
  if (size > MAX_CONFIG_BYTES) {
    throw new SluiceError('SLUICE_ERR_INVALID_CONFIG', `connectionConfiguration is ${size} bytes of JSON; at most ${MAX_CONFIG_BYTES} are accepted.`, {
      validationErrors: [{ propertyPath: 'connectionConfiguration', invalidValue: '(too large)', message: `must be at most ${MAX_CONFIG_BYTES} bytes of JSON` }],
    })
  }
  const reserved = encryptedLookingPaths(incoming)
  if (reserved.length > 0) {
    throw new SluiceError('SLUICE_ERR_INVALID_CONFIG', `Values starting with 'sluice:v1:' are reserved for stored secrets: ${reserved.join(', ')}.`, {
      validationErrors: reserved.map((p) => ({ propertyPath: `connectionConfiguration.${p}`, invalidValue: '**********', message: 'reserved prefix' })),
    })
  }
  // On create there is nothing stored: a mask is then dropped and reported as missing.
  const plain = restoreMaskedSecrets(schema, incoming, storedPlain ?? {})
  const secretFieldPaths = new Set(secretPaths(schema, plain).map((p) => `connectionConfiguration.${p}`))
  validateConnectorConfig(schema, plain, secretFieldPaths)
  // Rules JSON Schema cannot express (e.g. Postgres refuses CDC): the connector throws a 422.
  if (definition.kind === 'source') definition.source.validateConfig?.(plain, deps.context)
  else definition.destination.validateConfig?.(plain, deps.context)
  return { plain, stored: encryptSecrets(schema, plain, deps.secrets) }
}

/** `SourceRead` / `DestinationRead` with every secret masked. */
export function toActorRead(registry: ConnectorRegistry, actor: ActorRecord): Record<string, unknown> {
  const def = findDefinition(registry, actor.kind, actor.definitionId)
  const schema = def ? specOf(def).connectionSpecification : {}
  const configuration = maskSecrets(schema, actor.configuration)
  const common = {
    workspaceId: actor.workspaceId,
    connectionConfiguration: configuration,
    name: actor.name,
    createdAt: actor.createdAt,
    icon: def?.icon,
    isVersionOverrideApplied: false,
    supportState: 'supported',
    status: 'active',
  }
  return actor.kind === 'source'
    ? { sourceDefinitionId: actor.definitionId, sourceId: actor.id, sourceName: def?.name ?? 'unknown', ...common }
    : { destinationDefinitionId: actor.definitionId, destinationId: actor.id, destinationName: def?.name ?? 'unknown', ...common }
}

/** Creates the record of a new actor (not stored). */
export function newActorRecord(kind: ActorKind, workspaceId: string, definitionId: string, name: string, configuration: Record<string, unknown>): ActorRecord {
  return { id: randomUUID(), kind, workspaceId, definitionId, name, configuration, tombstone: false, createdAt: Math.floor(Date.now() / 1000) }
}

/** Airbyte's `CheckConnectionRead`. */
export interface CheckConnectionRead {
  status?: 'succeeded' | 'failed'
  message?: string
  jobInfo: SynchronousJobRead
}

/**
 * Runs the connector's check with a deadline. A thrown config error is a "failed" verdict with
 * its message (the job itself succeeded); any other throw is "failed" with jobInfo.succeeded
 * false. Secrets never appear in the answer.
 */
export async function checkActor(
  deps: Pick<ApiDeps, 'context' | 'timeouts'>,
  definition: SourceDefinition | DestinationDefinition,
  config: ConnectorConfig,
  configId?: string,
): Promise<CheckConnectionRead> {
  const secrets = secretValues(specOf(definition).connectionSpecification, config)
  const outcome = await callConnector(
    {
      configType: definition.kind === 'source' ? 'check_connection_source' : 'check_connection_destination',
      ...(configId !== undefined ? { configId } : {}),
      context: deps.context,
      timeoutMs: deps.timeouts?.checkMs ?? DEFAULT_CHECK_MS,
      secrets,
    },
    (opts) => (definition.kind === 'source' ? definition.source.check(config, opts) : definition.destination.check(config, opts)),
  )
  if (outcome.ok) {
    const message = outcome.value.message ? outcome.value.message : outcome.value.status === 'succeeded' ? 'Connection test succeeded' : 'Connection test failed'
    return { status: outcome.value.status, message: scrub(message, secrets), jobInfo: outcome.job }
  }
  if (isSluiceError(outcome.error) && outcome.error.failureType === 'config_error') {
    outcome.job.succeeded = true
  }
  return { status: 'failed', message: outcome.message, jobInfo: outcome.job }
}

/** Airbyte's `SourceDiscoverSchemaRead`. */
export interface SourceDiscoverSchemaRead {
  catalog?: { streams: Array<{ stream: Record<string, unknown>; config: Record<string, unknown> }> }
  catalogId?: string
  jobInfo: SynchronousJobRead
}

/** A discovered (or cached) catalog and the job that produced it. */
export type DiscoverOutcome = { ok: true; record: CatalogRecord; job: SynchronousJobRead; cached: boolean } | { ok: false; message: string; job: SynchronousJobRead }

/**
 * The source's catalog: the newest cached one for the same configuration unless `disableCache`,
 * else a new discover (stored with a new catalogId).
 */
export async function discoverCatalog(
  deps: Pick<ApiDeps, 'configStore' | 'registry' | 'secrets' | 'context' | 'timeouts'>,
  sourceId: string,
  disableCache: boolean,
): Promise<DiscoverOutcome> {
  const { actor, definition, config } = await loadActorWithConfig(deps, 'source', sourceId)
  const hash = configHash(actor.definitionId, config)
  if (!disableCache) {
    const cached = await deps.configStore.latestCatalog(sourceId, hash)
    if (cached) {
      const now = Date.now()
      const job: SynchronousJobRead = {
        id: randomUUID(),
        configType: 'discover_schema',
        configId: sourceId,
        createdAt: now,
        endedAt: now,
        succeeded: true,
        connectorConfigurationUpdated: false,
        logType: 'formatted',
        logs: { logLines: [`${new Date(now).toISOString()} INFO Catalog ${cached.catalogId} served from the cache (discovered ${new Date(cached.createdAt).toISOString()}).`] },
      }
      return { ok: true, record: cached, job, cached: true }
    }
  }
  const outcome = await callConnector<AirbyteCatalog>(
    {
      configType: 'discover_schema',
      configId: sourceId,
      context: deps.context,
      timeoutMs: deps.timeouts?.discoverMs ?? DEFAULT_DISCOVER_MS,
      secrets: secretValues(specOf(definition).connectionSpecification, config),
    },
    (opts) => definition.source.discover(config, opts),
  )
  if (!outcome.ok) return { ok: false, message: outcome.message, job: outcome.job }
  if (!outcome.value || !Array.isArray(outcome.value.streams)) {
    // A connector bug: answer as a failed discovery, not a 500.
    const message = `The ${definition.name} connector returned no catalog.`
    outcome.job.succeeded = false
    outcome.job.failureReason = { failureOrigin: 'source', failureType: 'system_error', externalMessage: message, retryable: false, timestamp: Date.now() }
    return { ok: false, message, job: outcome.job }
  }
  const record: CatalogRecord = { catalogId: randomUUID(), sourceId, configHash: hash, catalog: outcome.value, createdAt: Date.now() }
  await deps.configStore.putCatalog(record)
  return { ok: true, record, job: outcome.job, cached: false }
}

/** Shapes a discover outcome as `SourceDiscoverSchemaRead` (HTTP 200 even when discovery failed). */
export function toDiscoverRead(outcome: DiscoverOutcome): SourceDiscoverSchemaRead {
  if (!outcome.ok) return { jobInfo: outcome.job }
  return { catalog: toApiCatalog(outcome.record.catalog), catalogId: outcome.record.catalogId, jobInfo: outcome.job }
}

/** What creating a source or destination takes. */
export interface NewActorInput {
  workspaceId: string
  definitionId: string
  name: string
  /** In clear, as the caller sent it. */
  configuration: Record<string, unknown>
}

/** Creates a source or destination: workspace and definition checked, configuration validated, secrets encrypted. */
export async function createActor(deps: Pick<ApiDeps, 'configStore' | 'registry' | 'secrets' | 'context'>, kind: ActorKind, input: NewActorInput): Promise<ActorRecord> {
  const workspace = await requireWorkspace(deps, input.workspaceId)
  const definition = requireDefinition(deps.registry, kind, input.definitionId)
  const { stored } = prepareConfiguration(definition, input.configuration, deps)
  const actor = newActorRecord(kind, workspace.workspaceId, definition.definitionId, input.name, stored)
  await deps.configStore.putActor(actor)
  return actor
}

/**
 * The merged configuration of an update: masks in `configuration` replaced by the stored
 * secrets, validated against the spec. Nothing is stored.
 */
export async function mergeActorUpdate(
  deps: Pick<ApiDeps, 'configStore' | 'registry' | 'secrets' | 'context'>,
  kind: ActorKind,
  id: string,
  configuration: Record<string, unknown>,
): Promise<LoadedActor & { prepared: { plain: ConnectorConfig; stored: Record<string, unknown> } }> {
  const loaded = await loadActorWithConfig(deps, kind, id)
  const prepared = prepareConfiguration(loaded.definition, configuration, deps, loaded.config)
  return { ...loaded, prepared }
}

/** Replaces an actor's configuration (masked secrets are kept) and, when given, its name. */
export async function updateActor(
  deps: Pick<ApiDeps, 'configStore' | 'registry' | 'secrets' | 'context'>,
  kind: ActorKind,
  id: string,
  update: { name?: string | undefined; configuration: Record<string, unknown> },
): Promise<ActorRecord> {
  const { actor, prepared } = await mergeActorUpdate(deps, kind, id, update.configuration)
  const next = { ...actor, name: update.name ?? actor.name, configuration: prepared.stored }
  await deps.configStore.putActor(next)
  return next
}

/** Deletes an actor (tombstone) and, softly, its connections; their running jobs are cancelled. */
export async function deleteActor(deps: Pick<ApiDeps, 'configStore' | 'jobStore' | 'logger'>, kind: ActorKind, id: string): Promise<void> {
  const actor = await requireActor(deps.configStore, kind, id)
  const deprecated = await deps.configStore.transaction(async () => {
    const connections = await deps.configStore.listConnections({ actorId: actor.id })
    const ids = await deprecateConnections(deps, connections)
    await deps.configStore.putActor({ ...actor, tombstone: true })
    return ids
  })
  for (const connectionId of deprecated) await cancelActiveJob(deps, connectionId)
}
