import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { notFound } from '../../errors.js'
import type { AirbyteCatalog, StreamDescriptor } from '../../protocol/index.js'
import type { ActorRecord, ConnectionRecord, OperationRecord } from '../../store/config-store.js'
import { connectionOperations } from '../../domain/connection-operations.js'
import { selectedFieldNames } from '../../domain/field-selection.js'
import { discoverCatalog, findDefinition, requireActor, toActorRead } from '../actor-service.js'
import type { CatalogDiff } from '../../domain/catalog-diff.js'
import { configuredPicture, diffAgainst, mergeCatalog, schemaChangeOf, type ApiCatalog } from '../../domain/schema-change.js'
import { toApiCatalog, type SyncCatalogEntry } from '../../domain/catalog-conversion.js'
import { toConnectionRead } from '../connection-service.js'
import type { ApiDeps } from '../deps.js'
import { bool, objectSchema, postRoute, uuid } from '../route-helpers.js'
import { epochSeconds } from '../epoch-seconds.js'
import { createBody, createConnection, requireConnection, updateBody, updateConnection, type ConnectionBody } from './connection-routes.js'
import { checkOperator, toOperationRead } from './operation-routes.js'
import { requireWorkspace } from '../workspace-service.js'

type CatalogEntry = SyncCatalogEntry

const getBody = objectSchema({ connectionId: uuid, withRefreshedCatalog: bool }, ['connectionId'])
const listBody = objectSchema({ workspaceId: uuid, sourceId: { type: 'array', items: uuid }, destinationId: { type: 'array', items: uuid } }, ['workspaceId'])
const operationWrite = objectSchema(
  { operationId: uuid, workspaceId: uuid, name: { type: 'string', minLength: 1 }, operatorConfiguration: { type: 'object' } },
  ['name', 'operatorConfiguration'],
)
const webCreateBody = {
  ...createBody,
  properties: { ...(createBody.properties as Record<string, unknown>), operations: { type: ['array', 'null'], items: operationWrite } },
}
const webUpdateBody = {
  ...updateBody,
  properties: { ...(updateBody.properties as Record<string, unknown>), skipReset: bool, operations: { type: ['array', 'null'], items: operationWrite } },
}

interface OperationWrite {
  operationId?: string
  workspaceId?: string
  name: string
  operatorConfiguration: Record<string, unknown>
}

const key = (s: { name?: unknown; namespace?: unknown }): string => `${String(s.namespace ?? '')}\u0000${String(s.name)}`

/** The connection's whole catalog picture (domain/schema-change.ts), its original catalog read from the store. */
async function catalogPicture(deps: ApiDeps, conn: ConnectionRecord): Promise<ApiCatalog> {
  const original = conn.sourceCatalogId === undefined ? undefined : await deps.configStore.getCatalog(conn.sourceCatalogId)
  return configuredPicture(conn.syncCatalog, original?.catalog)
}

/** `catalogDiff` and `breakingChange` of a discovered catalog against a connection's (404 for an unknown connection). */
export async function connectionCatalogDiff(deps: ApiDeps, connectionId: string, discovered: AirbyteCatalog): Promise<{ catalogDiff: CatalogDiff; breakingChange: boolean }> {
  return diffAgainst(await catalogPicture(deps, await requireConnection(deps, connectionId)), toApiCatalog(discovered))
}

async function actor(deps: ApiDeps, kind: ActorRecord['kind'], id: string): Promise<ActorRecord> {
  const a = await deps.configStore.getActor(kind, id)
  if (a === undefined) throw notFound(kind === 'source' ? 'SourceConnection' : 'DestinationConnection', id)
  return a
}

