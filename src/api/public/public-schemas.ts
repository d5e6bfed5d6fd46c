import type { JsonSchema } from '../../protocol/index.js'
import { ALL_PUBLIC_SYNC_MODES } from './connection-mapping.js'
import { PUBLIC_JOB_TYPES } from './job-response.js'

const uuid = { type: 'string', format: 'uuid' }
const str = { type: 'string' }
const int = { type: 'integer', format: 'int64' }
const bool = { type: 'boolean' }
const path = { type: 'array', items: str }
const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` })
const obj = (properties: Record<string, JsonSchema>, required: string[] = []): JsonSchema => ({ type: 'object', properties, required })
const page = (item: string): JsonSchema => obj({ data: { type: 'array', items: ref(item) }, next: str, previous: str }, ['data'])
const notificationConfig = obj({ email: obj({ enabled: bool }), webhook: obj({ enabled: bool, url: str }) })

/** The response schemas of the Public API as sluice serves it (its OpenAPI document's components). */
export const PUBLIC_RESPONSE_SCHEMAS: Record<string, JsonSchema> = {
  HealthCheck: obj({ available: bool }),
  PublicAccessTokenResponse: obj({ access_token: str, token_type: { type: 'string', enum: ['Bearer'] }, expires_in: int }, ['access_token', 'token_type', 'expires_in']),
  JobResponse: obj(
    {
      jobId: int,
      status: { type: 'string', enum: ['pending', 'running', 'incomplete', 'failed', 'succeeded', 'cancelled'] },
      jobType: { type: 'string', enum: [...PUBLIC_JOB_TYPES] },
      startTime: { type: 'string', format: 'date-time' },
      connectionId: uuid,
      lastUpdatedAt: { type: 'string', format: 'date-time' },
      duration: { type: 'string', description: 'ISO 8601 duration' },
      bytesSynced: int,
      rowsSynced: int,
    },
    ['jobId', 'status', 'jobType', 'startTime', 'connectionId'],
  ),
  JobsResponse: page('JobResponse'),
  StreamConfiguration: obj({ name: str, namespace: str, syncMode: { type: 'string', enum: ALL_PUBLIC_SYNC_MODES }, cursorField: path, primaryKey: { type: 'array', items: path } }, ['name']),
  Tag: obj({ tagId: uuid, workspaceId: uuid, name: str, color: str }, ['tagId', 'workspaceId', 'name', 'color']),
  ConnectionResponse: obj(
    {
      connectionId: uuid,
      name: str,
      sourceId: uuid,
      destinationId: uuid,
      workspaceId: uuid,
      status: { type: 'string', enum: ['active', 'inactive', 'deprecated'] },
      schedule: obj({ scheduleType: { type: 'string', enum: ['manual', 'cron', 'basic'] }, cronExpression: str, basicTiming: str }, ['scheduleType']),
      dataResidency: str,
      nonBreakingSchemaUpdatesBehavior: { type: 'string', enum: ['ignore', 'disable_connection', 'propagate_columns', 'propagate_fully'] },
      namespaceDefinition: { type: 'string', enum: ['source', 'destination', 'custom_format'] },
      namespaceFormat: str,
      prefix: str,
      configurations: obj({ streams: { type: 'array', items: ref('StreamConfiguration') } }),
      createdAt: { ...int, description: 'epoch seconds' },
      tags: { type: 'array', items: ref('Tag') },
    },
    ['connectionId', 'name', 'sourceId', 'destinationId', 'workspaceId', 'status', 'schedule', 'configurations', 'createdAt', 'tags'],
  ),
  ConnectionsResponse: page('ConnectionResponse'),
  SourceResponse: obj(
    { sourceId: uuid, name: str, sourceType: str, definitionId: uuid, workspaceId: uuid, configuration: { type: 'object', description: 'Secrets are returned as **********.' }, createdAt: int },
    ['sourceId', 'name', 'sourceType', 'workspaceId', 'configuration', 'definitionId', 'createdAt'],
  ),
  SourcesResponse: page('SourceResponse'),
  DestinationResponse: obj(
    { destinationId: uuid, name: str, destinationType: str, definitionId: uuid, workspaceId: uuid, configuration: { type: 'object', description: 'Secrets are returned as **********.' }, createdAt: int },
    ['destinationId', 'name', 'destinationType', 'definitionId', 'workspaceId', 'configuration', 'createdAt'],
  ),
  DestinationsResponse: page('DestinationResponse'),
  WorkspaceResponse: obj(
    {
      workspaceId: uuid,
      name: str,
      dataResidency: str,
      notifications: obj(Object.fromEntries(['failure', 'success', 'connectionUpdate', 'connectionUpdateActionRequired', 'syncDisabled', 'syncDisabledWarning'].map((e) => [e, notificationConfig]))),
    },
    ['workspaceId', 'name', 'dataResidency', 'notifications'],
  ),
  WorkspacesResponse: page('WorkspaceResponse'),
  StreamPropertiesResponse: {
    type: 'array',
    items: obj({
      streamName: str,
      streamnamespace: str,
      syncModes: { type: 'array', items: { type: 'string', enum: ALL_PUBLIC_SYNC_MODES } },
      defaultCursorField: path,
      sourceDefinedCursorField: bool,
      sourceDefinedPrimaryKey: { type: 'array', items: path },
      propertyFields: { type: 'array', items: path },
    }),
  },
  ConnectorDefinitionsResponse: obj(
    { data: { type: 'array', items: obj({ id: uuid, name: str, connectorDefinitionType: { type: 'string', enum: ['source', 'destination'] }, version: str }, ['id', 'connectorDefinitionType', 'name', 'version']) } },
    ['data'],
  ),
  DefinitionResponse: obj({ id: uuid, name: str, dockerRepository: str, dockerImageTag: str, documentationUrl: str }, ['id', 'name', 'dockerRepository', 'dockerImageTag']),
  DefinitionsResponse: page('DefinitionResponse'),
  OrganizationsResponse: obj({ data: { type: 'array', items: obj({ organizationId: uuid, organizationName: str, email: { type: 'string', format: 'email' } }, ['organizationId', 'organizationName', 'email']) } }, ['data']),
  UsersResponse: obj({ data: { type: 'array', items: obj({ id: uuid, name: str, email: { type: 'string', format: 'email' } }, ['id', 'name', 'email']) } }, ['data']),
  PermissionResponse: obj({ permissionId: uuid, permissionType: str, userId: uuid, workspaceId: uuid, organizationId: uuid }, ['permissionId', 'permissionType', 'userId']),
  PermissionsResponse: obj(
    { data: { type: 'array', items: obj({ permissionId: uuid, permissionType: str, userId: uuid, scope: { type: 'string', enum: ['workspace', 'organization', 'none'] }, scopeId: uuid }, ['permissionId', 'permissionType', 'userId', 'scope', 'scopeId']) } },
    ['data'],
  ),
  TagResponse: ref('Tag'),
  TagsResponse: obj({ data: { type: 'array', items: ref('Tag') } }, ['data']),
  Problem: obj({ type: str, title: str, status: { type: 'integer' }, detail: str, data: { type: 'object' } }, ['type', 'title', 'status', 'detail']),
}
