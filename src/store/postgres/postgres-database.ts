import { AsyncLocalStorage } from 'node:async_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { SluiceError, isSluiceError } from '../../errors.js'

/** The part of a pg client the stores use (a pool or one checked-out connection). */
export interface PostgresQueryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>
}

export interface PostgresDatabaseOptions {
  /** `postgres://user:pass@host:port/db`; the password never appears in logs or errors. */
  url: string
  /** Pool size per process (default 10). */
  maxConnections?: number
  /** Shown in pg_stat_activity, e.g. `sluice-worker`. */
  applicationName?: string
  /** Where connection trouble is reported (an idle connection the server ended, a lost LISTEN). */
  logger?: StoreLogger | undefined
}

/** The part of a logger the store reports to (pino's shape). */
export interface StoreLogger {
  warn(fields: Record<string, unknown>, message: string): void
}

const INT8_OID = 20
/** Tries of one statement when the server ended the session under it. */
const ENDED_SESSION_RETRIES = 4

/**
 * Parses int8 as a JS number for this pool only: ids, epoch ms and counters stay far below 2^53,
 * and a global `pg.types.setTypeParser` would change what connectors in the same process read.
 */
const typeOverrides = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (v: string) => Number(v)
    return pg.types.getTypeParser(oid, format ?? 'text')
  },
}

/**
 * A pg pool plus transaction scoping: inside `transaction(fn)` every `query` issued by code on
 * that async path runs on the transaction's connection, so store methods compose atomically
 * without threading a client through their signatures.
 */
export class PostgresDatabase {
  readonly pool: pg.Pool
  readonly #url: string
  readonly #tx = new AsyncLocalStorage<pg.PoolClient>()
  #closed = false

  constructor(options: PostgresDatabaseOptions) {
    this.#url = options.url
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.maxConnections ?? 10,
      application_name: options.applicationName ?? 'sluice',
      types: typeOverrides,
    })
    // An idle connection dropped by the server must not crash the process; the next query reconnects.
    this.pool.on('error', (err) => options.logger?.warn({ err }, 'an idle connection to the PostgreSQL store failed; the next query opens a new one'))
  }

  /** Connection settings for a dedicated client (LISTEN needs one outside the pool). */
  clientConfig(): pg.ClientConfig {
    return { connectionString: this.#url, application_name: 'sluice-listen', types: typeOverrides }
  }

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]> {
    const tx = this.#tx.getStore()
    const client: PostgresQueryable = tx ?? this.pool
    for (let attempt = 1; ; attempt++) {
      try {
        return (await client.query<R>(text, values)).rows
      } catch (e) {
        // A server restart or failover ends every session at once. A read is simply re-run on a
        // fresh connection, after a pause that lets the pool drop the other dead sessions. A write
        // may have committed just before the kill, so it surfaces as a transient error instead
        // (the worker retries the attempt from saved state); so does anything in a transaction.
        if (tx || attempt >= ENDED_SESSION_RETRIES || !isEndedSession(e) || !isPlainRead(text)) throw translatePgError(e)
        await sleep(20 * attempt)
      }
    }
  }

  /** True inside `transaction(fn)` on this async path. */
  get inTransaction(): boolean {
    return this.#tx.getStore() !== undefined
  }

  /** Runs fn in one transaction; nested calls join the outer one. */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#tx.getStore()) return fn()
    let client: pg.PoolClient
    try {
      client = await this.pool.connect()
    } catch (e) {
      throw translatePgError(e)
    }
    let broken = false
    try {
      await client.query('BEGIN')
      const result = await this.#tx.run(client, fn)
      await client.query('COMMIT')
      return result
    } catch (e) {
      try {
        await client.query('ROLLBACK')
      } catch {
        broken = true
      }
      throw isSluiceError(e) ? e : translatePgError(e)
    } finally {
      client.release(broken)
    }
  }

  /** Pings the database; false when it cannot be reached. */
  async healthy(): Promise<boolean> {
    try {
      await this.pool.query('SELECT 1')
      return true
    } catch {
      return false
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.pool.end()
  }
}

/** SQLSTATE classes worth a retry: serialization, deadlock, admin shutdown, connection loss. */
const TRANSIENT_SQLSTATES = new Set(['40001', '40P01', '57P01', '57P02', '57P03', '53300'])

/**
 * The one place where driver errors become SluiceErrors. Retryable conditions are transient
 * (SLUICE_ERR_STORE_UNAVAILABLE); the rest are store bugs (SLUICE_ERR_STORE). Messages carry the
 * server's text, never the connection string.
 */
export function translatePgError(e: unknown): SluiceError {
  if (isSluiceError(e)) return e
  const err = e as { code?: string; message?: string }
  const code = typeof err.code === 'string' ? err.code : ''
  const message = typeof err.message === 'string' ? err.message : String(e)
  if (TRANSIENT_SQLSTATES.has(code) || code.startsWith('08') || isNetworkError(code)) {
    return new SluiceError('SLUICE_ERR_STORE_UNAVAILABLE', `The PostgreSQL store is unavailable: ${message}`, {
      cause: e,
      failureType: 'transient_error',
    })
  }
  return new SluiceError('SLUICE_ERR_STORE', `PostgreSQL store error${code ? ` ${code}` : ''}: ${message}`, { cause: e })
}

/** The server ended the session (admin shutdown, crash, broken pipe): any statement on it was aborted. */
function isEndedSession(e: unknown): boolean {
  const code = (e as { code?: unknown }).code
  return code === '57P01' || code === '57P02' || code === '57P03' || code === 'EPIPE'
}

/** A SELECT without side effects (no NOTIFY, no row locks): safe to run twice. */
function isPlainRead(sql: string): boolean {
  return /^\s*SELECT\b/i.test(sql) && !/pg_notify|pg_advisory|FOR\s+UPDATE/i.test(sql)
}

function isNetworkError(code: string): boolean {
  return code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT' || code === 'ENOTFOUND' || code === 'EPIPE'
}

/** True when a driver error is a unique violation on the named constraint or index. */
export function isUniqueViolation(e: unknown, constraint: string): boolean {
  const cause = isSluiceError(e) ? e.cause : e
  const err = cause as { code?: string; constraint?: string } | undefined
  return err?.code === '23505' && err.constraint === constraint
}

/** Redacts the password of a postgres:// URL for display. */
export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return 'postgres://(unparseable url)'
  }
}