/** Latest sync job and whether one runs now (the list view's status columns). */
async function syncStatus(deps: ApiDeps, connectionId: string): Promise<Record<string, unknown>> {
  const { jobs } = await deps.jobStore.listJobs({ configId: connectionId, configTypes: ['sync', 'refresh'], orderByField: 'createdAt', orderByMethod: 'DESC', pageSize: 1 })
  const active = await deps.jobStore.activeJob(connectionId)
  const out: Record<string, unknown> = { isSyncing: active?.status === 'running' }
  if (jobs[0]) {
    out.latestSyncJobCreatedAt = epochSeconds(jobs[0].createdAt)
    out.latestSyncJobStatus = jobs[0].status
  }
  return out
}

/** `ActorDefinitionVersionRead` of an actor's definition. */
function definitionVersion(deps: ApiDeps, a: ActorRecord): Record<string, unknown> {
  const def = findDefinition(deps.registry, a.kind, a.definitionId)
  return {
    dockerRepository: def?.dockerRepository ?? 'unknown',
    dockerImageTag: def?.dockerImageTag ?? 'unknown',
    supportsRefreshes: a.kind === 'destination',
    supportState: 'supported',
    isVersionOverrideApplied: false,
    supportsFileTransfer: false,
    supportsDataActivation: false,
  }
}

/** `WebBackendConnectionRead`. */
async function webBackendRead(
  deps: ApiDeps,
  conn: ConnectionRecord,
  syncCatalog: ApiCatalog,
  refreshed?: { diff: CatalogDiff; breaking: boolean; catalogId: string },
): Promise<Record<string, unknown>> {
  const source = await actor(deps, 'source', conn.sourceId)
  const destination = await actor(deps, 'destination', conn.destinationId)
  const read: Record<string, unknown> = {
    ...toConnectionRead(conn),
    syncCatalog,
    source: toActorRead(deps.registry, source),
    destination: toActorRead(deps.registry, destination),
    operations: (await connectionOperations(deps.configStore, conn.operationIds)).map(toOperationRead),
    ...(await syncStatus(deps, conn.connectionId)),
    schemaChange:
      refreshed === undefined
        ? schemaChangeOf(conn, await deps.configStore.getSchemaCheck(conn.connectionId))
        : refreshed.diff.transforms.length === 0
          ? 'no_change'
          : refreshed.breaking
            ? 'breaking'
            : 'non_breaking',
    createdAt: conn.createdAt,
    sourceActorDefinitionVersion: definitionVersion(deps, source),
    destinationActorDefinitionVersion: definitionVersion(deps, destination),
    tags: [],
    onDemandEnabled: false,
  }
  const catalogId = refreshed?.catalogId ?? conn.sourceCatalogId
  if (catalogId !== undefined) read.catalogId = catalogId
  if (refreshed !== undefined) {
    read.catalogDiff = refreshed.diff
    read.breakingChange = refreshed.breaking
  }
  return read
}

/** A snippet of an actor for list items (`SourceSnippetRead` / `DestinationSnippetRead`). */
function snippet(deps: ApiDeps, a: ActorRecord): Record<string, unknown> {
  const def = findDefinition(deps.registry, a.kind, a.definitionId)
  const name = def?.name ?? 'unknown'
  const icon = def?.icon === undefined ? {} : { icon: def.icon }
  return a.kind === 'source'
    ? { sourceId: a.id, name: a.name, sourceDefinitionId: a.definitionId, sourceName: name, ...icon }
    : { destinationId: a.id, name: a.name, destinationDefinitionId: a.definitionId, destinationName: name, ...icon }
}

/**
 * Airbyte's createOrUpdateOperations: operations sent with the id of one the connection has are
 * updated, the others created; those it had and no longer lists are deleted unless another
 * connection still lists them. One transaction; returns the stored connection.
 */
