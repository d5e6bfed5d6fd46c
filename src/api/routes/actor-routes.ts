import type { FastifyInstance } from 'fastify'
import {
  checkActor,
  createActor,
  deleteActor,
  discoverCatalog,
  loadActorWithConfig,
  mergeActorUpdate,
  prepareConfiguration,
  requireActor,
  requireDefinition,
  toActorRead,
  toDiscoverRead,
  updateActor,
  type ActorKind,
} from '../actor-service.js'
import type { ApiDeps } from '../deps.js'
import { bool, nameField, objectSchema, postRoute, str, uuid } from '../route-helpers.js'
import { requireWorkspace } from '../workspace-service.js'
import { connectionCatalogDiff } from './web-backend-routes.js'

const configuration = { type: 'object' } as const

/** Field names per kind: sourceId / destinationId, sourceDefinitionId / destinationDefinitionId. */
function names(kind: ActorKind): { id: string; definitionId: string; plural: string } {
  return kind === 'source'
    ? { id: 'sourceId', definitionId: 'sourceDefinitionId', plural: 'sources' }
    : { id: 'destinationId', definitionId: 'destinationDefinitionId', plural: 'destinations' }
}

/**
 * sources/* or destinations/*: create, get, list, update, delete, check_connection,
 * check_connection_for_update (and discover_schema for sources).
 */
export function registerActorRoutes(app: FastifyInstance, deps: ApiDeps, kind: ActorKind): void {
  const n = names(kind)
  const idBody = objectSchema({ [n.id]: uuid }, [n.id])
  const createBody = objectSchema({ [n.definitionId]: uuid, workspaceId: uuid, name: nameField, connectionConfiguration: configuration }, [
    n.definitionId,
    'workspaceId',
    'name',
    'connectionConfiguration',
  ])
  const updateBody = objectSchema({ [n.id]: uuid, name: nameField, connectionConfiguration: configuration }, [n.id, 'name', 'connectionConfiguration'])
  const listBody = objectSchema({ workspaceId: uuid, includeTombstone: bool }, [])
  const label = kind === 'source' ? 'source' : 'destination'
  const readName = kind === 'source' ? 'SourceRead' : 'DestinationRead'

  postRoute<Record<string, unknown>>(app, `${n.plural}/create`, { summary: `Create a ${label}.`, requestSchema: createBody, response: readName }, async (body) => {
    const input = { workspaceId: body.workspaceId as string, definitionId: body[n.definitionId] as string, name: body.name as string }
    return toActorRead(deps.registry, await createActor(deps, kind, { ...input, configuration: body.connectionConfiguration as Record<string, unknown> }))
  })

  postRoute<Record<string, string>>(app, `${n.plural}/get`, { summary: `Get a ${label}.`, requestSchema: idBody, response: readName }, async (body) =>
    toActorRead(deps.registry, await requireActor(deps.configStore, kind, body[n.id] as string)),
  )

  postRoute<{ workspaceId?: string; includeTombstone?: boolean }>(
    app,
    `${n.plural}/list`,
    { summary: `List the ${label}s of a workspace (all workspaces without workspaceId).`, requestSchema: listBody, response: `${readName}List` },
    async (body) => {
      if (body.workspaceId !== undefined) await requireWorkspace(deps, body.workspaceId)
      const actors = await deps.configStore.listActors(kind, body.workspaceId, { includeTombstone: body.includeTombstone ?? false })
      return { [n.plural]: actors.map((a) => toActorRead(deps.registry, a)) }
    },
  )

  /** The merged configuration of an update body: masks replaced by stored secrets, validated. */
  const mergedUpdate = async (body: Record<string, unknown>) => mergeActorUpdate(deps, kind, body[n.id] as string, body.connectionConfiguration as Record<string, unknown>)

  postRoute<Record<string, unknown>>(
    app,
    `${n.plural}/update`,
    { summary: `Replace a ${label}'s name and configuration (masked secrets are kept).`, requestSchema: updateBody, response: readName },
    async (body) => {
      const update = { name: body.name as string, configuration: body.connectionConfiguration as Record<string, unknown> }
      return toActorRead(deps.registry, await updateActor(deps, kind, body[n.id] as string, update))
    },
  )

  postRoute<Record<string, string>>(
    app,
    `${n.plural}/delete`,
    { summary: `Delete a ${label} and (soft) its connections.`, requestSchema: idBody, response: 'empty' },
    async (body) => {
      await deleteActor(deps, kind, body[n.id] as string)
      return undefined
    },
  )

  postRoute<Record<string, string>>(
    app,
    `${n.plural}/check_connection`,
    { summary: `Check a saved ${label} (connector verdict in status; HTTP 200 either way).`, requestSchema: idBody, response: 'CheckConnectionRead' },
    async (body) => {
      const { actor, definition, config } = await loadActorWithConfig(deps, kind, body[n.id] as string)
      return checkActor(deps, definition, config, actor.id)
    },
  )

  postRoute<Record<string, unknown>>(
    app,
    `${n.plural}/check_connection_for_update`,
    { summary: `Check a ${label} with a changed configuration, without saving it.`, requestSchema: updateBody, response: 'CheckConnectionRead' },
    async (body) => {
      const { actor, definition, prepared } = await mergedUpdate(body)
      return checkActor(deps, definition, prepared.plain, actor.id)
    },
  )

  if (kind === 'source') {
    postRoute<{ sourceId: string; disable_cache?: boolean; disableCache?: boolean; connectionId?: string }>(
      app,
      'sources/discover_schema',
      {
        summary: 'Discover the streams of a source (cached per configuration unless disable_cache).',
        requestSchema: objectSchema(
          { sourceId: uuid, disable_cache: bool, disableCache: bool, connectionId: uuid, notifySchemaChange: bool, priority: str },
          ['sourceId'],
        ),
        response: 'SourceDiscoverSchemaRead',
      },
      // The spec's name is snake_case; some clients send camelCase: accept both.
      async (body) => {
        const outcome = await discoverCatalog(deps, body.sourceId, body.disable_cache ?? body.disableCache ?? false)
        const read: Record<string, unknown> = { ...toDiscoverRead(outcome) }
        // With a connection: how the catalog differs from the one the connection was configured with.
        if (outcome.ok && body.connectionId !== undefined) Object.assign(read, await connectionCatalogDiff(deps, body.connectionId, outcome.record.catalog))
        return read
      },
    )
  }

  // Check of an unsaved configuration (the UI's "test" before create).
  postRoute<Record<string, unknown>>(
    app,
    `scheduler/${n.plural}/check_connection`,
    {
      summary: `Check an unsaved ${label} configuration.`,
      requestSchema: objectSchema({ [n.definitionId]: uuid, connectionConfiguration: configuration, workspaceId: uuid }, [n.definitionId, 'connectionConfiguration']),
      response: 'CheckConnectionRead',
    },
    async (body) => {
      const definition = requireDefinition(deps.registry, kind, body[n.definitionId] as string)
      const { plain } = prepareConfiguration(definition, body.connectionConfiguration as Record<string, unknown>, deps)
      return checkActor(deps, definition, plain)
    },
  )
}
