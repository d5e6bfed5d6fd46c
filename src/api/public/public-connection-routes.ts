import type { FastifyInstance } from 'fastify'
import { SluiceError } from '../../errors.js'
import { streamKey, type AirbyteCatalog } from '../../protocol/index.js'
import { discoverCatalog, requireActor, requireDefinition } from '../actor-service.js'
import type { ApiDeps } from '../deps.js'
import { optionalNameField } from '../route-helpers.js'
import { createConnection, deleteConnection, requireConnection, updateConnection } from '../routes/connection-routes.js'
import {
  ALL_PUBLIC_SYNC_MODES,
  defaultPublicSyncMode,
  toConnectionBody,
  toConnectionResponse,
  type PublicConnectionWrite,
  type PublicStreamConfiguration,
} from './connection-mapping.js'
import { pageOf, pageRequest } from './public-paging.js'
import { boolQuery, uuidList } from './public-query.js'
import { publicRoute, uuidParam } from './public-route.js'

const uuid = { type: 'string', format: 'uuid' } as const
const str = { type: 'string' } as const
const path = { type: 'array', items: str } as const
const streamConfiguration = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1 },
    namespace: str,
    syncMode: { type: 'string', enum: ALL_PUBLIC_SYNC_MODES },
    cursorField: path,
    primaryKey: { type: 'array', items: path },
    selectedFields: { type: 'array', items: { type: 'object', properties: { fieldPath: path } } },
    mappers: { type: 'array', items: { type: 'object' } },
  },
  required: ['name'],
}
const writeFields = {
  name: optionalNameField,
  configurations: { type: 'object', properties: { streams: { type: 'array', items: streamConfiguration } } },
  schedule: {
    type: 'object',
    properties: { scheduleType: { type: 'string', enum: ['manual', 'cron', 'basic'] }, cronExpression: str, basicTiming: str },
    required: ['scheduleType'],
  },
  dataResidency: str,
  namespaceDefinition: { type: 'string', enum: ['source', 'destination', 'custom_format'] },
  namespaceFormat: str,
  prefix: str,
  nonBreakingSchemaUpdatesBehavior: { type: 'string', enum: ['ignore', 'disable_connection', 'propagate_columns', 'propagate_fully'] },
  status: { type: 'string', enum: ['active', 'inactive', 'deprecated'] },
  tags: { type: 'array', items: { type: 'object' } },
}
const createBody = { type: 'object', properties: { ...writeFields, sourceId: uuid, destinationId: uuid }, required: ['sourceId', 'destinationId'] }
const patchBody = { type: 'object', properties: writeFields }

/**
 * Streams as the Config API validates them: every discovered stream when the caller lists none
 * (Airbyte selects them all), and a default mode for each stream without one. Needs a discovered
 * catalog only in those two cases (served from the discover cache when the source is unchanged).
 */
async function completeStreams(deps: ApiDeps, sourceId: string, destinationId: string, streams: PublicStreamConfiguration[] | undefined): Promise<PublicStreamConfiguration[]> {
  const listed = streams ?? []
  if (listed.length > 0 && listed.every((s) => s.syncMode !== undefined)) return listed
  const outcome = await discoverCatalog(deps, sourceId, false)
  if (!outcome.ok) {
    throw new SluiceError('SLUICE_ERR_INVALID_CATALOG', `The source's streams could not be discovered to choose sync modes: ${outcome.message}`, {
      validationErrors: [{ propertyPath: 'configurations.streams', invalidValue: 'null', message: `discover failed: ${outcome.message}` }],
    })
  }
  const destination = await requireActor(deps.configStore, 'destination', destinationId)
  const modes = requireDefinition(deps.registry, 'destination', destination.definitionId).destination.capabilities.supportedSyncModes
  const catalog: AirbyteCatalog = outcome.record.catalog
  const byKey = new Map(catalog.streams.map((s) => [streamKey(s), s]))
  const byName = (name: string) => catalog.streams.filter((s) => s.name === name)
  const chosen: PublicStreamConfiguration[] = listed.length > 0 ? listed : catalog.streams.map((s) => (s.namespace ? { name: s.name, namespace: s.namespace } : { name: s.name }))
  return chosen.map((s) => {
    if (s.syncMode !== undefined) return s
    const found = byKey.get(streamKey({ name: s.name, namespace: s.namespace ?? null })) ?? (s.namespace === undefined && byName(s.name).length === 1 ? byName(s.name)[0] : undefined)
    // An unknown stream is reported by the catalog validation, naming it.
    const mode = found === undefined ? undefined : defaultPublicSyncMode(found, modes)
    return mode === undefined ? s : { ...s, syncMode: mode }
  })
}

