import ZongJi from '@vlasky/zongji'
import type { BinlogEvent, ZongJiOptions } from '@vlasky/zongji'
import { randomInt } from 'node:crypto'
import type { ColumnarRecords, RunOptions, SourceMessage } from '../../protocol/index.js'
import { streamKey } from '../../protocol/index.js'
import { cancelledError, configError } from '../../errors.js'
import { connectMysql, endMysql, queryRows, streamRows, type MysqlConnection } from './mysql-client.js'
import { columnBatch, stateMessage } from './mysql-batch.js'
import { toConnectionOptions, type MysqlSourceConfig } from './mysql-config.js'
import { fromMysqlError } from './mysql-errors.js'
import { quoteIdent } from './mysql-relations.js'
import { afterKey } from './mysql-full-refresh-read.js'
import { boundText, type MysqlStreamRead } from './mysql-stream-read.js'

/** Airbyte's CDC metadata columns of the MySQL source. */
export const CDC_COLUMNS = ['_ab_cdc_cursor', '_ab_cdc_log_file', '_ab_cdc_log_pos', '_ab_cdc_updated_at', '_ab_cdc_deleted_at']

/** A binlog coordinate. */
interface BinlogPosition {
  file: string
  pos: number
}

/**
 * Per-stream CDC state: the binlog position up to which the stream's changes are durable, and
 * while its initial snapshot runs, the primary key of the last snapshot row committed.
 */
interface CdcState {
  version: 2
  state_type: 'cdc'
  binlog_file: string
  binlog_pos: number
  snapshot_pk?: string[]
}

/** Orders binlog positions: file sequence number first, then offset. */
function comparePositions(a: BinlogPosition, b: BinlogPosition): number {
  const fa = fileSequence(a.file)
  const fb = fileSequence(b.file)
  return fa !== fb ? fa - fb : a.pos - b.pos
}

function fileSequence(file: string): number {
  const dot = file.lastIndexOf('.')
  return Number(file.slice(dot + 1)) || 0
}

/**
 * `_ab_cdc_cursor`: a number that grows with the binlog position (file sequence in the high
 * bits, offset in the low 32), so append_dedup keeps the latest change of a key.
 */
function cdcCursor(p: BinlogPosition): number {
  return fileSequence(p.file) * 2 ** 32 + p.pos
}

/**
 * What CDC needs from the server, as a message a user can act on, or undefined when all is
 * there: the binary log on, in ROW format with FULL row images, and the replication grants.
 */
export async function checkCdcPrerequisites(conn: MysqlConnection, config: MysqlSourceConfig): Promise<string | undefined> {
  const vars = await queryRows<{ Variable_name: string; Value: string }>(
    conn,
    `SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', 'binlog_row_image')`,
  )
  const v = new Map(vars.map((r) => [r.Variable_name, String(r.Value)]))
  if (v.get('log_bin') !== 'ON') {
    return 'CDC needs the binary log, and it is off (log_bin=OFF): set log_bin, binlog_format=ROW and server_id in the server configuration and restart it.'
  }
  if (v.get('binlog_format') !== 'ROW') {
    return `CDC needs binlog_format=ROW, and the server has ${v.get('binlog_format') ?? 'unknown'}: set binlog_format=ROW (SET GLOBAL binlog_format = 'ROW' and in the configuration file).`
  }
  if (v.has('binlog_row_image') && v.get('binlog_row_image') !== 'FULL') {
    return `CDC needs binlog_row_image=FULL, and the server has ${v.get('binlog_row_image')}: set binlog_row_image=FULL.`
  }
  const grants = (await queryRows<Record<string, string>>(conn, 'SHOW GRANTS FOR CURRENT_USER()')).map((r) => Object.values(r)[0] ?? '').join('\n')
  const global = grants.split('\n').filter((g) => / ON \*\.\* /.test(g)).join('\n')
  const all = /GRANT ALL PRIVILEGES ON \*\.\*/.test(global)
  const missing: string[] = []
  if (!all && !/REPLICATION SLAVE/.test(global)) missing.push('REPLICATION SLAVE')
  if (!all && !/REPLICATION CLIENT|BINLOG MONITOR|SUPER/.test(global)) missing.push('REPLICATION CLIENT')
  if (missing.length > 0) {
    return `CDC needs the ${missing.join(' and ')} privilege${missing.length > 1 ? 's' : ''} on *.*: GRANT ${missing.join(', ')} ON *.* TO '${config.username}'.`
  }
  return undefined
}

