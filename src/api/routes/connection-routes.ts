import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { notFound, SluiceError } from '../../errors.js'
import { DESTINATION_SYNC_MODES, SYNC_MODES, type AirbyteCatalog } from '../../protocol/index.js'
import type { ActorRecord, ConnectionRecord } from '../../store/config-store.js'
import { discoverCatalog, requireActor, requireDefinition } from '../actor-service.js'
import { resolveSyncCatalog } from '../../domain/catalog-conversion.js'
import { cancelActiveJob, EXTRA_KEYS, toConnectionRead } from '../connection-service.js'
import type { ApiDeps } from '../deps.js'
import { bool, objectSchema, optionalNameField, postRoute, str, uuid } from '../route-helpers.js'
import { SCHEDULE_TYPES, scheduleForCreate, scheduleForUpdate, TIME_UNITS, type ScheduleInput } from '../schedule.js'
import { checkOperationIds } from './operation-routes.js'
import { requireWorkspace } from '../workspace-service.js'

const STATUSES = ['active', 'inactive', 'deprecated'] as const
const NAMESPACE_DEFINITIONS = ['source', 'destination', 'customformat'] as const

const nullable = (schema: Record<string, unknown>): Record<string, unknown> => ({ ...schema, type: [schema.type as string, 'null'] })
const timeUnit = { type: 'string', enum: [...TIME_UNITS] }
const streamEntry = {
  type: 'object',
  properties: {
    stream: { type: 'object', properties: { name: str, namespace: { type: ['string', 'null'] } } },
    config: {
      type: 'object',
      properties: {
        syncMode: { type: 'string', enum: [...SYNC_MODES] },
        destinationSyncMode: { type: 'string', enum: [...DESTINATION_SYNC_MODES] },
        cursorField: { type: 'array', items: str },
        primaryKey: { type: 'array', items: { type: 'array', items: str } },
        selected: bool,
        aliasName: str,
      },
    },
  },
}
const connectionFields = {
  name: optionalNameField,
  namespaceDefinition: { type: 'string', enum: [...NAMESPACE_DEFINITIONS] },
  namespaceFormat: nullable(str),
  prefix: nullable(str),
  operationIds: nullable({ type: 'array', items: uuid }),
  syncCatalog: nullable({ type: 'object', properties: { streams: { type: 'array', items: streamEntry } } }),
  schedule: nullable({ type: 'object', properties: { units: {}, timeUnit } }),
  scheduleType: nullable({ type: 'string', enum: [...SCHEDULE_TYPES] }),
  scheduleData: nullable({ type: 'object', properties: { basicSchedule: nullable({ type: 'object', properties: { timeUnit } }), cron: nullable({ type: 'object' }) } }),
  status: { type: 'string', enum: [...STATUSES] },
  sourceCatalogId: nullable(uuid),
  nonBreakingChangesPreference: { type: 'string', enum: ['ignore', 'disable', 'propagate_columns', 'propagate_fully'] },
  backfillPreference: { type: 'string', enum: ['enabled', 'disabled'] },
}
export const createBody = objectSchema({ ...connectionFields, sourceId: uuid, destinationId: uuid }, ['sourceId', 'destinationId'])
export const updateBody = objectSchema({ ...connectionFields, connectionId: uuid }, ['connectionId'])
const idBody = objectSchema({ connectionId: uuid }, ['connectionId'])
const workspaceBody = objectSchema({ workspaceId: uuid, includeTombstone: bool }, ['workspaceId'])

type StreamInput = { stream?: Record<string, unknown>; config?: Record<string, unknown> }
export interface ConnectionBody extends ScheduleInput {
  connectionId?: string
  sourceId?: string
  destinationId?: string
  name?: string
  namespaceDefinition?: ConnectionRecord['namespaceDefinition']
  namespaceFormat?: string | null
  prefix?: string | null
  operationIds?: string[] | null
  syncCatalog?: { streams?: StreamInput[] } | null
  status?: ConnectionRecord['status']
  sourceCatalogId?: string | null
  [key: string]: unknown
}

function invalidField(propertyPath: string, invalidValue: string, message: string): SluiceError {
  return new SluiceError('SLUICE_ERR_INVALID_INPUT', `${propertyPath}: ${message}.`, { validationErrors: [{ propertyPath, invalidValue, message }] })
}

/** Loads a connection (deleted ones included, as Airbyte's get does) or throws 404. */
export async function requireConnection(deps: ApiDeps, connectionId: string): Promise<ConnectionRecord> {
  const conn = await deps.configStore.getConnection(connectionId)
  if (!conn) throw notFound('StandardSync', connectionId)
  return conn
}

