import pg from 'pg'
import type { ConnectorLogger } from '../../protocol/index.js'
import { cancelledError } from '../../errors.js'
import { errorContext, toClientConfig, type PostgresConnectionConfig } from './postgres-config.js'
import { fromPgError } from './postgres-errors.js'

/** The part of node-postgres' Client the connectors use (house style §4: narrow ports). */
export type PgClient = pg.Client

/** Session settings that make COPY text output deterministic and ISO-formatted. */
const SESSION_SETUP =
  "SET datestyle TO 'ISO, YMD'; SET TimeZone TO 'UTC'; SET intervalstyle TO 'postgres'; " +
  "SET extra_float_digits TO 3; SET bytea_output TO 'hex'; SET client_encoding TO 'UTF8'"

/**
 * Opens a connection (bounded by the connect timeout) with UTC/ISO session settings.
 * Errors come back translated (fromPgError); an abort during connect cancels it.
 */
export async function connectPg(
  config: PostgresConnectionConfig,
  opts: { signal?: AbortSignal; logger?: ConnectorLogger },
): Promise<PgClient> {
  if (opts.signal?.aborted) throw cancelledError()
  const client = new pg.Client(toClientConfig(config, opts.logger))
  // A socket error after connect must not crash the process: the pending query rejects instead.
  client.on('error', () => undefined)
  const onAbort = (): void => destroyPg(client)
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    await client.connect()
    await client.query(SESSION_SETUP)
    return client
  } catch (err) {
    destroyPg(client)
    if (opts.signal?.aborted) throw cancelledError()
    throw fromPgError(err, errorContext(config, 'connecting'))
  } finally {
    opts.signal?.removeEventListener('abort', onAbort)
  }
}

/**
 * Closes a client whatever state it is in (also mid-COPY): the socket is destroyed, so the
 * server ends the backend and its query.
 */
export function destroyPg(client: PgClient): void {
  const connection = (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection
  connection?.stream?.destroy()
  client.end().catch(() => undefined)
}

/** Ends a client cleanly, falling back to destroying it. */
export async function endPg(client: PgClient): Promise<void> {
  const timer = setTimeout(() => destroyPg(client), 2_000)
  try {
    await client.end()
  } catch {
    destroyPg(client)
  } finally {
    clearTimeout(timer)
  }
}