/** The current end of the binary log (`SHOW MASTER STATUS`). */
async function currentPosition(conn: MysqlConnection): Promise<BinlogPosition> {
  const [row] = await queryRows<{ File: string; Position: number | string }>(conn, 'SHOW MASTER STATUS')
  if (!row) throw configError('CDC needs the binary log, and the server reports none (SHOW MASTER STATUS is empty): enable log_bin.')
  return { file: row.File, pos: Number(row.Position) }
}

function cdcStateOf(data: Record<string, unknown> | null | undefined): CdcState | undefined {
  if (!data || data.state_type !== 'cdc' || typeof data.binlog_file !== 'string') return undefined
  return data as unknown as CdcState
}

function stateData(p: BinlogPosition, snapshotPk?: string[]): Record<string, unknown> {
  const s: CdcState = { version: 2, state_type: 'cdc', binlog_file: p.file, binlog_pos: p.pos }
  if (snapshotPk) s.snapshot_pk = snapshotPk
  return s as unknown as Record<string, unknown>
}

/** Constant-per-batch CDC columns of `count` rows. */
function cdcColumns(count: number, p: BinlogPosition, updatedAt: string, deletedAt: string | null): ColumnarRecords {
  return {
    names: CDC_COLUMNS,
    columns: [
      new Array(count).fill(cdcCursor(p)),
      new Array(count).fill(p.file),
      new Array(count).fill(p.pos),
      new Array(count).fill(updatedAt),
      new Array(count).fill(deletedAt),
    ],
  }
}

/**
 * CDC read of the incremental streams: each stream without a position gets an initial
 * snapshot (primary-key ranges in one consistent-snapshot transaction, at the binlog position
 * of that snapshot), then the binary log is read from the lowest saved position up to the
 * position taken at start (a bounded sync). STATE carries a position only at a transaction
 * boundary, and the engine saves it only after the destination committed the rows before it.
 */
export async function* readCdc(
  config: MysqlSourceConfig,
  reads: MysqlStreamRead[],
  states: Map<string, Record<string, unknown> | null>,
  opts: RunOptions,
): AsyncGenerator<SourceMessage> {
  const conn = reads[0]!.conn
  const target = await currentPosition(conn)
  const positions = new Map<string, BinlogPosition>()
  const pending: MysqlStreamRead[] = []
  const logs = (await queryRows<{ Log_name: string }>(conn, 'SHOW BINARY LOGS')).map((r) => r.Log_name)
  for (const read of reads) {
    if (read.relation.primaryKey.length === 0) {
      throw configError(`CDC needs a primary key: ${read.stream.name} has none (or is a view). Sync it with full refresh.`)
    }
    let saved = cdcStateOf(states.get(streamKey(read.stream)))
    if (saved && !logs.includes(saved.binlog_file)) {
      const behavior = config.replication_method?.invalid_cdc_cursor_position_behavior ?? 'Fail sync'
      if (behavior === 'Fail sync') {
        throw configError(
          `The saved binlog position ${saved.binlog_file}:${saved.binlog_pos} of ${read.stream.name} is no longer on the server (purged): reset the stream, or set invalid_cdc_cursor_position_behavior to "Re-sync data".`,
        )
      }
      opts.logger.warn(`The saved binlog file ${saved.binlog_file} of ${read.stream.name} was purged: re-syncing the stream from a new snapshot.`)
      saved = undefined
    }
    if (!saved || saved.snapshot_pk !== undefined) pending.push(read)
    else positions.set(streamKey(read.stream), { file: saved.binlog_file, pos: saved.binlog_pos })
  }
  for (const read of reads) yield { type: 'STREAM_STATUS', stream: read.stream, status: 'STARTED' }
  if (pending.length > 0) {
    const snap = await connectMysql(config, opts)
    try {
      for (const read of pending) {
        const saved = cdcStateOf(states.get(streamKey(read.stream)))
        const at = yield* snapshot(snap, read, saved, opts)
        positions.set(streamKey(read.stream), at)
      }
    } finally {
      await endMysql(snap)
    }
  }
  yield* readBinlog(config, reads, positions, target, opts)
  for (const read of reads) yield { type: 'STREAM_STATUS', stream: read.stream, status: 'COMPLETE' }
}

/**
 * The initial snapshot of one stream: `START TRANSACTION WITH CONSISTENT SNAPSHOT` and, on
 * MariaDB, the binlog position of exactly that snapshot (`binlog_snapshot_file/position`).
 * A resumed snapshot keeps its first position: replaying the binlog from there repairs rows
 * the two snapshots saw differently.
 */