/** /connections: list, get, create, PATCH, DELETE (204), through the Config API's connection functions. */
export function registerPublicConnectionRoutes(scope: FastifyInstance, deps: ApiDeps): void {
  publicRoute(
    scope,
    'GET',
    '/connections',
    {
      summary: 'List connections.',
      query: { workspaceIds: { type: 'array', items: uuid }, tagIds: { type: 'array', items: uuid }, includeDeleted: { type: 'boolean' }, limit: { type: 'integer' }, offset: { type: 'integer' } },
      response: 'ConnectionsResponse',
    },
    async ({ query, request }) => {
      const page = pageRequest(query)
      const workspaceIds = uuidList(query, 'workspaceIds')
      const tagIds = uuidList(query, 'tagIds')
      const connections = (await deps.configStore.listConnections({ includeDeprecated: boolQuery(query, 'includeDeleted') }))
        .filter((c) => workspaceIds === undefined || workspaceIds.includes(c.workspaceId))
        .map(toConnectionResponse)
        .filter((c) => tagIds === undefined || (c.tags as Array<{ tagId?: unknown }>).some((t) => tagIds.includes(String(t.tagId))))
      return pageOf(request, page, connections)
    },
  )

  publicRoute(scope, 'GET', '/connections/:connectionId', { summary: 'A connection (deleted ones too).', response: 'ConnectionResponse' }, async (call) =>
    toConnectionResponse(await requireConnection(deps, uuidParam(call, 'connectionId'))),
  )

  publicRoute<PublicConnectionWrite & { sourceId: string; destinationId: string }>(
    scope,
    'POST',
    '/connections',
    { summary: 'Create a connection (all streams when configurations lists none).', body: createBody, response: 'ConnectionResponse' },
    async ({ body }) => {
      // 404s for unknown actors before any discover.
      await requireActor(deps.configStore, 'source', body.sourceId)
      await requireActor(deps.configStore, 'destination', body.destinationId)
      const streams = await completeStreams(deps, body.sourceId, body.destinationId, body.configurations?.streams)
      const conn = await createConnection(deps, { scheduleType: 'manual', ...toConnectionBody({ ...body, configurations: { streams } }) })
      return toConnectionResponse(conn)
    },
  )

  publicRoute<PublicConnectionWrite>(
    scope,
    'PATCH',
    '/connections/:connectionId',
    { summary: 'Change a connection (only the fields sent).', body: patchBody, response: 'ConnectionResponse' },
    async (call) => {
      const conn = await requireConnection(deps, uuidParam(call, 'connectionId'))
      const write = { ...call.body }
      if (write.configurations?.streams !== undefined) {
        write.configurations = { streams: await completeStreams(deps, conn.sourceId, conn.destinationId, write.configurations.streams) }
      }
      return toConnectionResponse(await updateConnection(deps, { ...toConnectionBody(write), connectionId: conn.connectionId }))
    },
  )

  publicRoute(scope, 'DELETE', '/connections/:connectionId', { summary: 'Delete a connection (soft: status deprecated).', response: 'empty' }, async (call) => {
    await deleteConnection(deps, uuidParam(call, 'connectionId'))
    return undefined
  })
}
