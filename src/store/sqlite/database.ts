import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs'
import { dirname } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { SluiceError } from '../../errors.js'
import { SQLITE_MIGRATIONS } from './migrations/index.js'
import type { SqliteMigration } from './migrations/migration.js'

/** The better-sqlite3 database handle shared by the SQLite config and job stores. */
export type SqliteDatabase = BetterSqlite3.Database

/**
 * Applies the migrations not yet recorded in `schema_migrations`, in version order, each in its
 * own transaction. Several modules contribute migrations (config: 001, jobs: 002, ...) to the
 * one list in migrations/index.ts.
 */
export function migrateSqlite(db: SqliteDatabase, migrations: readonly SqliteMigration[] = SQLITE_MIGRATIONS): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  )`)
  const versions = migrations.map((m) => m.version)
  if (new Set(versions).size !== versions.length) throw new SluiceError('SLUICE_ERR_STORE', 'Two SQLite migrations share a version number.')
  const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map((r) => r.version))
  const done: number[] = []
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (applied.has(m.version)) continue
    db.transaction(() => {
      db.exec(m.sql)
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now())
    }).immediate()
    done.push(m.version)
  }
  return done
}

/**
 * The store holds encrypted secrets and everything about the connections: only the server's
 * user may read it. SQLite gives its -wal and -shm files the mode of the database file, so the
 * file is created 0600 before SQLite opens it; files of older installs are narrowed too.
 */
function restrictFileModes(file: string): void {
  closeSync(openSync(file, 'a', 0o600))
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600)
}

/**
 * Opens (creating if needed) the SQLite database file in WAL mode and brings its schema up to
 * date. Use ':memory:' for a throwaway database.
 */
export function openSqliteDatabase(file: string, migrations: readonly SqliteMigration[] = SQLITE_MIGRATIONS): SqliteDatabase {
  if (file !== ':memory:') {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
    restrictFileModes(file)
  }
  const db = new BetterSqlite3(file)
  try {
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    db.pragma('foreign_keys = ON')
    db.pragma('busy_timeout = 5000')
    migrateSqlite(db, migrations)
  } catch (cause) {
    db.close()
    throw new SluiceError('SLUICE_ERR_STORE', `Could not open the SQLite store at ${file}: ${(cause as Error).message}`, { cause })
  }
  return db
}
