import type { ConnectionRecord } from '../store/config-store.js'
import { toApiSyncCatalog } from '../domain/catalog-conversion.js'
import type { ApiDeps } from './deps.js'
import { scheduleFields } from './schedule.js'

/** Airbyte's defaults for the optional ConnectionRead fields we keep in `extra`. */
const EXTRA_DEFAULTS: Record<string, unknown> = {
  geography: 'auto',
  notifySchemaChanges: false,
  notifySchemaChangesByEmail: false,
  nonBreakingChangesPreference: 'ignore',
  backfillPreference: 'disabled',
}

/** Optional ConnectionCreate/Update fields stored as given in `extra`. */
export const EXTRA_KEYS = [
  'geography',
  'dataplaneGroupId',
  'notifySchemaChanges',
  'notifySchemaChangesByEmail',
  'nonBreakingChangesPreference',
  'backfillPreference',
  'resourceRequirements',
  'tags',
] as const

/** `ConnectionRead`: the union of v0.50, v1.6 and the seed's fields. */
export function toConnectionRead(conn: ConnectionRecord): Record<string, unknown> {
  const read: Record<string, unknown> = {
    connectionId: conn.connectionId,
    name: conn.name,
    namespaceDefinition: conn.namespaceDefinition,
    prefix: conn.prefix,
    sourceId: conn.sourceId,
    destinationId: conn.destinationId,
    operationIds: conn.operationIds,
    syncCatalog: toApiSyncCatalog(conn.syncCatalog),
    ...scheduleFields(conn.schedule),
    status: conn.status,
    breakingChange: false,
    workspaceId: conn.workspaceId,
    created_at: conn.createdAt,
    ...EXTRA_DEFAULTS,
    ...conn.extra,
  }
  if (conn.namespaceFormat !== undefined) read.namespaceFormat = conn.namespaceFormat
  if (conn.sourceCatalogId !== undefined) read.sourceCatalogId = conn.sourceCatalogId
  return read
}

/**
 * Asks the job store to cancel the connection's running job (a deleted connection must stop
 * syncing). Best effort: the deletion itself has already been committed.
 */
export async function cancelActiveJob(deps: Pick<ApiDeps, 'jobStore' | 'logger'>, connectionId: string): Promise<void> {
  try {
    const active = await deps.jobStore.activeJob(connectionId)
    if (active) await deps.jobStore.requestCancel(active.id)
  } catch (err) {
    deps.logger.warn({ err, connectionId }, 'could not cancel the running job of a deleted connection')
  }
}

/** Marks connections deprecated (soft delete); returns the ids changed. Call inside a transaction. */
export async function deprecateConnections(deps: Pick<ApiDeps, 'configStore'>, connections: ConnectionRecord[]): Promise<string[]> {
  const now = Math.floor(Date.now() / 1000)
  for (const conn of connections) await deps.configStore.putConnection({ ...conn, status: 'deprecated', updatedAt: now })
  return connections.map((c) => c.connectionId)
}
