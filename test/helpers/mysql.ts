import { randomBytes } from 'node:crypto'
import mysql from 'mysql2/promise'

/** Connection settings of the test server (loopback MariaDB, root without password). */
export const MYSQL_HOST = '127.0.0.1'
export const MYSQL_PORT = 3306
export const MYSQL_USER = 'root'

/** A throwaway MariaDB database for one test file. */
export interface TestMysqlDatabase {
  name: string
  /** Source config in Airbyte's shape (no TLS on the test server). */
  config: {
    host: string
    port: number
    database: string
    username: string
    password: string
    ssl_mode: { mode: 'preferred' }
    replication_method: { method: 'STANDARD' }
  }
  /** Runs SQL (several statements allowed) in the test database. */
  query(sql: string, params?: unknown[]): Promise<unknown>
  drop(): Promise<void>
}

/** Creates a fresh database named `sluice_<prefix>_<random>`; `drop()` removes it. */
export async function createTestMysqlDatabase(prefix: string): Promise<TestMysqlDatabase> {
  const name = `sluice_${prefix}_${randomBytes(4).toString('hex')}`.toLowerCase()
  const admin = await mysql.createConnection({ host: MYSQL_HOST, port: MYSQL_PORT, user: MYSQL_USER })
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`)
  await admin.end()
  const pool = mysql.createPool({ host: MYSQL_HOST, port: MYSQL_PORT, user: MYSQL_USER, database: name, multipleStatements: true, connectionLimit: 3, charset: 'utf8mb4_unicode_ci' })
  return {
    name,
    config: {
      host: MYSQL_HOST,
      port: MYSQL_PORT,
      database: name,
      username: MYSQL_USER,
      password: '',
      ssl_mode: { mode: 'preferred' },
      replication_method: { method: 'STANDARD' },
    },
    async query(sql, params) {
      const [rows] = await pool.query(sql, params)
      return rows
    },
    async drop() {
      await pool.end()
      const c = await mysql.createConnection({ host: MYSQL_HOST, port: MYSQL_PORT, user: MYSQL_USER })
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``)
      await c.end()
    },
  }
}
