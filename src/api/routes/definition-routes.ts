import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { DestinationDefinition, SourceDefinition } from '../../protocol/index.js'
import type { ConnectorRegistry } from '../../connectors/registry.js'
import { requireDefinition, specOf } from '../actor-service.js'
import type { SynchronousJobRead } from '../connector-calls.js'
import type { ApiDeps } from '../deps.js'
import { bool, objectSchema, postRoute, uuid } from '../route-helpers.js'
import { requireWorkspace } from '../workspace-service.js'

const PROTOCOL_VERSION = '0.2.0'

function commonDefinitionFields(def: SourceDefinition | DestinationDefinition): Record<string, unknown> {
  const read: Record<string, unknown> = {
    name: def.name,
    dockerRepository: def.dockerRepository,
    dockerImageTag: def.dockerImageTag,
    documentationUrl: def.documentationUrl,
    protocolVersion: PROTOCOL_VERSION,
    custom: def.custom ?? false,
    enterprise: false,
    supportLevel: def.supportLevel,
    releaseStage: def.releaseStage,
    language: 'typescript',
  }
  if (def.icon !== undefined) read.icon = def.icon
  return read
}

/**
 * `SourceDefinitionRead`, plus the seed's extra: `destinationDefinitionId` of the destination
 * with the same name (the seed creates a Postgres destination from the Postgres source item).
 */
export function toSourceDefinitionRead(def: SourceDefinition, registry: ConnectorRegistry): Record<string, unknown> {
  const twin = registry.destinations().find((d) => d.name.toLowerCase() === def.name.toLowerCase())
  return {
    sourceDefinitionId: def.definitionId,
    ...commonDefinitionFields(def),
    sourceType: def.sourceType,
    ...(twin ? { destinationDefinitionId: twin.definitionId } : {}),
  }
}

/** `DestinationDefinitionRead` with the v0.50 fields strict clients require. */
export function toDestinationDefinitionRead(def: DestinationDefinition): Record<string, unknown> {
  return {
    destinationDefinitionId: def.definitionId,
    ...commonDefinitionFields(def),
    supportsDbt: false,
    normalizationConfig: { supported: false },
    supportsRefreshes: false,
  }
}

function specJob(configId: string): SynchronousJobRead {
  const now = Date.now()
  return {
    id: randomUUID(),
    configType: 'get_spec',
    configId,
    createdAt: now,
    endedAt: now,
    succeeded: true,
    connectorConfigurationUpdated: false,
    logType: 'formatted',
    logs: { logLines: [] },
  }
}

const workspaceBody = objectSchema({ workspaceId: uuid, includeTombstone: bool }, ['workspaceId'])

