import mysql from 'mysql2'
import type { Connection, FieldPacket } from 'mysql2'
import { cancelledError } from '../../errors.js'
import type { RunOptions } from '../../protocol/index.js'
import { toConnectionOptions, type MysqlSourceConfig } from './mysql-config.js'

/** An open mysql2 connection of the source (callback API, so reads can pause the socket). */
export type MysqlConnection = Connection

/**
 * Opens a connection with the session the reads rely on: UTC (TIMESTAMP values as UTC text),
 * utf8mb4, and no statement timeout inherited from the server.
 */
export async function connectMysql(config: MysqlSourceConfig, opts: Pick<RunOptions, 'logger' | 'signal'>): Promise<MysqlConnection> {
  if (opts.signal.aborted) throw cancelledError()
  const conn = mysql.createConnection(toConnectionOptions(config, opts.logger))
  // Errors after a failed or finished query arrive as events; without a listener they crash the process.
  conn.on('error', () => undefined)
  await new Promise<void>((resolve, reject) => conn.connect((err) => (err ? reject(err) : resolve())))
  try {
    await queryRows(conn, "SET time_zone = '+00:00', NAMES utf8mb4")
  } catch (err) {
    conn.destroy()
    throw err
  }
  return conn
}

/** Runs one statement and collects its (small) result as row objects. */
export function queryRows<R = Record<string, unknown>>(conn: MysqlConnection, sql: string, values: unknown[] = []): Promise<R[]> {
  return new Promise((resolve, reject) => {
    conn.query({ sql, values }, (err, rows) => (err ? reject(err) : resolve((Array.isArray(rows) ? rows : []) as R[])))
  })
}

/** Ends the connection politely (COM_QUIT); destroys it if that fails. */
export async function endMysql(conn: MysqlConnection): Promise<void> {
  await new Promise<void>((resolve) =>
    conn.end((err) => {
      if (err) conn.destroy()
      resolve()
    }),
  )
}

/** A run of rows of a streaming query, each row an array in select-list order. */
export interface RowChunk {
  rows: unknown[][]
  /** Approximate text size of the rows (string lengths, 8 per other value). */
  bytes: number
}

/** Limits of one chunk of a streaming query. */
export interface ChunkLimits {
  rows: number
  bytes: number
}

function sizeOf(row: unknown[]): number {
  let n = 0
  for (let i = 0; i < row.length; i++) {
    const v = row[i]
    n += typeof v === 'string' ? v.length : v instanceof Buffer ? v.length : 8
  }
  return n
}

/**
 * What a streaming query fills: `add` takes each row as mysql2 parsed it (row arrays), or
 * `rowParser` replaces mysql2's parser and takes each raw row packet instead.
 */
interface ChunkCollector<C> {
  add?(row: unknown[]): void
  rowParser?: { next(packet: RowPacket): unknown }
  full(): boolean
  empty(): boolean
  take(): C
}

/**
 * Streams a query's rows in chunks with backpressure: the socket is paused once a chunk is
 * full and resumed only when the consumer asks for the next one, so at most one chunk is
 * buffered. Aborting destroys the connection (the server stops the query when it notices).
 */
