import type { FastifyInstance } from 'fastify'
import { notFound } from '../../errors.js'
import type { DestinationDefinition, SourceDefinition } from '../../protocol/index.js'
import { findDefinition, type ActorKind } from '../actor-service.js'
import type { ApiDeps } from '../deps.js'
import { requireWorkspace } from '../workspace-service.js'
import { enumQuery, uuidQuery } from './public-query.js'
import { invalidParam, publicRoute, uuidParam } from './public-route.js'

function definitions(deps: ApiDeps, kind: ActorKind): Array<SourceDefinition | DestinationDefinition> {
  return kind === 'source' ? deps.registry.sources() : deps.registry.destinations()
}

/** `DefinitionResponse`. */
function toDefinitionResponse(def: SourceDefinition | DestinationDefinition): Record<string, unknown> {
  return { id: def.definitionId, name: def.name, dockerRepository: def.dockerRepository, dockerImageTag: def.dockerImageTag, documentationUrl: def.documentationUrl }
}

/**
 * GET /connector_definitions?type and the read side of /workspaces/{id}/definitions/sources|destinations.
 * Definitions are added through the Config API's declarative routes; the Public API lists them.
 */
export function registerPublicDefinitionRoutes(scope: FastifyInstance, deps: ApiDeps): void {
  publicRoute(
    scope,
    'GET',
    '/connector_definitions',
    { summary: 'The source or destination definitions this server runs.', query: { type: { type: 'string', enum: ['source', 'destination'] }, workspaceId: { type: 'string', format: 'uuid' } }, response: 'ConnectorDefinitionsResponse' },
    async ({ query }) => {
      const type = enumQuery(query, 'type', ['source', 'destination'] as const)
      if (type === undefined) throw invalidParam('type', 'null', 'is required (source or destination)')
      const workspaceId = uuidQuery(query, 'workspaceId')
      if (workspaceId !== undefined) await requireWorkspace(deps, workspaceId)
      return { data: definitions(deps, type).map((d) => ({ id: d.definitionId, name: d.name, connectorDefinitionType: type, version: d.dockerImageTag })) }
    },
  )

  for (const kind of ['source', 'destination'] as const) {
    const plural = `${kind}s`
    publicRoute(scope, 'GET', `/workspaces/:workspaceId/definitions/${plural}`, { summary: `The ${kind} definitions of a workspace.`, response: 'DefinitionsResponse' }, async (call) => {
      await requireWorkspace(deps, uuidParam(call, 'workspaceId'))
      return { data: definitions(deps, kind).map(toDefinitionResponse) }
    })
    publicRoute(scope, 'GET', `/workspaces/:workspaceId/definitions/${plural}/:definitionId`, { summary: `A ${kind} definition.`, response: 'DefinitionResponse' }, async (call) => {
      await requireWorkspace(deps, uuidParam(call, 'workspaceId'))
      const id = uuidParam(call, 'definitionId')
      const def = findDefinition(deps.registry, kind, id)
      if (def === undefined) throw notFound(kind === 'source' ? 'StandardSourceDefinition' : 'StandardDestinationDefinition', id)
      return toDefinitionResponse(def)
    })
  }
}