/** source_definitions/*, destination_definitions/*, *_definition_specifications/get. */
export function registerDefinitionRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const listSources = async (): Promise<unknown> => ({
    sourceDefinitions: deps.registry.sources().map((d) => toSourceDefinitionRead(d, deps.registry)),
  })
  const listDestinations = async (): Promise<unknown> => ({
    destinationDefinitions: deps.registry.destinations().map(toDestinationDefinitionRead),
  })

  postRoute(app, 'source_definitions/list', { summary: 'List source definitions (body ignored).', response: 'SourceDefinitionReadList' }, listSources)
  postRoute<{ workspaceId: string }>(
    app,
    'source_definitions/list_for_workspace',
    { summary: 'List source definitions usable in a workspace.', requestSchema: workspaceBody, response: 'SourceDefinitionReadList' },
    async (body) => {
      await requireWorkspace(deps, body.workspaceId)
      return listSources()
    },
  )
  postRoute<{ sourceDefinitionId: string }>(
    app,
    'source_definitions/get',
    { summary: 'Get a source definition.', requestSchema: objectSchema({ sourceDefinitionId: uuid }, ['sourceDefinitionId']), response: 'SourceDefinitionRead' },
    async (body) => toSourceDefinitionRead(requireDefinition(deps.registry, 'source', body.sourceDefinitionId), deps.registry),
  )
  postRoute<{ sourceDefinitionId: string }>(
    app,
    'source_definitions/get_for_workspace',
    {
      summary: 'Get a source definition for a workspace.',
      requestSchema: objectSchema({ sourceDefinitionId: uuid, workspaceId: uuid }, ['sourceDefinitionId', 'workspaceId']),
      response: 'SourceDefinitionRead',
    },
    async (body) => toSourceDefinitionRead(requireDefinition(deps.registry, 'source', body.sourceDefinitionId), deps.registry),
  )

  postRoute(app, 'destination_definitions/list', { summary: 'List destination definitions (body ignored).', response: 'DestinationDefinitionReadList' }, listDestinations)
  postRoute<{ workspaceId: string }>(
    app,
    'destination_definitions/list_for_workspace',
    { summary: 'List destination definitions usable in a workspace.', requestSchema: workspaceBody, response: 'DestinationDefinitionReadList' },
    async (body) => {
      await requireWorkspace(deps, body.workspaceId)
      return listDestinations()
    },
  )
  postRoute<{ destinationDefinitionId: string }>(
    app,
    'destination_definitions/get',
    {
      summary: 'Get a destination definition.',
      requestSchema: objectSchema({ destinationDefinitionId: uuid }, ['destinationDefinitionId']),
      response: 'DestinationDefinitionRead',
    },
    async (body) => toDestinationDefinitionRead(requireDefinition(deps.registry, 'destination', body.destinationDefinitionId)),
  )
  postRoute<{ destinationDefinitionId: string }>(
    app,
    'destination_definitions/get_for_workspace',
    {
      summary: 'Get a destination definition for a workspace.',
      requestSchema: objectSchema({ destinationDefinitionId: uuid, workspaceId: uuid }, ['destinationDefinitionId', 'workspaceId']),
      response: 'DestinationDefinitionRead',
    },
    async (body) => toDestinationDefinitionRead(requireDefinition(deps.registry, 'destination', body.destinationDefinitionId)),
  )

  // workspaceId is required by Airbyte's schema but not needed here: accept its absence.
  postRoute<{ sourceDefinitionId: string }>(
    app,
    'source_definition_specifications/get',
    {
      summary: 'Get the connection specification (JSON schema) of a source definition.',
      requestSchema: objectSchema({ sourceDefinitionId: uuid, workspaceId: uuid }, ['sourceDefinitionId']),
      response: 'SourceDefinitionSpecificationRead',
    },
    async (body) => {
      const def = requireDefinition(deps.registry, 'source', body.sourceDefinitionId)
      const spec = specOf(def)
      return {
        sourceDefinitionId: def.definitionId,
        documentationUrl: spec.documentationUrl ?? def.documentationUrl,
        connectionSpecification: spec.connectionSpecification,
        jobInfo: specJob(def.definitionId),
      }
    },
  )
  postRoute<{ destinationDefinitionId: string }>(
    app,
    'destination_definition_specifications/get',
    {
      summary: 'Get the connection specification (JSON schema) of a destination definition.',
      requestSchema: objectSchema({ destinationDefinitionId: uuid, workspaceId: uuid }, ['destinationDefinitionId']),
      response: 'DestinationDefinitionSpecificationRead',
    },
    async (body) => {
      const def = requireDefinition(deps.registry, 'destination', body.destinationDefinitionId)
      const spec = specOf(def)
      return {
        destinationDefinitionId: def.definitionId,
        documentationUrl: spec.documentationUrl ?? def.documentationUrl,
        connectionSpecification: spec.connectionSpecification,
        supportedDestinationSyncModes: def.destination.capabilities.supportedSyncModes,
        supportsDbt: false,
        supportsNormalization: false,
        jobInfo: specJob(def.definitionId),
      }
    },
  )
}
