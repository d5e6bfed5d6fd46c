/**
 * The part of Airbyte's Public API contract these tests check responses against, written for
 * sluice from Airbyte's OpenAPI (`airbyte-api/server-api/src/main/openapi/api.yaml` and
 * `api_sdk.yaml` in airbytehq/airbyte-platform, and `problems-api/.../api-problems.yaml` for error
 * documents): the fields the spec requires, their types and enums. Only what the tests need.
 * Extra fields are allowed, as in the spec.
 */

const uuid = { type: 'string', format: 'uuid' }
const str = { type: 'string' }
const int = { type: 'integer' }
const bool = { type: 'boolean' }
const strings = { type: 'array', items: str }
const def = (name: string) => ({ $ref: `#/definitions/${name}` })
const obj = (properties: Record<string, unknown>, required: string[]) => ({ type: 'object', properties, required })
const list = (item: string) => obj({ data: { type: 'array', items: def(item) }, next: str, previous: str }, ['data'])

/** Airbyte's ConnectionSyncModeEnum (HEAD). */
const SYNC_MODES = [
  'full_refresh_overwrite',
  'full_refresh_overwrite_deduped',
  'full_refresh_append',
  'full_refresh_update',
  'full_refresh_soft_delete',
  'incremental_append',
  'incremental_deduped_history',
  'incremental_update',
  'incremental_soft_delete',
]

