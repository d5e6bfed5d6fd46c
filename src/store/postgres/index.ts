import { PostgresConfigStore } from './postgres-config-store.js'
import { PostgresDatabase, type PostgresDatabaseOptions } from './postgres-database.js'
import { PostgresJobEvents } from './postgres-job-events.js'
import { PostgresJobStore } from './postgres-job-store.js'
import { migratePostgres, type MigrationReport } from './postgres-migrator.js'
import { PostgresWorkerRegistry } from './postgres-worker-registry.js'

export { PostgresConfigStore } from './postgres-config-store.js'
export { PostgresDatabase, redactDatabaseUrl, translatePgError, type PostgresDatabaseOptions } from './postgres-database.js'
export { PostgresJobEvents, type JobEventListener } from './postgres-job-events.js'
export { PostgresJobStore, JOB_EVENTS_CHANNEL, type JobEvent, type JobEventSource, type PostgresJobStoreOptions } from './postgres-job-store.js'
export { migratePostgres, MIGRATION_LOCK_KEY, type MigrationReport } from './postgres-migrator.js'
export type { PostgresMigration } from './migrations/migration.js'
export { PostgresWorkerRegistry } from './postgres-worker-registry.js'
export { POSTGRES_MIGRATIONS } from './migrations/index.js'

/** Everything a process needs from the shared control-plane database. */
export interface PostgresStores {
  db: PostgresDatabase
  configStore: PostgresConfigStore
  jobStore: PostgresJobStore
  events: PostgresJobEvents
  workers: PostgresWorkerRegistry
  migrations: MigrationReport
  /** Stops listening and ends the pool. */
  close(): Promise<void>
}

export interface OpenPostgresStoresOptions extends PostgresDatabaseOptions {
  /** Injected clock (epoch ms) for tests. */
  now?: () => number
}

/** True for `postgres://` and `postgresql://` URLs. */
export function isPostgresUrl(url: string | undefined): url is string {
  return url !== undefined && /^postgres(ql)?:\/\//i.test(url)
}

/**
 * Connects to the control-plane database, applies pending migrations (serialised across
 * processes by an advisory lock) and returns the stores. Closes the pool if migrating fails.
 */
export async function openPostgresStores(options: OpenPostgresStoresOptions): Promise<PostgresStores> {
  const db = new PostgresDatabase(options)
  let migrations: MigrationReport
  try {
    migrations = await migratePostgres(db.pool)
  } catch (e) {
    await db.close()
    throw e
  }
  const clock = options.now ? { now: options.now } : {}
  const events = new PostgresJobEvents(db, { logger: options.logger })
  return {
    db,
    configStore: new PostgresConfigStore(db),
    jobStore: new PostgresJobStore(db, { ...clock, events }),
    events,
    workers: new PostgresWorkerRegistry(db, clock),
    migrations,
    async close() {
      await events.close()
      await db.close()
    },
  }
}
