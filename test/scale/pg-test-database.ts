import { randomBytes } from 'node:crypto'
import pg from 'pg'

/** The loopback PostgreSQL the tests use (trust auth). */
export const PG_ADMIN_URL = process.env.SLUICE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export interface TestDatabase {
  url: string
  name: string
  /** Drops the database, disconnecting anyone still connected. */
  drop(): Promise<void>
}

/** Creates a fresh, uniquely named database so test files can run in parallel. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const name = `sluice_${prefix}_${randomBytes(4).toString('hex')}`.toLowerCase()
  await admin(`CREATE DATABASE ${name}`)
  const url = new URL(PG_ADMIN_URL)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    name,
    drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  }
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}
