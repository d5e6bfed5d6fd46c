import { join } from 'node:path'
import { SluiceError } from '../errors.js'
import type { ConfigStore } from './config-store.js'
import type { JobStore } from './job-store.js'
import { isPostgresUrl, openPostgresStores } from './postgres/index.js'
import type { StoreLogger } from './postgres/postgres-database.js'
import { acquireDataDirLock } from './sqlite/data-dir-lock.js'
import { openSqliteDatabase } from './sqlite/database.js'
import { SqliteConfigStore } from './sqlite/sqlite-config-store.js'
import { SqliteJobStore } from './sqlite/sqlite-job-store.js'
import type { WorkerRegistry } from './worker-registry.js'

/** The stores of one process, on the embedded SQLite file or a shared PostgreSQL database. */
export interface OpenedStores {
  /** 'sqlite': this process owns the store alone; 'postgres': shared with other processes. */
  kind: 'sqlite' | 'postgres'
  configStore: ConfigStore
  jobStore: JobStore
  /** Present on the shared store only. */
  workers?: WorkerRegistry
  /**
   * Runs fn while holding a database-wide lock (PostgreSQL advisory lock; SQLite: plain call),
   * so start-up work such as creating the default workspace happens once across processes.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T>
  close(): Promise<void>
}

/** Advisory lock key for start-up work ("sluice" + 1). */
const STARTUP_LOCK_KEY = 0x736c75696366

/**
 * Opens the stores: PostgreSQL when `databaseUrl` is set (migrations applied under an advisory
 * lock), else `<dataDir>/sluice.db`, after taking the data directory's exclusive lock (a second
 * process on the same directory is refused with SLUICE_ERR_DATA_DIR_LOCKED before it opens
 * anything).
 */
export async function openStores(dataDir: string, databaseUrl?: string, logger?: StoreLogger): Promise<OpenedStores> {
  if (databaseUrl !== undefined && databaseUrl !== '') {
    if (!isPostgresUrl(databaseUrl)) {
      throw new SluiceError('SLUICE_ERR_INVALID_INPUT', 'SLUICE_DATABASE_URL / --database-url must be a postgres:// or postgresql:// URL.')
    }
    const pg = await openPostgresStores({ url: databaseUrl, applicationName: 'sluice-api', logger })
    return {
      kind: 'postgres',
      configStore: pg.configStore,
      jobStore: pg.jobStore,
      workers: pg.workers,
      exclusive: (fn) =>
        pg.db.transaction(async () => {
          await pg.db.query('SELECT pg_advisory_xact_lock($1)', [STARTUP_LOCK_KEY])
          return fn()
        }),
      close: () => pg.close(),
    }
  }
  const lock = acquireDataDirLock(dataDir)
  let db: ReturnType<typeof openSqliteDatabase>
  try {
    db = openSqliteDatabase(join(dataDir, 'sluice.db'))
  } catch (e) {
    lock.release()
    throw e
  }
  return {
    kind: 'sqlite',
    configStore: new SqliteConfigStore(db),
    jobStore: new SqliteJobStore(db),
    exclusive: (fn) => fn(),
    close: async () => {
      if (db.open) db.close()
      lock.release()
    },
  }
}
