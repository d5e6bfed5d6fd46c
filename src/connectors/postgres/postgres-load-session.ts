import type {
  ConfiguredCatalog,
  ConfiguredStream,
  ConnectorConfig,
  ConnectorLogger,
  LoadSession,
  RecordBatch,
  RunOptions,
  StreamLoader,
} from '../../protocol/index.js'
import { streamKey } from '../../protocol/index.js'
import { isSluiceError } from '../../errors.js'
import { errorContext, validateConnection, type PostgresDestinationConfig } from './postgres-config.js'
import { fromPgError } from './postgres-errors.js'
import { connectPg, destroyPg, endPg, type PgClient } from './pg-client.js'
import { qualified } from './pg-identifiers.js'
import { PgStreamTable, planRawTables, planTables, rawSchemaOf } from './pg-stream-table.js'
import { WriteSession } from './pg-write-session.js'

/**
 * One Postgres write: a single connection whose open transaction holds the records of every
 * stream, so positions count batches across streams and a commit makes all of them durable.
 */
class PostgresLoadSession implements LoadSession {
  /** Every STATE commits the open transaction before it is echoed. */
  readonly stateFlushMs = 0
  readonly #config: PostgresDestinationConfig
  readonly #tables: Map<string, PgStreamTable>
  readonly #sql: WriteSession
  readonly #onAbort: () => void
  readonly #signal: AbortSignal
  readonly #logger: ConnectorLogger
  /** Batches accepted, plus raw rows an earlier write left untyped (the first commit types them). */
  accepted = 0
  committed = 0

  constructor(config: PostgresDestinationConfig, tables: Map<string, PgStreamTable>, sql: WriteSession, onAbort: () => void, opts: RunOptions) {
    this.#config = config
    this.#tables = tables
    this.#sql = sql
    this.#onAbort = onAbort
    this.#signal = opts.signal
    this.#logger = opts.logger
  }

  get sql(): WriteSession {
    return this.#sql
  }