async function* snapshot(
  conn: MysqlConnection,
  read: MysqlStreamRead,
  saved: CdcState | undefined,
  opts: RunOptions,
): AsyncGenerator<SourceMessage, BinlogPosition> {
  await queryRows(conn, 'START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY')
  try {
    const status = await queryRows<{ Variable_name: string; Value: string }>(conn, "SHOW STATUS LIKE 'binlog_snapshot_%'")
    const s = new Map(status.map((r) => [r.Variable_name, String(r.Value)]))
    const snapshotAt: BinlogPosition =
      s.get('binlog_snapshot_file') && s.get('binlog_snapshot_position')
        ? { file: s.get('binlog_snapshot_file')!, pos: Number(s.get('binlog_snapshot_position')) }
        : await currentPosition(conn)
    const at = saved ? { file: saved.binlog_file, pos: saved.binlog_pos } : snapshotAt
    const updatedAt = new Date().toISOString()
    const { relation, columns, table, options, stream } = read
    const byName = new Map(relation.columns.map((c) => [c.name, c]))
    const keys = relation.primaryKey.map((k) => byName.get(k)!)
    const selectList = columns.map((c) => quoteIdent(c.name))
    const keyIndex = keys.map((k) => {
      const i = columns.findIndex((c) => c.name === k.name)
      if (i >= 0) return i
      selectList.push(quoteIdent(k.name))
      return selectList.length - 1
    })
    let last = saved?.snapshot_pk
    const orderBy = keys.map((k) => quoteIdent(k.name)).join(', ')
    for (;;) {
      const [where, values] = last === undefined ? ['', []] : afterKey(keys, last)
      const sql = `SELECT ${selectList.join(', ')} FROM ${table}${where} ORDER BY ${orderBy} LIMIT ${options.checkpointRows}`
      let count = 0
      let lastRow: unknown[] | undefined
      for await (const chunk of streamRows(conn, sql, values, { rows: options.batchRows, bytes: options.batchBytes }, opts.signal)) {
        count += chunk.rows.length
        lastRow = chunk.rows[chunk.rows.length - 1]
        yield columnBatch(stream, columns, chunk.rows, chunk.bytes, cdcColumns(chunk.rows.length, at, updatedAt, null))
      }
      if (lastRow === undefined || count < options.checkpointRows) break
      last = keyIndex.map((i, k) => boundText(keys[k]!, lastRow[i]))
      yield stateMessage(stream, stateData(at, last))
    }
    yield stateMessage(stream, stateData(at))
    return at
  } finally {
    await queryRows(conn, 'COMMIT')
  }
}

/** One stream's changes collected between two transaction boundaries. */
interface PendingRows {
  read: MysqlStreamRead
  rows: unknown[][]
  positions: BinlogPosition[]
  updatedAt: string[]
  deletedAt: (string | null)[]
  bytes: number
}

interface RowsEventLike extends BinlogEvent {
  tableId: number
  tableMap: Record<number, { parentSchema: string; tableName: string }>
  rows: Record<string, unknown>[] | { before: Record<string, unknown>; after: Record<string, unknown> }[]
}

/**
 * Reads the binary log from the lowest stream position to `target` with the binlog client
 * (`@vlasky/zongji` over mysql2), pausing its socket while a batch is handed on. Changes a
 * stream already has (at or before its own position) are skipped.
 */