/**
 * The discovered catalog a syncCatalog is checked against: the given sourceCatalogId, else the
 * cached catalog of the source's current configuration, else a new discover, else the newest
 * catalog of any configuration.
 */
async function catalogForValidation(deps: ApiDeps, sourceId: string, sourceCatalogId: string | undefined): Promise<{ catalog: AirbyteCatalog; catalogId: string }> {
  if (sourceCatalogId) {
    const rec = await deps.configStore.getCatalog(sourceCatalogId)
    if (!rec || rec.sourceId !== sourceId) throw invalidField('sourceCatalogId', sourceCatalogId, 'is not a catalog discovered for this source')
    return { catalog: rec.catalog, catalogId: rec.catalogId }
  }
  const outcome = await discoverCatalog(deps, sourceId, false)
  if (outcome.ok) return { catalog: outcome.record.catalog, catalogId: outcome.record.catalogId }
  const fallback = await deps.configStore.latestCatalog(sourceId)
  if (fallback) return { catalog: fallback.catalog, catalogId: fallback.catalogId }
  throw new SluiceError('SLUICE_ERR_INVALID_CATALOG', `The source's streams could not be discovered to validate syncCatalog: ${outcome.message}`, {
    validationErrors: [{ propertyPath: 'syncCatalog', invalidValue: 'null', message: `discover failed: ${outcome.message}` }],
  })
}

async function resolveCatalog(
  deps: ApiDeps,
  source: ActorRecord,
  destination: ActorRecord,
  streams: StreamInput[],
  sourceCatalogId: string | undefined,
): Promise<{ syncCatalog: ConnectionRecord['syncCatalog']; sourceCatalogId: string | undefined }> {
  if (streams.length === 0) return { syncCatalog: { streams: [] }, sourceCatalogId }
  const destinationDef = requireDefinition(deps.registry, 'destination', destination.definitionId)
  const { catalog, catalogId } = await catalogForValidation(deps, source.id, sourceCatalogId)
  return { syncCatalog: resolveSyncCatalog(streams, catalog, destinationDef.destination.capabilities.supportedSyncModes), sourceCatalogId: catalogId }
}

function extraFields(body: ConnectionBody, previous: Record<string, unknown> = {}): Record<string, unknown> {
  const extra = { ...previous }
  for (const key of EXTRA_KEYS) if (body[key] !== undefined && body[key] !== null) extra[key] = body[key]
  return extra
}

/** connections/create, get, list, list_all, update, delete. */
export function registerConnectionRoutes(app: FastifyInstance, deps: ApiDeps): void {
  postRoute<ConnectionBody>(app, 'connections/create', { summary: 'Create a connection.', requestSchema: createBody, response: 'ConnectionRead' }, async (body) =>
    toConnectionRead(await createConnection(deps, body)),
  )

  postRoute<{ connectionId: string }>(app, 'connections/get', { summary: 'Get a connection (deleted ones too).', requestSchema: idBody, response: 'ConnectionRead' }, async (body) =>
    toConnectionRead(await requireConnection(deps, body.connectionId)),
  )

  postRoute<{ workspaceId: string; includeTombstone?: boolean }>(
    app,
    'connections/list',
    { summary: 'List the connections of a workspace (without deleted ones).', requestSchema: workspaceBody, response: 'ConnectionReadList' },
    async (body) => {
      await requireWorkspace(deps, body.workspaceId)
      const connections = await deps.configStore.listConnections({ workspaceId: body.workspaceId, includeDeprecated: body.includeTombstone ?? false })
      return { connections: connections.map(toConnectionRead) }
    },
  )

  postRoute<{ workspaceId: string }>(
    app,
    'connections/list_all',
    { summary: 'List the connections of a workspace, deleted ones included.', requestSchema: workspaceBody, response: 'ConnectionReadList' },
    async (body) => {
      await requireWorkspace(deps, body.workspaceId)
      const connections = await deps.configStore.listConnections({ workspaceId: body.workspaceId, includeDeprecated: true })
      return { connections: connections.map(toConnectionRead) }
    },
  )

  postRoute<ConnectionBody>(
    app,
    'connections/update',
    { summary: 'Patch a connection (accepts the whole object from connections/get, legacy schedule included).', requestSchema: updateBody, response: 'ConnectionRead' },
    async (body) => toConnectionRead(await updateConnection(deps, body)),
  )

  postRoute<{ connectionId: string }>(
    app,
    'connections/delete',
    { summary: 'Delete a connection (soft: status becomes deprecated).', requestSchema: idBody, response: 'empty' },
    async (body) => {
      await deleteConnection(deps, body.connectionId)
      return undefined
    },
  )
}