async function* streamChunks<C>(conn: MysqlConnection, sql: string, values: unknown[], collector: ChunkCollector<C>, signal: AbortSignal): AsyncGenerator<C, FieldPacket[]> {
  let ended = false
  let failure: unknown
  let fields: FieldPacket[] = []
  let wake: (() => void) | undefined
  const notify = (): void => {
    const w = wake
    wake = undefined
    w?.()
  }
  const query = conn.query({ sql, values, rowsAsArray: true })
  const parser = collector.rowParser
  if (parser) {
    // mysql2 builds its row parser when the column definitions arrive and calls its next()
    // with each row packet: this one encodes the packet instead (the field is private, so
    // its presence is checked rather than assumed).
    if (!('_rowParser' in query)) throw new Error('mysql2 changed: Query has no _rowParser, the COPY text reader cannot be attached.')
    Object.defineProperty(query, '_rowParser', { configurable: true, get: () => parser, set: () => undefined })
  }
  query.on('fields', (f: FieldPacket[]) => {
    fields = f
  })
  query.on('result', (row: unknown) => {
    collector.add?.(row as unknown[])
    if (collector.full()) {
      conn.pause()
      notify()
    }
  })
  query.on('error', (err: unknown) => {
    failure ??= err
    notify()
  })
  query.on('end', () => {
    ended = true
    notify()
  })
  const onAbort = (): void => {
    failure ??= cancelledError()
    conn.destroy()
    notify()
  }
  // A connection lost mid-result (KILL, network) is reported on the connection, not the query.
  const onConnectionLost = (err?: unknown): void => {
    if (ended) return
    failure ??= err ?? Object.assign(new Error('Connection lost: the server closed the connection.'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true })
    notify()
  }
  signal.addEventListener('abort', onAbort, { once: true })
  conn.on('error', onConnectionLost)
  conn.on('end', onConnectionLost)
  let paused = false
  try {
    for (;;) {
      if (failure === undefined && !ended && !collector.full()) {
        await new Promise<void>((resolve) => {
          wake = resolve
        })
      }
      if (failure !== undefined) throw failure
      if (!collector.empty()) {
        const chunk = collector.take()
        paused = !ended
        yield chunk
        if (paused) {
          paused = false
          conn.resume()
        }
      }
      if (ended && failure === undefined && collector.empty()) return fields
    }
  } finally {
    signal.removeEventListener('abort', onAbort)
    conn.off('error', onConnectionLost)
    conn.off('end', onConnectionLost)
    // Left early (break, error downstream): the rest of the result is unread; only a new
    // connection can be trusted, so the caller's connection is destroyed.
    if (!ended) conn.destroy()
  }
}

/** Streams a query's rows in chunks of row arrays (see `streamChunks`). */
export function streamRows(conn: MysqlConnection, sql: string, values: unknown[], limits: ChunkLimits, signal: AbortSignal): AsyncGenerator<RowChunk, FieldPacket[]> {
  let rows: unknown[][] = []
  let bytes = 0
  return streamChunks(
    conn,
    sql,
    values,
    {
      add(row) {
        rows.push(row)
        bytes += sizeOf(row)
      },
      full: () => rows.length >= limits.rows || bytes >= limits.bytes,
      empty: () => rows.length === 0,
      take() {
        const chunk: RowChunk = { rows, bytes }
        rows = []
        bytes = 0
        return chunk
      },
    },
    signal,
  )
}

/** The part of mysql2's row packet a row encoder reads: the payload is `buffer[offset, end)`. */
export interface RowPacket {
  buffer: Buffer
  offset: number
  end: number
}

/** What `streamCopyText` needs of an encoder of row packets into chunks of type `C`. */
export interface RowPacketEncoder<C> {
  readonly count: number
  readonly bytes: number
  row(packet: RowPacket): void
  take(): C
}

/**
 * Streams a query's rows as COPY text chunks, encoded by `encoder` straight from the row
 * packets (no row arrays), with the same backpressure as `streamRows`.
 */
export function streamCopyText<C>(
  conn: MysqlConnection,
  sql: string,
  values: unknown[],
  limits: ChunkLimits,
  encoder: RowPacketEncoder<C>,
  signal: AbortSignal,
): AsyncGenerator<C, FieldPacket[]> {
  return streamChunks(
    conn,
    sql,
    values,
    {
      rowParser: {
        next(packet) {
          encoder.row(packet)
          return null
        },
      },
      full: () => encoder.count >= limits.rows || encoder.bytes >= limits.bytes,
      empty: () => encoder.count === 0,
      take: () => encoder.take(),
    },
    signal,
  )
}
