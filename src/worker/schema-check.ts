import { randomUUID } from 'node:crypto'
import { configHash } from '../domain/config-hash.js'
import { describeTransforms, planSchemaChange, type SchemaChangePlan } from '../domain/schema-change.js'
import { configError } from '../errors.js'
import type { AirbyteCatalog, ConnectorConfig, ConnectorContext, DestinationDefinition, SourceDefinition } from '../protocol/index.js'
import { updateRecord, type ActorRecord, type CatalogRecord, type ConfigStore, type ConnectionRecord, type SchemaCheckRecord } from '../store/config-store.js'
import type { JobRecord } from '../store/job-store.js'
import type { AttemptLog } from './attempt-log.js'
import type { JobNotifications } from './job-notifications.js'
import type { NotificationTrigger } from '../notifications/notification-settings.js'

/** How long a discover may take before the check gives up (the sync goes on). */
const DISCOVER_TIMEOUT_MS = 5 * 60_000

/** What the schema check reads, writes and announces. */
export interface SchemaCheckOptions {
  configStore: ConfigStore
  context: ConnectorContext
  /** Check a connection at most once per this many ms (0: before every sync). */
  intervalMs: number
  now: () => number
  notifications?: JobNotifications | undefined
}

/** The connection a check is about, with its connectors (configurations decrypted). */
export interface SchemaCheckSubject {
  job: JobRecord
  connection: ConnectionRecord
  sourceActor: ActorRecord
  sourceDef: SourceDefinition
  sourceConfig: ConnectorConfig
  destinationDef: DestinationDefinition
  log: AttemptLog
  signal: AbortSignal
}

/**
 * Airbyte's schema refresh before a sync: at most once per interval per connection (always while
 * it carries a breaking change), discovers the source, diffs it with the connection's catalog and
 * acts on its `nonBreakingChangesPreference` (domain/schema-change.ts): propagates, leaves the
 * change for review, or turns the connection off. Records the check (time, catalog, what is left
 * pending) and notifies the workspace. A check that cannot finish (discover failed or timed out,
 * store unreachable) is a warning in the attempt log, and the sync goes on.
 */
export class SchemaCheck {
  readonly #options: SchemaCheckOptions

  constructor(options: SchemaCheckOptions) {
    this.#options = options
  }

  /**
   * Runs the check; returns the connection the sync should use (with a propagated catalog), or
   * throws a config error when the check turned the connection off.
   */
  async run(subject: SchemaCheckSubject): Promise<ConnectionRecord> {
    const { configStore, intervalMs, now } = this.#options
    const { connection, log } = subject
    let previous: SchemaCheckRecord | undefined
    try {
      previous = await configStore.getSchemaCheck(connection.connectionId)
    } catch (err) {
      log.warn(`Schema check skipped: its last run could not be read (${message(err)}).`)
      return connection
    }
    if (previous !== undefined && connection.extra.breakingChange !== true && now() - previous.checkedAt < intervalMs) {
      log.info(`Schema check skipped: the source was checked at ${new Date(previous.checkedAt).toISOString()} (at most once every ${intervalMs / 3_600_000} h).`)
      return connection
    }
    let outcome: { connection: ConnectionRecord; plan: SchemaChangePlan; disabledNow: boolean } | undefined
    try {
      const discovered = await this.#discover(subject)
      const catalogId = await this.#storeCatalog(subject, discovered)
      outcome = await this.#apply(subject, discovered, catalogId)
      await configStore.putSchemaCheck({
        connectionId: connection.connectionId,
        checkedAt: now(),
        catalogId,
        schemaChange: outcome.plan.schemaChange,
        ...(outcome.connection.sourceCatalogId !== undefined ? { baselineCatalogId: outcome.connection.sourceCatalogId } : {}),
        diff: outcome.plan.diff,
      })
    } catch (err) {
      if (subject.signal.aborted) throw err
      log.warn(`Schema check not finished, the sync goes on with the connection's catalog: ${message(err)}`)
      if (outcome === undefined) return connection
    }
    this.#report(subject, outcome, previous)
    if (outcome.connection.status !== 'active' && outcome.plan.disable) {
      const why = outcome.plan.breaking
        ? 'The source schema changed in a way that breaks this connection (a cursor or primary-key column of an enabled stream is gone or changed)'
        : "The source schema changed and the connection's nonBreakingChangesPreference is 'disable'"
      throw configError(`${why}: ${describeTransforms(outcome.plan.diff.transforms).join('; ')}. The connection was disabled: review the changes (Schema tab, or web_backend/connections/get with withRefreshedCatalog), save the catalog and enable the connection again.`)
    }
    return outcome.connection
  }