export const AIRBYTE_PUBLIC_SCHEMAS = {
  $id: 'airbyte-public',
  definitions: {
    JobStatusEnum: { type: 'string', enum: ['pending', 'queued', 'running', 'incomplete', 'failed', 'succeeded', 'cancelled'] },
    JobTypeEnum: { type: 'string', enum: ['sync', 'reset', 'refresh', 'clear'] },
    JobResponse: obj(
      {
        jobId: int,
        status: def('JobStatusEnum'),
        jobType: def('JobTypeEnum'),
        startTime: str,
        connectionId: uuid,
        lastUpdatedAt: str,
        duration: { type: 'string', pattern: '^P(\\d+D)?(T(\\d+H)?(\\d+M)?(\\d+S)?)?$' },
        bytesSynced: int,
        rowsSynced: int,
      },
      ['jobId', 'status', 'jobType', 'startTime', 'connectionId'],
    ),
    JobsResponse: list('JobResponse'),
    ConnectionSyncModeEnum: { type: 'string', enum: SYNC_MODES },
    StreamConfiguration: obj({ name: str, namespace: str, syncMode: def('ConnectionSyncModeEnum'), cursorField: strings, primaryKey: { type: 'array', items: strings } }, ['name']),
    Tag: obj({ tagId: uuid, workspaceId: uuid, name: str, color: str }, ['tagId', 'workspaceId', 'name', 'color']),
    ConnectionResponse: obj(
      {
        connectionId: uuid,
        name: str,
        sourceId: uuid,
        destinationId: uuid,
        workspaceId: uuid,
        status: { type: 'string', enum: ['active', 'inactive', 'deprecated', 'locked'] },
        schedule: obj({ scheduleType: { type: 'string', enum: ['manual', 'cron', 'basic'] }, cronExpression: str, basicTiming: str }, ['scheduleType']),
        nonBreakingSchemaUpdatesBehavior: { type: 'string', enum: ['ignore', 'disable_connection', 'propagate_columns', 'propagate_fully'] },
        namespaceDefinition: { type: 'string', enum: ['source', 'destination', 'custom_format'] },
        namespaceFormat: str,
        prefix: str,
        configurations: obj({ streams: { type: 'array', items: def('StreamConfiguration') } }, []),
        createdAt: int,
        tags: { type: 'array', items: def('Tag') },
      },
      ['connectionId', 'name', 'sourceId', 'destinationId', 'workspaceId', 'status', 'schedule', 'configurations', 'createdAt', 'tags'],
    ),
    ConnectionsResponse: list('ConnectionResponse'),
    SourceResponse: obj(
      { sourceId: uuid, name: str, sourceType: str, definitionId: uuid, workspaceId: uuid, configuration: { type: 'object' }, createdAt: int },
      ['sourceId', 'name', 'sourceType', 'workspaceId', 'configuration', 'definitionId', 'createdAt'],
    ),
    SourcesResponse: list('SourceResponse'),
    DestinationResponse: obj(
      { destinationId: uuid, name: str, destinationType: str, definitionId: uuid, workspaceId: uuid, configuration: { type: 'object' }, createdAt: int },
      ['destinationId', 'name', 'destinationType', 'definitionId', 'workspaceId', 'configuration', 'createdAt'],
    ),
    DestinationsResponse: list('DestinationResponse'),
    NotificationConfig: obj({ email: obj({ enabled: bool }, []), webhook: obj({ enabled: bool, url: str }, []) }, []),
    WorkspaceResponse: obj(
      {
        workspaceId: uuid,
        name: str,
        dataResidency: str,
        notifications: obj(
          Object.fromEntries(['failure', 'success', 'connectionUpdate', 'connectionUpdateActionRequired', 'syncDisabled', 'syncDisabledWarning'].map((k) => [k, def('NotificationConfig')])),
          [],
        ),
      },
      ['workspaceId', 'name', 'dataResidency', 'notifications'],
    ),
    WorkspacesResponse: list('WorkspaceResponse'),
    StreamPropertiesResponse: {
      type: 'array',
      items: obj(
        {
          streamName: str,
          syncModes: { type: 'array', items: def('ConnectionSyncModeEnum') },
          streamnamespace: str,
          defaultCursorField: strings,
          sourceDefinedCursorField: bool,
          sourceDefinedPrimaryKey: { type: 'array', items: strings },
          propertyFields: { type: 'array', items: strings },
        },
        [],
      ),
    },
    PublicAccessTokenResponse: obj({ access_token: str, token_type: { enum: ['Bearer'] }, expires_in: int }, ['access_token', 'token_type', 'expires_in']),
    OrganizationsResponse: obj({ data: { type: 'array', items: obj({ organizationId: uuid, organizationName: str, email: { type: 'string', format: 'email' } }, ['organizationId', 'organizationName', 'email']) } }, ['data']),
    UsersResponse: obj({ data: { type: 'array', items: obj({ id: uuid, name: str, email: { type: 'string', format: 'email' } }, ['id', 'name', 'email']) } }, ['data']),
    PermissionResponse: obj({ permissionId: uuid, permissionType: str, userId: uuid, workspaceId: uuid, organizationId: uuid }, ['permissionId', 'permissionType', 'userId']),
    PermissionsResponse: obj(
      { data: { type: 'array', items: obj({ permissionId: uuid, permissionType: str, userId: uuid, scopeId: uuid, scope: { type: 'string', enum: ['workspace', 'organization', 'none'] } }, ['permissionId', 'permissionType', 'userId', 'scope', 'scopeId']) } },
      ['data'],
    ),
    ConnectorDefinitionsResponse: obj(
      { data: { type: 'array', items: obj({ id: uuid, name: str, connectorDefinitionType: { type: 'string', enum: ['source', 'destination'] }, version: str }, ['id', 'connectorDefinitionType', 'name', 'version']) } },
      ['data'],
    ),
    DefinitionResponse: obj({ id: uuid, name: str, dockerRepository: str, dockerImageTag: str, documentationUrl: str }, ['id', 'name', 'dockerRepository', 'dockerImageTag']),
    DefinitionsResponse: list('DefinitionResponse'),
    TagsResponse: obj({ data: { type: 'array', items: def('Tag') } }, ['data']),
    /** BaseProblemFields (type and title required) plus what sluice promises: status and detail. */
    Problem: obj({ type: { type: 'string', pattern: '^https://reference\\.airbyte\\.com/reference/errors#' }, title: str, status: int, detail: { type: 'string', minLength: 1 }, data: { type: 'object' } }, [
      'type',
      'title',
      'status',
      'detail',
    ]),
  },
} as const

export type AirbyteSchemaName = keyof typeof AIRBYTE_PUBLIC_SCHEMAS.definitions