/**
 * connections/create (also behind web_backend/connections/create and the Public API): source and
 * destination in one workspace, schedule and operations checked, the catalog validated against
 * a discovered one. Returns the stored record.
 */
export async function createConnection(deps: ApiDeps, body: ConnectionBody): Promise<ConnectionRecord> {
    const source = await requireActor(deps.configStore, 'source', body.sourceId as string)
    const destination = await requireActor(deps.configStore, 'destination', body.destinationId as string)
    if (source.workspaceId !== destination.workspaceId) {
      throw invalidField('destinationId', destination.id, 'the source and the destination must be in the same workspace')
    }
    const schedule = scheduleForCreate(body)
    await checkOperationIds(deps, source.workspaceId, body.operationIds ?? [])
    const { syncCatalog, sourceCatalogId } = await resolveCatalog(deps, source, destination, body.syncCatalog?.streams ?? [], body.sourceCatalogId ?? undefined)
    const now = Math.floor(Date.now() / 1000)
    const conn: ConnectionRecord = {
      connectionId: randomUUID(),
      workspaceId: source.workspaceId,
      name: body.name && body.name.trim() !== '' ? body.name : `${source.name} <> ${destination.name}`,
      sourceId: source.id,
      destinationId: destination.id,
      status: body.status ?? 'active',
      namespaceDefinition: body.namespaceDefinition ?? 'source',
      prefix: body.prefix ?? '',
      syncCatalog,
      schedule,
      operationIds: body.operationIds ?? [],
      extra: extraFields(body),
      createdAt: now,
      updatedAt: now,
    }
    if (body.namespaceFormat !== undefined && body.namespaceFormat !== null) conn.namespaceFormat = body.namespaceFormat
    if (sourceCatalogId !== undefined) conn.sourceCatalogId = sourceCatalogId
    await deps.configStore.putConnection(conn)
    return conn
}

/** Deletes a connection (soft: status becomes deprecated) and cancels its running job. */
export async function deleteConnection(deps: ApiDeps, connectionId: string): Promise<void> {
  const conn = await requireConnection(deps, connectionId)
  if (conn.status === 'deprecated') return
  await deps.configStore.putConnection({ ...conn, status: 'deprecated', updatedAt: Math.floor(Date.now() / 1000) })
  await cancelActiveJob(deps, conn.connectionId)
}

/** connections/update's patch (also behind web_backend/connections/update); returns the stored record. */
export async function updateConnection(deps: ApiDeps, body: ConnectionBody): Promise<ConnectionRecord> {
  const conn = await requireConnection(deps, body.connectionId as string)
  const schedule = scheduleForUpdate(body, conn.schedule)
  const next: ConnectionRecord = { ...conn, schedule, extra: extraFields(body, conn.extra), updatedAt: Math.floor(Date.now() / 1000) }
  if (body.syncCatalog?.streams) {
    const source = await requireActor(deps.configStore, 'source', conn.sourceId)
    const destination = await requireActor(deps.configStore, 'destination', conn.destinationId)
    const resolved = await resolveCatalog(deps, source, destination, body.syncCatalog.streams, body.sourceCatalogId ?? conn.sourceCatalogId)
    next.syncCatalog = resolved.syncCatalog
    if (resolved.sourceCatalogId !== undefined) next.sourceCatalogId = resolved.sourceCatalogId
    // A catalog saved from a newer discover settles the schema change found before (domain/schema-change.ts).
    if (next.sourceCatalogId !== conn.sourceCatalogId) delete next.extra.breakingChange
  }
  if (typeof body.name === 'string' && body.name.trim() !== '') next.name = body.name
  if (body.namespaceDefinition) next.namespaceDefinition = body.namespaceDefinition
  if (typeof body.namespaceFormat === 'string') next.namespaceFormat = body.namespaceFormat
  if (typeof body.prefix === 'string') next.prefix = body.prefix
  if (Array.isArray(body.operationIds)) {
    await checkOperationIds(deps, conn.workspaceId, body.operationIds)
    next.operationIds = body.operationIds
  }
  if (body.status) next.status = body.status
  const stored = await deps.configStore.putConnection(next)
  if (next.status === 'deprecated' && conn.status !== 'deprecated') await cancelActiveJob(deps, next.connectionId)
  return stored
}