async function replaceOperations(deps: ApiDeps, conn: ConnectionRecord, operations: readonly OperationWrite[]): Promise<ConnectionRecord> {
  return deps.configStore.transaction(async () => {
    const operationIds: string[] = []
    for (const op of operations) {
      const existing = op.operationId === undefined ? undefined : await deps.configStore.getOperation(op.operationId)
      const record: OperationRecord =
        existing !== undefined && !existing.tombstone && conn.operationIds.includes(existing.operationId)
          ? { ...existing, name: op.name, operatorConfiguration: op.operatorConfiguration }
          : { operationId: randomUUID(), workspaceId: conn.workspaceId, name: op.name, operatorConfiguration: op.operatorConfiguration, tombstone: false, createdAt: Math.floor(Date.now() / 1000) }
      await deps.configStore.putOperation(record)
      operationIds.push(record.operationId)
    }
    const others = (await deps.configStore.listConnections({ workspaceId: conn.workspaceId, includeDeprecated: true })).filter((c) => c.connectionId !== conn.connectionId)
    for (const id of conn.operationIds.filter((id) => !operationIds.includes(id))) {
      const dropped = await deps.configStore.getOperation(id)
      if (dropped !== undefined && !others.some((c) => c.operationIds.includes(id))) await deps.configStore.putOperation({ ...dropped, tombstone: true })
    }
    return deps.configStore.putConnection({ ...conn, operationIds, updatedAt: Math.floor(Date.now() / 1000) })
  })
}

/**
 * Streams whose schema (an `update_stream` of catalogDiff, which compares schemas field by field
 * for selected streams) or sync configuration an update changed: what Airbyte resets unless skipReset.
 */
function changedStreams(before: ApiCatalog, after: ApiCatalog): StreamDescriptor[] {
  const selected = (c: ApiCatalog): CatalogEntry[] => c.streams.filter((e) => e.config.selected !== false)
  const schemaChanged = new Set(diffAgainst(before, after).catalogDiff.transforms.filter((t) => t.transformType === 'update_stream').map((t) => key(t.streamDescriptor)))
  const old = new Map(selected(before).map((e) => [key(e.stream), e]))
  const out: StreamDescriptor[] = []
  for (const e of selected(after)) {
    const o = old.get(key(e.stream))
    if (o === undefined) continue
    const configChanged =
      ['syncMode', 'destinationSyncMode', 'cursorField', 'primaryKey'].some((k) => JSON.stringify(o.config[k]) !== JSON.stringify(e.config[k])) ||
      JSON.stringify(selectedFieldNames(o.config)?.sort()) !== JSON.stringify(selectedFieldNames(e.config)?.sort())
    if (configChanged || schemaChanged.has(key(e.stream))) out.push({ name: String(e.stream.name), namespace: (e.stream.namespace as string | null | undefined) ?? null })
  }
  return out
}