  createStreamLoader(stream: ConfiguredStream): StreamLoader {
    return new PgStreamLoader(this, this.#tables.get(streamKey(stream.stream))!)
  }

  /** Types every staged row into its final table, then commits. */
  async commit(): Promise<void> {
    const through = this.accepted
    await this.#sql.commit(this.#tables.values())
    this.committed = through
  }

  translateError(err: unknown): Error {
    return isSluiceError(err) ? err : fromPgError(err, errorContext(this.#config, 'writing'))
  }

  async close(succeeded: boolean): Promise<void> {
    this.#signal.removeEventListener('abort', this.#onAbort)
    // Without a clean end the open transaction dies with the connection: nothing partial stays.
    if (succeeded) {
      await endPg(this.#sql.client)
      return
    }
    destroyPg(this.#sql.client)
    await this.#dropEmptyTemporaryTables()
  }

  /**
   * After a failed or aborted write: drops the `_airbyte_tmp` tables of the overwrite streams
   * that did not finish and hold no row (nothing of this generation was committed). One that
   * holds rows stays, since the next attempt of the same generation resumes into it. Best effort,
   * on a fresh connection (the write's own died with its transaction), each table waiting at
   * most 5 s for its lock: a failure here is logged, never thrown, so the write's own error is
   * the one reported.
   */
  async #dropEmptyTemporaryTables(): Promise<void> {
    const tables = [...this.#tables.values()]
      .filter((w) => w.truncate && !w.completed)
      .flatMap((w) => [w.qualifiedTarget, ...(w.raw ? [qualified(w.raw.schema, w.raw.target)] : [])])
    if (tables.length === 0) return
    let client: PgClient | undefined
    try {
      client = await connectPg(this.#config, { logger: this.#logger })
      await client.query(`SET lock_timeout = '5s'`)
      for (const table of tables) {
        await client.query('BEGIN')
        const found = await client.query(`SELECT to_regclass($1) IS NOT NULL AS found`, [table])
        if (found.rows[0]?.found === true) {
          await client.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`)
          const empty = await client.query(`SELECT NOT EXISTS (SELECT 1 FROM ${table}) AS empty`)
          if (empty.rows[0]?.empty === true) {
            await client.query(`DROP TABLE ${table}`)
            this.#logger.info(`Dropped ${table}: the failed overwrite had written nothing into it.`)
          }
        }
        await client.query('COMMIT')
      }
    } catch (err) {
      this.#logger.warn(`Could not drop the empty temporary tables of the failed overwrite (${tables.join(', ')}): ${(err as Error).message}`)
    } finally {
      if (client !== undefined) await endPg(client)
    }
  }
}

/** One stream of a Postgres write: its table plan on the session's connection. */
class PgStreamLoader implements StreamLoader {
  readonly #session: PostgresLoadSession
  readonly #table: PgStreamTable

  constructor(session: PostgresLoadSession, table: PgStreamTable) {
    this.#session = session
    this.#table = table
  }

  /**
   * Tables are prepared up front, each DDL in its own short transaction, so no DDL lock is held
   * by the long data transactions (readers of append targets are never blocked); a table the
   * write creates (an overwrite's temporary table, a new dedup table) is created by the first
   * data transaction, unseen until its commit.
   */
  async start(): Promise<void> {
    await this.#session.sql.setup(this.#table)
    if (this.#table.rawUnloaded) this.#session.accepted++
  }

  async accept(batch: RecordBatch): Promise<void> {
    const sql = this.#session.sql
    await sql.begin()
    if (this.#table.raw) await sql.stageRaw(this.#table, batch)
    else if (!(await sql.loadInitialSnapshot(this.#table, batch))) await sql.stage(this.#table, batch)
    this.#session.accepted++
  }

  checkpoint(): number {
    return this.#session.accepted
  }

  isDurable(checkpoint: number): boolean {
    return this.#session.committed >= checkpoint
  }

  async flush(): Promise<void> {
    await this.#session.commit()
  }

  /** COMPLETE: merges the stream and, for truncate streams, swaps the new table in; then commits. */
  async finish(): Promise<void> {
    await this.#session.sql.begin()
    await this.#session.sql.complete(this.#table)
    await this.#session.commit()
  }

  /** Nothing per stream: the session's connection ends (or dies, taking the transaction) on close. */
  async close(): Promise<void> {}
}

/**
 * Opens a Postgres write: plans every stream's tables (configuration errors surface before
 * connecting), connects, and lets an abort kill the connection so a running statement stops.
 */
export async function openPostgresLoadSession(raw: ConnectorConfig, catalog: ConfiguredCatalog, opts: RunOptions): Promise<LoadSession> {
  const config = raw as unknown as PostgresDestinationConfig
  validateConnection(config)
  const unconstrained = config.unconstrained_number !== false
  const tables = planTables(catalog, config.schema || 'public')
  const rawTables = config.use_raw_tables === true ? planRawTables(catalog, config.schema || 'public', rawSchemaOf(config)) : undefined
  const plans = new Map<string, PgStreamTable>()
  catalog.streams.forEach((cs, i) => {
    const key = streamKey(cs.stream)
    const t = tables.get(key)!
    plans.set(key, new PgStreamTable(cs, t.schema, t.table, i, unconstrained, rawTables?.get(key)))
  })
  const client = await connectPg(config, opts)
  try {
    // Merges join temporary tables without statistics, whose inflated estimates made the
    // planner JIT-compile them for longer than they ran (0.85 s of a 1.5 s dedup measured);
    // their sorts of 100k keys spilled to disk at the default 4 MB.
    // At the default random_page_cost (4, a disk seek) the merges joined 100k incoming rows
    // with a 2M-row table by hashing or merge-scanning the whole table (0.8-1.5 s per join);
    // at 1.1 (pages cached, as on SSDs), and with the table analyzed, they probe its key index
    // (0.19-0.30 s); plans are still chosen by cost.
    await client.query(`SET jit TO off; SET work_mem TO '64MB'; SET random_page_cost TO 1.1`)
  } catch (err) {
    destroyPg(client)
    throw fromPgError(err, errorContext(config, 'writing'))
  }
  const onAbort = (): void => destroyPg(client)
  opts.signal.addEventListener('abort', onAbort, { once: true })
  return new PostgresLoadSession(config, plans, new WriteSession(client, opts), onAbort, opts)
}
