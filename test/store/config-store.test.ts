import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { migrateSqlite, openSqliteDatabase } from '../../src/store/sqlite/database.js'
import type { SqliteMigration } from '../../src/store/sqlite/migrations/migration.js'
import { SqliteConfigStore } from '../../src/store/sqlite/sqlite-config-store.js'
import { configStoreContract } from './config-store-contract.js'

// A PostgreSQL adapter runs the same contract with its own factory.
configStoreContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-config-store-'))
  const db = openSqliteDatabase(join(dir, 'sluice.db'))
  return {
    store: new SqliteConfigStore(db),
    close: async () => {
      db.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
})

test('sqlite migrations: applied once, in order, recorded; WAL mode', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-migrate-'))
  try {
    const file = join(dir, 'sluice.db')
    const db = openSqliteDatabase(file)
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal')
    const versions = (db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as Array<{ version: number }>).map((r) => r.version)
    assert.ok(versions.includes(1))
    assert.deepEqual(migrateSqlite(db), [], 'nothing left to apply')
    const extra: SqliteMigration = { version: 999, name: 'test', sql: 'CREATE TABLE t999 (x INTEGER)' }
    assert.deepEqual(migrateSqlite(db, [extra]), [999])
    assert.deepEqual(migrateSqlite(db, [extra]), [])
    const broken: SqliteMigration = { version: 1000, name: 'broken', sql: 'CREATE TABLE t1000 (x INTEGER); SELECT nope FROM nowhere' }
    assert.throws(() => migrateSqlite(db, [broken]))
    assert.equal((db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 't1000'").get() as { n: number }).n, 0, 'a failed migration leaves nothing')
    assert.throws(() => migrateSqlite(db, [extra, { ...extra, name: 'dup' }]), /share a version/)
    db.close()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
