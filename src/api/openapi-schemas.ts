import type { JsonSchema } from '../protocol/index.js'

const uuid = { type: 'string', format: 'uuid' }
const str = { type: 'string' }
const bool = { type: 'boolean' }
const int = { type: 'integer', format: 'int64' }
const obj = { type: 'object' }
const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` })
const list = (key: string, item: string): JsonSchema => ({ type: 'object', required: [key], properties: { [key]: { type: 'array', items: ref(item) } } })

const definitionCommon = {
  name: str,
  dockerRepository: str,
  dockerImageTag: str,
  documentationUrl: str,
  protocolVersion: str,
  custom: bool,
  enterprise: bool,
  supportLevel: { type: 'string', enum: ['community', 'certified', 'archived', 'none'] },
  releaseStage: { type: 'string', enum: ['alpha', 'beta', 'generally_available', 'custom'] },
  icon: str,
  language: str,
}

const actorCommon = {
  workspaceId: uuid,
  connectionConfiguration: { type: 'object', description: 'Secrets (airbyte_secret) are returned as **********.' },
  name: str,
  createdAt: { ...int, description: 'epoch seconds' },
  icon: str,
  isVersionOverrideApplied: bool,
  supportState: { type: 'string', enum: ['supported', 'unsupported', 'deprecated'] },
  status: { type: 'string', enum: ['active', 'inactive'] },
}

const schedule = { type: 'object', required: ['units', 'timeUnit'], properties: { units: int, timeUnit: { type: 'string', enum: ['minutes', 'hours', 'days', 'weeks', 'months'] } } }

/**
 * Response schemas of the OpenAPI document, named as in Airbyte's spec. Routes refer to them by
 * `RouteDoc.response`; a name not defined here is documented as a plain object.
 */
export const RESPONSE_SCHEMAS: Record<string, JsonSchema> = {
  HealthCheckRead: { type: 'object', required: ['available'], properties: { available: bool, db: bool } },
  WorkspaceRead: {
    type: 'object',
    required: ['workspaceId', 'customerId', 'name', 'slug', 'initialSetupComplete', 'organizationId'],
    properties: {
      workspaceId: uuid,
      customerId: uuid,
      name: str,
      slug: str,
      email: str,
      initialSetupComplete: bool,
      displaySetupWizard: bool,
      anonymousDataCollection: bool,
      news: bool,
      securityUpdates: bool,
      notifications: { type: 'array', items: obj },
      notificationSettings: obj,
      defaultGeography: str,
      webhookConfigs: { type: 'array', items: { type: 'object', required: ['id', 'name'], properties: { id: uuid, name: str } } },
      organizationId: uuid,
      tombstone: bool,
    },
  },
  WorkspaceReadList: list('workspaces', 'WorkspaceRead'),
  OperationRead: {
    type: 'object',
    required: ['operationId', 'workspaceId', 'name', 'operatorConfiguration'],
    properties: { operationId: uuid, workspaceId: uuid, name: str, operatorConfiguration: obj },
  },
  OperationReadList: list('operations', 'OperationRead'),
  WebBackendConnectionRead: {
    type: 'object',
    required: ['connectionId', 'name', 'sourceId', 'destinationId', 'syncCatalog', 'status', 'source', 'destination', 'isSyncing', 'schemaChange'],
    properties: {
      connectionId: uuid,
      name: str,
      sourceId: uuid,
      destinationId: uuid,
      syncCatalog: obj,
      status: str,
      source: obj,
      destination: obj,
      operations: { type: 'array', items: ref('OperationRead') },
      isSyncing: bool,
      latestSyncJobCreatedAt: int,
      latestSyncJobStatus: str,
      schemaChange: { type: 'string', enum: ['no_change', 'non_breaking', 'breaking'] },
      catalogId: uuid,
      catalogDiff: obj,
    },
  },
  WebBackendConnectionReadList: { type: 'object', required: ['connections'], properties: { connections: { type: 'array', items: obj } } },
  CheckOperationRead: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['succeeded', 'failed'] }, message: str } },
  SourceDefinitionRead: {
    type: 'object',
    required: ['sourceDefinitionId', 'name', 'dockerRepository', 'dockerImageTag'],
    properties: {
      sourceDefinitionId: uuid,
      ...definitionCommon,
      sourceType: { type: 'string', enum: ['api', 'file', 'database', 'custom'] },
      destinationDefinitionId: { ...uuid, description: 'sluice extra: the destination definition with the same name, if any.' },
    },
  },
  SourceDefinitionReadList: list('sourceDefinitions', 'SourceDefinitionRead'),
  DestinationDefinitionRead: {
    type: 'object',
    required: ['destinationDefinitionId', 'name', 'dockerRepository', 'dockerImageTag', 'documentationUrl', 'supportsDbt', 'normalizationConfig'],
    properties: {
      destinationDefinitionId: uuid,
      ...definitionCommon,
      supportsDbt: bool,
      normalizationConfig: { type: 'object', required: ['supported'], properties: { supported: bool } },
      supportsRefreshes: bool,
    },
  },
  DestinationDefinitionReadList: list('destinationDefinitions', 'DestinationDefinitionRead'),
  SynchronousJobRead: {
    type: 'object',
    required: ['id', 'configType', 'createdAt', 'endedAt', 'succeeded'],
    properties: {
      id: uuid,
      configType: { type: 'string', enum: ['check_connection_source', 'check_connection_destination', 'discover_schema', 'get_spec'] },
      configId: str,
      createdAt: { ...int, description: 'epoch milliseconds' },
      endedAt: { ...int, description: 'epoch milliseconds' },
      succeeded: bool,
      connectorConfigurationUpdated: bool,
      logType: { type: 'string', enum: ['formatted'] },
      logs: { type: 'object', required: ['logLines'], properties: { logLines: { type: 'array', items: str } } },
      failureReason: obj,
    },
  },
  SourceDefinitionSpecificationRead: {
    type: 'object',
    required: ['sourceDefinitionId', 'jobInfo'],
    properties: { sourceDefinitionId: uuid, documentationUrl: str, connectionSpecification: obj, jobInfo: ref('SynchronousJobRead') },
  },
  DestinationDefinitionSpecificationRead: {
    type: 'object',
    required: ['destinationDefinitionId', 'jobInfo'],
    properties: {
      destinationDefinitionId: uuid,
      documentationUrl: str,
      connectionSpecification: obj,
      supportedDestinationSyncModes: { type: 'array', items: { type: 'string', enum: ['append', 'overwrite', 'append_dedup', 'overwrite_dedup'] } },
      supportsDbt: bool,
      supportsNormalization: bool,
      jobInfo: ref('SynchronousJobRead'),
    },
  },
  SourceRead: {
    type: 'object',
    required: ['sourceDefinitionId', 'sourceId', 'workspaceId', 'connectionConfiguration', 'name', 'sourceName', 'createdAt'],
    properties: { sourceDefinitionId: uuid, sourceId: uuid, sourceName: str, ...actorCommon },
  },
  SourceReadList: list('sources', 'SourceRead'),
  DestinationRead: {
    type: 'object',
    required: ['destinationDefinitionId', 'destinationId', 'workspaceId', 'connectionConfiguration', 'name', 'destinationName', 'createdAt'],
    properties: { destinationDefinitionId: uuid, destinationId: uuid, destinationName: str, ...actorCommon },
  },
  DestinationReadList: list('destinations', 'DestinationRead'),
  CheckConnectionRead: {
    type: 'object',
    required: ['jobInfo'],
    properties: { status: { type: 'string', enum: ['succeeded', 'failed'] }, message: str, jobInfo: ref('SynchronousJobRead') },
  },
  AirbyteCatalog: {
    type: 'object',
    required: ['streams'],
    properties: {
      streams: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          properties: {
            stream: {
              type: 'object',
              additionalProperties: false,
              required: ['name'],
              properties: {
                name: str,
                namespace: str,
                jsonSchema: obj,
                supportedSyncModes: { type: 'array', items: { type: 'string', enum: ['full_refresh', 'incremental'] } },
                sourceDefinedCursor: bool,
                defaultCursorField: { type: 'array', items: str },
                sourceDefinedPrimaryKey: { type: 'array', items: { type: 'array', items: str } },
                isResumable: bool,
              },
            },
            config: {
              type: 'object',
              additionalProperties: false,
              required: ['syncMode', 'destinationSyncMode'],
              properties: {
                syncMode: { type: 'string', enum: ['full_refresh', 'incremental'] },
                cursorField: { type: 'array', items: str },
                destinationSyncMode: { type: 'string', enum: ['append', 'overwrite', 'append_dedup', 'overwrite_dedup'] },
                primaryKey: { type: 'array', items: { type: 'array', items: str } },
                aliasName: str,
                selected: bool,
                suggested: bool,
                fieldSelectionEnabled: bool,
                selectedFields: { type: 'array', items: obj },
                hashedFields: { type: 'array', items: obj },
                mappers: { type: 'array', items: obj },
                minimumGenerationId: int,
                generationId: int,
                syncId: int,
              },
            },
          },
        },
      },
    },
  },
  SourceDiscoverSchemaRead: {
    type: 'object',
    required: ['jobInfo'],
    properties: { catalog: ref('AirbyteCatalog'), catalogId: uuid, jobInfo: ref('SynchronousJobRead') },
  },
  ConnectionRead: {
    type: 'object',
    required: ['connectionId', 'name', 'sourceId', 'destinationId', 'syncCatalog', 'status', 'breakingChange'],
    properties: {
      connectionId: uuid,
      name: str,
      namespaceDefinition: { type: 'string', enum: ['source', 'destination', 'customformat'] },
      namespaceFormat: str,
      prefix: str,
      sourceId: uuid,
      destinationId: uuid,
      operationIds: { type: 'array', items: uuid },
      syncCatalog: ref('AirbyteCatalog'),
      schedule,
      scheduleType: { type: 'string', enum: ['manual', 'basic', 'cron'] },
      scheduleData: {
        type: 'object',
        properties: {
          basicSchedule: schedule,
          cron: { type: 'object', required: ['cronExpression', 'cronTimeZone'], properties: { cronExpression: str, cronTimeZone: str } },
        },
      },
      status: { type: 'string', enum: ['active', 'inactive', 'deprecated'] },
      sourceCatalogId: uuid,
      breakingChange: bool,
      workspaceId: uuid,
      created_at: { ...int, description: 'epoch seconds' },
      geography: str,
      notifySchemaChanges: bool,
      notifySchemaChangesByEmail: bool,
      nonBreakingChangesPreference: { type: 'string', enum: ['ignore', 'disable', 'propagate_columns', 'propagate_fully'] },
      backfillPreference: { type: 'string', enum: ['enabled', 'disabled'] },
    },
  },
  ConnectionReadList: list('connections', 'ConnectionRead'),
  NotificationRead: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['succeeded', 'failed'] }, message: str } },
  OrganizationInfoRead: { type: 'object', required: ['organizationId', 'organizationName', 'sso'], properties: { organizationId: uuid, organizationName: str, sso: bool, isPrivateOrganization: bool } },
  AccessToken: { type: 'object', required: ['access_token'], properties: { access_token: str, token_type: str, expires_in: int } },
}