async function* readBinlog(
  config: MysqlSourceConfig,
  reads: MysqlStreamRead[],
  positions: Map<string, BinlogPosition>,
  target: BinlogPosition,
  opts: RunOptions,
): AsyncGenerator<SourceMessage> {
  let start: BinlogPosition | undefined
  for (const p of positions.values()) if (!start || comparePositions(p, start) < 0) start = p
  if (!start || comparePositions(start, target) >= 0) return
  const database = config.database
  const byTable = new Map(reads.map((r) => [r.stream.name, r]))
  const options = reads[0]!.options
  const zongji = new ZongJi({ ...toConnectionOptions(config, opts.logger) })
  const queue: (SourceMessage | Error | 'end')[] = []
  let wake: (() => void) | undefined
  const push = (m: SourceMessage | Error | 'end'): void => {
    queue.push(m)
    const w = wake
    wake = undefined
    w?.()
  }
  let file = start.file
  const pendingByStream = new Map<string, PendingRows>()
  let pendingRows = 0
  let done = false
  const flush = (at: BinlogPosition): void => {
    for (const p of pendingByStream.values()) {
      if (p.rows.length === 0) continue
      const extra: ColumnarRecords = {
        names: CDC_COLUMNS,
        columns: [p.positions.map(cdcCursor), p.positions.map((x) => x.file), p.positions.map((x) => x.pos), p.updatedAt, p.deletedAt],
      }
      push(columnBatch(p.read.stream, p.read.columns, p.rows, p.bytes, extra))
    }
    pendingByStream.clear()
    pendingRows = 0
    for (const r of reads) {
      const own = positions.get(streamKey(r.stream))!
      if (comparePositions(at, own) > 0) {
        positions.set(streamKey(r.stream), at)
        push(stateMessage(r.stream, stateData(at)))
      }
    }
  }
  // A bounded sync whose target never shows up (e.g. the server filtered the last event)
  // stops after initial_waiting_seconds without events, at the last committed boundary.
  const waitMs = (config.replication_method?.initial_waiting_seconds ?? 300) * 1000
  let idle: NodeJS.Timeout | undefined
  const armIdle = (): void => {
    clearTimeout(idle)
    idle = setTimeout(() => {
      opts.logger.warn(`No binlog event for ${waitMs / 1000} s before reaching ${target.file}:${target.pos}: the sync stops at the last committed transaction.`)
      done = true
      push('end')
    }, waitMs)
  }
  const onEvent = (evt: BinlogEvent): void => {
    if (done) return
    armIdle()
    const name = evt.getEventName()
    if (name === 'rotate') {
      file = (evt as unknown as { binlogName: string }).binlogName
      return
    }
    const at: BinlogPosition = { file, pos: evt.nextPosition }
    if (name === 'writerows' || name === 'updaterows' || name === 'deleterows') {
      const e = evt as RowsEventLike
      const table = e.tableMap[e.tableId]
      const read = table && table.parentSchema === database ? byTable.get(table.tableName) : undefined
      if (!read || comparePositions(at, positions.get(streamKey(read.stream))!) <= 0) return
      let p = pendingByStream.get(streamKey(read.stream))
      if (!p) {
        p = { read, rows: [], positions: [], updatedAt: [], deletedAt: [], bytes: 0 }
        pendingByStream.set(streamKey(read.stream), p)
      }
      const when = new Date(evt.timestamp).toISOString()
      for (const row of e.rows) {
        const image = name === 'updaterows' ? (row as { after: Record<string, unknown> }).after : (row as Record<string, unknown>)
        const values = read.columns.map((c) => image[c.name] ?? null)
        p.rows.push(values)
        p.positions.push(at)
        p.updatedAt.push(when)
        p.deletedAt.push(name === 'deleterows' ? when : null)
        p.bytes += 64
        pendingRows++
      }
      return
    }
    const boundary = name === 'xid' || (name === 'query' && !/^\s*BEGIN/i.test(String((evt as unknown as { query?: string }).query ?? '')))
    if (!boundary) return
    if (pendingRows >= options.batchRows || comparePositions(at, target) >= 0) flush(at)
    if (comparePositions(at, target) >= 0) {
      done = true
      push('end')
    } else if (queue.length > 2) {
      // Backpressure: stop reading the socket until the consumer took the queued messages.
      zongji.connection?.pause()
      clearTimeout(idle)
    }
  }
  zongji.on('binlog', onEvent)
  zongji.on('error', (err: unknown) => push(err instanceof Error ? err : new Error(String(err))))
  const onAbort = (): void => push(cancelledError())
  opts.signal.addEventListener('abort', onAbort, { once: true })
  const startOptions: ZongJiOptions = {
    serverId: randomInt(1_000_000, 2 ** 31 - 1),
    filename: start.file,
    position: start.pos,
    includeEvents: ['rotate', 'tablemap', 'writerows', 'updaterows', 'deleterows', 'xid', 'query'],
    includeSchema: { [database]: [...byTable.keys()] },
  }
  zongji.start(startOptions)
  armIdle()
  try {
    for (;;) {
      if (queue.length === 0) {
        zongji.connection?.resume()
        if (!done) armIdle()
        await new Promise<void>((resolve) => {
          wake = resolve
        })
      }
      const m = queue.shift()!
      if (m === 'end') return
      if (m instanceof Error) throw fromMysqlError(m)
      yield m
    }
  } finally {
    done = true
    clearTimeout(idle)
    opts.signal.removeEventListener('abort', onAbort)
    zongji.stop()
  }
}