  async #discover(subject: SchemaCheckSubject): Promise<AirbyteCatalog> {
    const { sourceDef, sourceConfig, log, signal } = subject
    const catalog = await sourceDef.source.discover(sourceConfig, {
      signal: AbortSignal.any([signal, AbortSignal.timeout(DISCOVER_TIMEOUT_MS)]),
      logger: log,
      context: this.#options.context,
    })
    if (!Array.isArray(catalog?.streams)) throw new Error(`the ${sourceDef.name} connector returned no catalog`)
    return catalog
  }

  /**
   * Stores the discovered catalog as the API's discover does (same cache key), or reuses the
   * newest stored one when it is the same: a check before every sync adds no row per sync.
   */
  async #storeCatalog(subject: SchemaCheckSubject, catalog: AirbyteCatalog): Promise<string> {
    const { configStore, now } = this.#options
    const hash = configHash(subject.sourceActor.definitionId, subject.sourceConfig)
    const latest = await configStore.latestCatalog(subject.sourceActor.id, hash)
    if (latest !== undefined && JSON.stringify(latest.catalog) === JSON.stringify(catalog)) return latest.catalogId
    const record: CatalogRecord = { catalogId: randomUUID(), sourceId: subject.sourceActor.id, configHash: hash, catalog, createdAt: now() }
    await configStore.putCatalog(record)
    return record.catalogId
  }

  /** Applies the plan to the freshest stored connection (compare and set, re-planned on a conflict). */
  async #apply(subject: SchemaCheckSubject, discovered: AirbyteCatalog, catalogId: string): Promise<{ connection: ConnectionRecord; plan: SchemaChangePlan; disabledNow: boolean }> {
    const { configStore, now } = this.#options
    const modes = subject.destinationDef.destination.capabilities.supportedSyncModes
    let plan: SchemaChangePlan | undefined
    let current: ConnectionRecord = subject.connection
    let disabledNow = false
    const saved = await updateRecord(
      async () => {
        const conn = await configStore.getConnection(subject.connection.connectionId)
        if (conn === undefined) return undefined
        const original = conn.sourceCatalogId === undefined ? undefined : await configStore.getCatalog(conn.sourceCatalogId)
        return { conn, original: original?.catalog }
      },
      ({ conn, original }) => {
        current = conn
        plan = planSchemaChange(conn, original, discovered, modes)
        const next = changedConnection(conn, plan, catalogId, Math.floor(now() / 1000))
        disabledNow = next !== undefined && conn.status === 'active' && next.status === 'inactive'
        return next === undefined ? undefined : { conn: next, original }
      },
      async ({ conn, original }) => ({ conn: await configStore.putConnection(conn), original }),
    )
    if (plan === undefined) throw new Error(`the connection ${subject.connection.connectionId} no longer exists`)
    return { connection: saved?.conn ?? current, plan, disabledNow: saved !== undefined && disabledNow }
  }

  /** The attempt log lines and the workspace's notifications of what the check did. */
  #report(subject: SchemaCheckSubject, outcome: { connection: ConnectionRecord; plan: SchemaChangePlan; disabledNow: boolean }, previous: SchemaCheckRecord | undefined): void {
    const { job, log, connection } = subject
    const { plan, disabledNow } = outcome
    if (plan.diff.transforms.length === 0) {
      log.info('Schema check: the source schema has not changed.')
      return
    }
    const changes = describeTransforms(plan.diff.transforms)
    log.info(`Schema check: ${changes.length} change(s) in the source schema: ${changes.join('; ')}.`)
    const notify = (trigger: NotificationTrigger, lines: string[]): void => this.#options.notifications?.send(job, trigger, { schemaChange: { breaking: plan.breaking, changes: lines } })
    // As Airbyte: the change notifications go out only for connections that ask for them.
    const wanted = connection.extra.notifySchemaChanges === true
    const seenBefore = previous !== undefined && previous.schemaChange === plan.schemaChange && JSON.stringify(previous.diff) === JSON.stringify(plan.diff)
    if (plan.breaking) {
      log.warn('Schema check: the change is breaking; the connection is disabled.')
      if (disabledNow) notify('breaking_change_syncs_disabled', changes)
      if (wanted && (disabledNow || !seenBefore)) notify('connection_update_action_required', changes)
    } else if (plan.preference === 'disable') {
      log.warn("Schema check: nonBreakingChangesPreference is 'disable'; the connection is disabled.")
      if (disabledNow) notify('sync_disabled', changes)
      if (wanted && (disabledNow || !seenBefore)) notify('connection_update_action_required', changes)
    } else if (plan.preference === 'ignore') {
      log.info("Schema check: nonBreakingChangesPreference is 'ignore'; the changes wait for review and the sync uses the connection's catalog.")
      if (wanted && !seenBefore) notify('connection_update_action_required', changes)
    } else {
      const applied = describeTransforms(plan.applied)
      log.info(`Schema check: ${plan.preference} applied ${applied.length} change(s) to the connection${applied.length > 0 ? `: ${applied.join('; ')}` : ''}.`)
      if (wanted && applied.length > 0) notify('connection_update', applied)
    }
  }
}

/** The connection after a plan, or undefined when the plan changes nothing in it. */
function changedConnection(conn: ConnectionRecord, plan: SchemaChangePlan, catalogId: string, nowSeconds: number): ConnectionRecord | undefined {
  const next: ConnectionRecord = { ...conn, extra: { ...conn.extra } }
  if (plan.breaking) next.extra.breakingChange = true
  else delete next.extra.breakingChange
  if (plan.disable && conn.status === 'active') next.status = 'inactive'
  if (plan.syncCatalog !== undefined) next.syncCatalog = plan.syncCatalog
  // Propagated, or nothing the connection cares about changed: it is now based on the new catalog.
  if (plan.syncCatalog !== undefined || plan.diff.transforms.length === 0) next.sourceCatalogId = catalogId
  const changed =
    next.status !== conn.status ||
    next.sourceCatalogId !== conn.sourceCatalogId ||
    next.syncCatalog !== conn.syncCatalog ||
    (next.extra.breakingChange === true) !== (conn.extra.breakingChange === true)
  return changed ? { ...next, updatedAt: nowSeconds } : undefined
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