/** web_backend/connections/create, get, list and update: what Airbyte's UI and octavia-cli use. */
export function registerWebBackendRoutes(app: FastifyInstance, deps: ApiDeps): void {
  postRoute<ConnectionBody & { operations?: OperationWrite[] | null }>(
    app,
    'web_backend/connections/create',
    {
      summary: 'Create a connection (as connections/create) with its operations inline; answers the web_backend view of it.',
      requestSchema: webCreateBody,
      response: 'WebBackendConnectionRead',
    },
    async (body) => {
      const { operations, ...fields } = body
      // Checked first, then the connection (it validates the catalog), then the operations: a refused create stores nothing.
      const source = await requireActor(deps.configStore, 'source', body.sourceId as string)
      if (Array.isArray(operations)) for (const op of operations) await checkOperator(deps, source.workspaceId, op.operatorConfiguration)
      const { operationIds: _ignored, ...withoutIds } = fields
      let created = await createConnection(deps, Array.isArray(operations) ? withoutIds : fields)
      if (Array.isArray(operations)) created = await replaceOperations(deps, created, operations)
      return webBackendRead(deps, created, await catalogPicture(deps, created))
    },
  )

  postRoute<{ connectionId: string; withRefreshedCatalog?: boolean }>(
    app,
    'web_backend/connections/get',
    { summary: 'A connection with its source, destination, operations and sync status; withRefreshedCatalog discovers again and returns the diff.', requestSchema: getBody, response: 'WebBackendConnectionRead' },
    async (body) => {
      const conn = await requireConnection(deps, body.connectionId)
      const picture = await catalogPicture(deps, conn)
      if (body.withRefreshedCatalog !== true) return webBackendRead(deps, conn, picture)
      const outcome = await discoverCatalog(deps, conn.sourceId, true)
      // Like Airbyte: a failed discover leaves the stored catalog in place.
      if (!outcome.ok) return webBackendRead(deps, conn, picture)
      const discovered = toApiCatalog(outcome.record.catalog)
      const { catalogDiff: diff, breakingChange } = diffAgainst(picture, discovered)
      return webBackendRead(deps, conn, mergeCatalog(picture, discovered), { diff, breaking: breakingChange, catalogId: outcome.record.catalogId })
    },
  )

  postRoute<{ workspaceId: string; sourceId?: string[]; destinationId?: string[] }>(
    app,
    'web_backend/connections/list',
    { summary: 'The connections of a workspace for list views (not deleted ones).', requestSchema: listBody, response: 'WebBackendConnectionReadList' },
    async (body) => {
      await requireWorkspace(deps, body.workspaceId)
      const connections = (await deps.configStore.listConnections({ workspaceId: body.workspaceId })).filter(
        (c) => (body.sourceId === undefined || body.sourceId.includes(c.sourceId)) && (body.destinationId === undefined || body.destinationId.includes(c.destinationId)),
      )
      const checks = new Map((await deps.configStore.listSchemaChecks(body.workspaceId)).map((check) => [check.connectionId, check]))
      const items: Record<string, unknown>[] = []
      for (const c of connections) {
        const source = await actor(deps, 'source', c.sourceId)
        const destination = await actor(deps, 'destination', c.destinationId)
        const read = toConnectionRead(c)
        items.push({
          connectionId: c.connectionId,
          name: c.name,
          scheduleType: read.scheduleType,
          ...(read.scheduleData === undefined ? {} : { scheduleData: read.scheduleData }),
          status: c.status,
          source: snippet(deps, source),
          destination: snippet(deps, destination),
          ...(await syncStatus(deps, c.connectionId)),
          schemaChange: schemaChangeOf(c, checks.get(c.connectionId)),
          sourceActorDefinitionVersion: definitionVersion(deps, source),
          destinationActorDefinitionVersion: definitionVersion(deps, destination),
          tags: [],
          onDemandEnabled: false,
        })
      }
      return { connections: items }
    },
  )

  postRoute<ConnectionBody & { skipReset?: boolean; operations?: OperationWrite[] | null }>(
    app,
    'web_backend/connections/update',
    {
      summary: 'Patch a connection (as connections/update), create or update its operations inline, and refresh the streams whose schema or configuration changed unless skipReset.',
      requestSchema: webUpdateBody,
      response: 'WebBackendConnectionRead',
    },
    async (body) => {
      const { skipReset, operations, ...patch } = body
      const conn = await requireConnection(deps, body.connectionId as string)
      const before = await catalogPicture(deps, conn)
      // Checked first, the connection patch next (it validates the catalog and may discover),
      // the operations last: a refused update stores nothing.
      if (Array.isArray(operations)) for (const op of operations) await checkOperator(deps, conn.workspaceId, op.operatorConfiguration)
      const { operationIds: _ignored, ...rest } = patch
      let updated = await updateConnection(deps, Array.isArray(operations) ? rest : patch)
      if (Array.isArray(operations)) updated = await replaceOperations(deps, updated, operations)
      const after = await catalogPicture(deps, updated)
      if (skipReset !== true && updated.status === 'active') {
        const streams = changedStreams(before, after)
        // As Airbyte does for a destination that supports refreshes: the changed streams sync again
        // from scratch, keeping their records (merge); a running sync is cancelled for it.
        if (streams.length > 0) await deps.jobStore.createJob({ configType: 'refresh', configId: updated.connectionId, streams, refreshMode: 'merge', cancelActive: true })
      }
      return webBackendRead(deps, updated, after)
    },
  )
}
