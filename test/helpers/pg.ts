import { randomBytes } from 'node:crypto'
import pg from 'pg'
import type { ConnectorContext, ConnectorLogger, RunOptions } from '../../src/protocol/index.js'

/** Connection settings of the test server (loopback, trust auth). */
export const PG_HOST = '127.0.0.1'
export const PG_PORT = 5432
export const PG_USER = 'postgres'

/** A throwaway database for one test file. */
export interface TestDatabase {
  name: string
  /** Connector config in the seed's shape (source: add replication_method; destination: schema). */
  config: { host: string; port: number; database: string; username: string; password: string; ssl: false }
  /** Runs SQL against the test database. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>
  /** Opens a separate client on the test database (caller ends it). */
  client(): Promise<pg.Client>
  drop(): Promise<void>
}

async function adminQuery(sql: string): Promise<void> {
  const c = new pg.Client({ host: PG_HOST, port: PG_PORT, user: PG_USER, database: 'postgres' })
  await c.connect()
  try {
    await c.query(sql)
  } finally {
    await c.end()
  }
}

/** Creates a fresh database named `sluice_<prefix>_<random>`; `drop()` removes it. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const name = `sluice_${prefix}_${randomBytes(4).toString('hex')}`.toLowerCase()
  await adminQuery(`CREATE DATABASE "${name}"`)
  const pool = new pg.Pool({ host: PG_HOST, port: PG_PORT, user: PG_USER, database: name, max: 3 })
  pool.on('error', () => undefined)
  return {
    name,
    config: { host: PG_HOST, port: PG_PORT, database: name, username: PG_USER, password: '', ssl: false },
    query: (sql, params) => pool.query(sql, params),
    async client() {
      const c = new pg.Client({ host: PG_HOST, port: PG_PORT, user: PG_USER, database: name })
      c.on('error', () => undefined)
      await c.connect()
      return c
    },
    async drop() {
      await pool.end()
      await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
    },
  }
}

/** A logger that keeps lines in memory for assertions. */
export function memoryLogger(): ConnectorLogger & { lines: string[] } {
  const lines: string[] = []
  return {
    lines,
    debug: (m) => lines.push(`debug ${m}`),
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
  }
}

/** RunOptions for driving a connector directly in tests. */
export function runOptions(signal: AbortSignal = new AbortController().signal): RunOptions {
  const context: ConnectorContext = { dataDir: '/tmp', localFilesRoot: '/tmp' }
  return { signal, logger: memoryLogger(), context }
}
