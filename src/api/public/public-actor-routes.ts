import type { FastifyInstance } from 'fastify'
import { createActor, deleteActor, loadActorWithConfig, requireActor, updateActor, type ActorKind } from '../actor-service.js'
import type { ApiDeps } from '../deps.js'
import { nameField as name } from '../route-helpers.js'
import { definitionIdFor, publicActorNames, toPublicActorResponse, withoutTypeField } from './actor-response.js'
import { pageOf, pageRequest } from './public-paging.js'
import { boolQuery, uuidList } from './public-query.js'
import { publicRoute, uuidParam } from './public-route.js'

const uuid = { type: 'string', format: 'uuid' } as const
const configuration = { type: 'object' } as const

type ActorBody = { name?: string; workspaceId?: string; definitionId?: string; configuration?: Record<string, unknown> }

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** A JSON merge of a partial configuration onto the stored one (objects merged key by key, the rest replaced). */
function mergeConfiguration(stored: Record<string, unknown>, partial: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...stored }
  for (const [key, value] of Object.entries(partial)) out[key] = isPlainObject(value) && isPlainObject(out[key]) ? mergeConfiguration(out[key], value) : value
  return out
}

/**
 * /sources or /destinations: list, get, create, PUT (replace), PATCH (merge), DELETE (204).
 * A create without definitionId finds the definition from `configuration.sourceType` /
 * `destinationType`; the rules are the Config API's (actor-service).
 */
export function registerPublicActorRoutes(scope: FastifyInstance, deps: ApiDeps, kind: ActorKind): void {
  const n = publicActorNames(kind)
  const response = kind === 'source' ? 'SourceResponse' : 'DestinationResponse'
  const label = kind

  publicRoute(
    scope,
    'GET',
    `/${n.plural}`,
    {
      summary: `List ${label}s.`,
      query: { workspaceIds: { type: 'array', items: uuid }, includeDeleted: { type: 'boolean' }, limit: { type: 'integer' }, offset: { type: 'integer' } },
      response: kind === 'source' ? 'SourcesResponse' : 'DestinationsResponse',
    },
    async ({ query, request }) => {
      const page = pageRequest(query)
      const workspaceIds = uuidList(query, 'workspaceIds')
      const actors = (await deps.configStore.listActors(kind, undefined, { includeTombstone: boolQuery(query, 'includeDeleted') })).filter(
        (a) => workspaceIds === undefined || workspaceIds.includes(a.workspaceId),
      )
      return pageOf(request, page, actors.map((a) => toPublicActorResponse(deps.registry, a)))
    },
  )

  publicRoute(scope, 'GET', `/${n.plural}/:${n.id}`, { summary: `A ${label}.`, response }, async (call) =>
    toPublicActorResponse(deps.registry, await requireActor(deps.configStore, kind, uuidParam(call, n.id))),
  )

  publicRoute<ActorBody>(
    scope,
    'POST',
    `/${n.plural}`,
    {
      summary: `Create a ${label} (definitionId, or configuration.${n.type}).`,
      body: { type: 'object', properties: { name, workspaceId: uuid, definitionId: uuid, configuration, secretId: { type: 'string' } }, required: ['name', 'workspaceId', 'configuration'] },
      response,
    },
    async ({ body }) => {
      const config = body.configuration as Record<string, unknown>
      const definitionId = definitionIdFor(deps.registry, kind, body.definitionId, config)
      const input = { workspaceId: body.workspaceId as string, definitionId, name: body.name as string, configuration: withoutTypeField(kind, config) }
      return toPublicActorResponse(deps.registry, await createActor(deps, kind, input))
    },
  )

  publicRoute<ActorBody>(
    scope,
    'PUT',
    `/${n.plural}/:${n.id}`,
    { summary: `Replace a ${label}'s name and configuration (masked secrets are kept).`, body: { type: 'object', properties: { name, configuration }, required: ['name', 'configuration'] }, response },
    async (call) => {
      const update = { name: call.body.name, configuration: withoutTypeField(kind, call.body.configuration as Record<string, unknown>) }
      return toPublicActorResponse(deps.registry, await updateActor(deps, kind, uuidParam(call, n.id), update))
    },
  )

  publicRoute<ActorBody>(
    scope,
    'PATCH',
    `/${n.plural}/:${n.id}`,
    { summary: `Change a ${label}'s name and part of its configuration (merged into the stored one).`, body: { type: 'object', properties: { name, configuration } }, response },
    async (call) => {
      const id = uuidParam(call, n.id)
      const { config } = await loadActorWithConfig(deps, kind, id)
      const partial = call.body.configuration === undefined ? {} : withoutTypeField(kind, call.body.configuration)
      return toPublicActorResponse(deps.registry, await updateActor(deps, kind, id, { name: call.body.name, configuration: mergeConfiguration(config, partial) }))
    },
  )

  publicRoute(scope, 'DELETE', `/${n.plural}/:${n.id}`, { summary: `Delete a ${label} and (softly) its connections.`, response: 'empty' }, async (call) => {
    await deleteActor(deps, kind, uuidParam(call, n.id))
    return undefined
  })
}
