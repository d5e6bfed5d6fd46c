import { chmodSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { SluiceError } from '../../errors.js'

/** The lock of one process on a data directory; `release()` is safe to call twice. */
export interface DataDirLock {
  readonly file: string
  release(): void
}

/**
 * Takes the exclusive lock that makes one process the only user of a data directory's embedded
 * store. The lock is an SQLite database (`sluice.lock`) held in an EXCLUSIVE transaction: the
 * operating system's file lock behind it is released by the kernel when the process dies, even
 * on kill -9, so there is no stale lock to clean up, and a second process is refused at once
 * (busy timeout 0) before it has read or written anything else in the directory.
 */
export function acquireDataDirLock(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const file = join(dataDir, 'sluice.lock')
  const db = new BetterSqlite3(file, { timeout: 0 })
  try {
    chmodSync(file, 0o600)
    db.pragma('journal_mode = MEMORY')
    db.pragma('locking_mode = EXCLUSIVE')
    db.exec('BEGIN EXCLUSIVE')
  } catch (cause) {
    db.close()
    if ((cause as { code?: string }).code === 'SQLITE_BUSY') {
      throw new SluiceError(
        'SLUICE_ERR_DATA_DIR_LOCKED',
        `Another sluice process is using the data directory ${dataDir} (its embedded store allows one process). Stop that process, or start this one with another --data-dir; to run several processes, use a shared PostgreSQL store (SLUICE_DATABASE_URL).`,
        { cause },
      )
    }
    throw new SluiceError('SLUICE_ERR_STORE', `Could not lock the data directory ${dataDir}: ${(cause as Error).message}`, { cause })
  }
  return {
    file,
    release() {
      if (db.open) db.close()
    },
  }
}
