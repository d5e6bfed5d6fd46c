import type { AirbyteCatalog } from '../protocol/index.js'
import { SluiceError } from '../errors.js'

/**
 * Config store port: workspaces, sources, destinations, connections, discovered catalogs and
 * custom connector definitions. Adapters: sqlite/ (embedded default) and postgres/ (scale out).
 * Records are stored as whole documents; the store never interprets connector configs.
 * Secrets inside `configuration` are stored already encrypted by the caller (see api/secrets).
 */
export interface WorkspaceRecord {
  workspaceId: string
  customerId: string
  organizationId: string
  name: string
  slug: string
  email?: string
  initialSetupComplete: boolean
  displaySetupWizard: boolean
  anonymousDataCollection: boolean
  news: boolean
  securityUpdates: boolean
  notifications: unknown[]
  notificationSettings?: unknown
  defaultGeography?: string
  webhookConfigs?: WebhookConfigRecord[]
  tombstone: boolean
  createdAt: number
}

/** A workspace webhook (Airbyte's WebhookConfig): what webhook operations call with its token. */
export interface WebhookConfigRecord {
  id: string
  name: string
  /** Encrypted (SecretService); never returned by the API. */
  authToken?: string
}

/**
 * A connection operation (Airbyte's StandardSyncOperation), run after each successful sync of the
 * connections that list it in `operationIds`. sluice runs the `webhook` operator type.
 */
export interface OperationRecord {
  operationId: string
  workspaceId: string
  name: string
  /** `OperatorConfiguration` as the API takes it (`{operatorType: "webhook", webhook: {...}}`). */
  operatorConfiguration: Record<string, unknown>
  /** A deleted operation is kept so connections that still name it can be told apart. */
  tombstone: boolean
  /** epoch seconds */
  createdAt: number
}

export interface ActorRecord {
  /** sourceId or destinationId */
  id: string
  kind: 'source' | 'destination'
  workspaceId: string
  definitionId: string
  name: string
  /** Connector configuration with secret leaves encrypted. */
  configuration: Record<string, unknown>
  tombstone: boolean
  /** epoch seconds */
  createdAt: number
  /** Version of the stored record this was read from (absent or 0: never stored); see putActor. */
  version?: number
}

export type ScheduleTimeUnit = 'minutes' | 'hours' | 'days' | 'weeks' | 'months'

export type ScheduleRecord =
  | { type: 'manual' }
  | { type: 'basic'; units: number; timeUnit: ScheduleTimeUnit }
  | { type: 'cron'; cronExpression: string; cronTimeZone: string }

export interface ConnectionRecord {
  connectionId: string
  workspaceId: string
  name: string
  sourceId: string
  destinationId: string
  status: 'active' | 'inactive' | 'deprecated'
  namespaceDefinition: 'source' | 'destination' | 'customformat'
  namespaceFormat?: string
  prefix: string
  /** The configured catalog in the Config API shape (`{streams:[{stream, config}]}`). */
  syncCatalog: { streams: Array<{ stream: Record<string, unknown>; config: Record<string, unknown> }> }
  schedule: ScheduleRecord
  sourceCatalogId?: string
  operationIds: string[]
  /** Other ConnectionRead fields kept as given (geography, notifySchemaChanges, tags...). */
  extra: Record<string, unknown>
  /** epoch seconds */
  createdAt: number
  /** epoch seconds; bumped on every update (schedulers use it to apply changes at once) */
  updatedAt: number
  /** Version of the stored record this was read from (absent or 0: never stored); see putConnection. */
  version?: number
}

export interface CatalogRecord {
  catalogId: string
  sourceId: string
  /** Hash of the source configuration the catalog was discovered with (cache key). */
  configHash: string
  catalog: AirbyteCatalog
  /** epoch ms */
  createdAt: number
}

/** What a connection's schema check (a discover before a sync) found and left pending. */
export type SchemaChangeVerdict = 'no_change' | 'non_breaking' | 'breaking'

/** The last schema check of a connection (one per connection, replaced by each check). */
export interface SchemaCheckRecord {
  connectionId: string
  /** epoch ms of the discover */
  checkedAt: number
  /** The catalog that discover stored (a CatalogRecord of the source). */
  catalogId: string
  /** What the check left for the user: `no_change` when nothing changed or the change was applied. */
  schemaChange: SchemaChangeVerdict
  /**
   * The connection's `sourceCatalogId` when the check ran: a pending change stays pending while the
   * connection is still based on that catalog (saving a refreshed catalog moves it on).
   */
  baselineCatalogId?: string
  /** Airbyte's CatalogDiff the check found (`{transforms: []}` when none). */
  diff: { transforms: unknown[] }
}

