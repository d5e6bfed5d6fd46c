import type pg from 'pg'
import { SluiceError } from '../../errors.js'
import { translatePgError } from './postgres-database.js'
import { POSTGRES_MIGRATIONS } from './migrations/index.js'
import type { PostgresMigration } from './migrations/migration.js'

/**
 * Session advisory lock key held while migrating ("sluice" in ASCII). Every process that starts
 * against the same database queues on it, so exactly one applies each migration and the others
 * see the result.
 */
export const MIGRATION_LOCK_KEY = 0x736c75696365

/** What migratePostgres did (for logs and tests). */
export interface MigrationReport {
  applied: number[]
  current: number
}

/**
 * Brings the schema up to date. Safe to call from many processes at once: the runner takes a
 * session advisory lock on a dedicated connection, applies missing migrations each in one
 * transaction together with its bookkeeping row, then unlocks. Refuses to run against a schema
 * newer than this build knows, instead of guessing.
 */
export async function migratePostgres(
  pool: pg.Pool,
  migrations: readonly PostgresMigration[] = POSTGRES_MIGRATIONS,
): Promise<MigrationReport> {
  let client: pg.PoolClient
  try {
    client = await pool.connect()
  } catch (e) {
    throw translatePgError(e)
  }
  let locked = false
  let broken = false
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY])
    locked = true
    await client.query(`CREATE TABLE IF NOT EXISTS sluice_schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`)
    const { rows } = await client.query<{ version: number }>('SELECT version FROM sluice_schema_migrations')
    const done = new Set(rows.map((r) => Number(r.version)))
    const known = new Set(migrations.map((m) => m.version))
    const unknown = [...done].filter((v) => !known.has(v))
    if (unknown.length > 0) {
      throw new SluiceError(
        'SLUICE_ERR_STORE',
        `The database schema has migrations this sluice build does not know (${unknown.sort((a, b) => a - b).join(', ')}); upgrade sluice on this machine.`,
      )
    }
    const applied: number[] = []
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue
      try {
        await client.query('BEGIN')
        await client.query(m.sql)
        await client.query('INSERT INTO sluice_schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name])
        await client.query('COMMIT')
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {
          broken = true
        })
        throw new SluiceError('SLUICE_ERR_STORE', `PostgreSQL migration ${m.version} (${m.name}) failed: ${(e as Error).message}`, { cause: e })
      }
      applied.push(m.version)
    }
    const current = Math.max(0, ...done, ...applied)
    return { applied, current }
  } catch (e) {
    throw translatePgError(e)
  } finally {
    if (locked) {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {
        broken = true
      })
    }
    client.release(broken)
  }
}