/** A custom (declarative manifest) definition added at run time. */
export interface CustomDefinitionRecord {
  definitionId: string
  kind: 'source' | 'destination'
  workspaceId?: string
  name: string
  /** Whatever the connector factory needs to rebuild the connector (e.g. the manifest). */
  payload: Record<string, unknown>
  createdAt: number
}

export interface ConfigStore {
  listWorkspaces(opts?: { includeTombstone?: boolean }): Promise<WorkspaceRecord[]>
  getWorkspace(workspaceId: string): Promise<WorkspaceRecord | undefined>
  getWorkspaceBySlug(slug: string): Promise<WorkspaceRecord | undefined>
  /** Inserts or replaces. */
  putWorkspace(ws: WorkspaceRecord): Promise<void>
  /** Hard delete of the workspace and everything in it. */
  deleteWorkspace(workspaceId: string): Promise<void>

  listActors(kind: ActorRecord['kind'], workspaceId?: string, opts?: { includeTombstone?: boolean }): Promise<ActorRecord[]>
  getActor(kind: ActorRecord['kind'], id: string): Promise<ActorRecord | undefined>
  /**
   * Inserts, or replaces the stored actor only if it is still at `actor.version` (compare and
   * set): a record read, changed and put back loses no concurrent change. Throws
   * SLUICE_ERR_CONFLICT (409) when someone else wrote it since; re-read and apply again.
   * Returns the stored record (with its new version).
   */
  putActor(actor: ActorRecord): Promise<ActorRecord>

  listConnections(opts?: { workspaceId?: string; includeDeprecated?: boolean; actorId?: string }): Promise<ConnectionRecord[]>
  getConnection(connectionId: string): Promise<ConnectionRecord | undefined>
  /** As putActor: compare and set on `conn.version`, SLUICE_ERR_CONFLICT when it moved. */
  putConnection(conn: ConnectionRecord): Promise<ConnectionRecord>

  putCatalog(cat: CatalogRecord): Promise<void>
  getCatalog(catalogId: string): Promise<CatalogRecord | undefined>
  /** The newest catalog discovered for this source with this config hash. */
  latestCatalog(sourceId: string, configHash?: string): Promise<CatalogRecord | undefined>

  listCustomDefinitions(): Promise<CustomDefinitionRecord[]>
  putCustomDefinition(def: CustomDefinitionRecord): Promise<void>
  /** A fingerprint of the stored custom definitions: it changes whenever one is added or replaced. */
  customDefinitionsVersion(): Promise<string>

  /** The last schema check of a connection. */
  getSchemaCheck(connectionId: string): Promise<SchemaCheckRecord | undefined>
  /** The last schema checks of a workspace's connections (one query for list views). */
  listSchemaChecks(workspaceId: string): Promise<SchemaCheckRecord[]>
  /** Inserts or replaces the connection's schema check. */
  putSchemaCheck(check: SchemaCheckRecord): Promise<void>

  /** Operations of a workspace (tombstoned ones only when asked). */
  listOperations(workspaceId: string, opts?: { includeTombstone?: boolean }): Promise<OperationRecord[]>
  getOperation(operationId: string): Promise<OperationRecord | undefined>
  /** Inserts or replaces. */
  putOperation(op: OperationRecord): Promise<void>

  /** Runs fn atomically: all writes inside it land together or not at all. */
  transaction<T>(fn: () => Promise<T>): Promise<T>
}

/** The error of a compare-and-set write that lost the race (API: 409). */
export function staleWriteError(kind: 'source' | 'destination' | 'connection', id: string): SluiceError {
  return new SluiceError('SLUICE_ERR_CONFLICT', `The ${kind} ${id} was changed by another request since it was read: read it again and repeat the change.`, { id })
}

/**
 * Applies `change` to the freshest stored record and writes it by compare and set; when another
 * writer got in between, reads again and re-applies, up to `attempts` times. `change` returns
 * undefined to leave the record alone (e.g. it is already disabled). Returns what was stored.
 */
export async function updateRecord<T>(
  read: () => Promise<T | undefined>,
  change: (current: T) => T | undefined,
  write: (next: T) => Promise<T>,
  attempts = 5,
): Promise<T | undefined> {
  for (let attempt = 1; ; attempt++) {
    const current = await read()
    if (current === undefined) return undefined
    const next = change(current)
    if (next === undefined) return undefined
    try {
      return await write(next)
    } catch (e) {
      if (attempt >= attempts || !(e instanceof SluiceError && e.code === 'SLUICE_ERR_CONFLICT')) throw e
    }
  }
}
