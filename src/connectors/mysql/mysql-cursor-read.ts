import { cursorBasedState, savedCursorState, type RecordBatch, type RecordChange, type SourceMessage } from '../../protocol/index.js'
import { configError } from '../../errors.js'
import { queryRows, streamCopyText, streamRows } from './mysql-client.js'
import { capturesBytes, copyTextBatch, CopyTextRowEncoder, readPlan } from './mysql-copy-text.js'
import { columnBatch, stateMessage } from './mysql-batch.js'
import { quoteIdent } from './mysql-relations.js'
import { boundExpression, boundText, type MysqlStreamRead } from './mysql-stream-read.js'

/**
 * Cursor incremental: the rows past the saved cursor, ordered by the cursor column, in one
 * streamed query. `>` when the rows at the saved cursor are still the ones counted, `>=` when
 * their number changed (rows added at the same cursor value are re-read rather than lost). A
 * STATE is cut every `checkpointRows` rows or more, only where the cursor value increases.
 */
export async function* readCursorIncremental(read: MysqlStreamRead, saved: Record<string, unknown> | null): AsyncGenerator<SourceMessage> {
  const { conn, columns, table, stream, options } = read
  const label = `${stream.namespace ?? ''}.${stream.name}`
  const cursorPath = read.configured.cursorField
  if (cursorPath.length !== 1) {
    throw configError(`Incremental sync of ${label} needs exactly one top-level cursor column (got ${JSON.stringify(cursorPath)}).`)
  }
  const cursorName = cursorPath[0]!
  const cursorIndex = columns.findIndex((c) => c.name === cursorName)
  if (cursorIndex < 0) throw configError(`Cursor column "${cursorName}" is not a selected column of ${label}.`)
  const cursorCol = columns[cursorIndex]!
  const cursorSql = quoteIdent(cursorName)
  const hasNull = await queryRows(conn, `SELECT 1 FROM ${table} WHERE ${cursorSql} IS NULL LIMIT 1`)
  if (hasNull.length > 0) {
    throw configError(
      `Cursor column "${cursorName}" of ${label} contains NULL values: rows with a NULL cursor can never be synced incrementally. Choose a NOT NULL cursor column or fill the NULLs.`,
    )
  }
  const prior = savedCursorState(saved)
  const sameCursor = prior !== undefined && JSON.stringify(prior.cursor_field) === JSON.stringify([cursorName])
  let where = ''
  const values: unknown[] = []
  if (prior && sameCursor) {
    const bound = boundExpression(cursorCol)
    let op = '>'
    if ((prior.cursor_record_count ?? 0) > 0) {
      const [live] = await queryRows<{ n: number | string }>(conn, `SELECT COUNT(*) AS n FROM ${table} WHERE ${cursorSql} = ${bound}`, [prior.cursor])
      if (Number(live?.n ?? 0) !== prior.cursor_record_count) op = '>='
    }
    where = ` WHERE ${cursorSql} ${op} ${bound}`
    values.push(prior.cursor)
  }
  let value: unknown
  let hasValue = false
  let count = 0
  const makeState = (): Record<string, unknown> => cursorBasedState(stream, cursorName, hasValue ? { cursor: boundText(cursorCol, value), count } : undefined, prior)
  const selectList = columns.map((c) => quoteIdent(c.name)).join(', ')
  const sql = `SELECT ${selectList} FROM ${table}${where} ORDER BY ${cursorSql} ASC`
  let since = 0
  for await (const chunk of cursorChunks(read, sql, values, cursorIndex)) {
    let start = 0
    for (let r = 0; r < chunk.count; r++) {
      const v = chunk.cursor(r)
      if (hasValue && sameValue(v, value)) {
        count++
      } else {
        // A checkpoint goes before the first row of a new cursor value, never inside a tie.
        if (hasValue && since >= options.checkpointRows) {
          if (r > start) yield chunk.batch(start, r)
          yield stateMessage(stream, makeState())
          start = r
          since = 0
        }
        value = v
        hasValue = true
        count = 1
      }
      since++
    }
    if (start < chunk.count) yield chunk.batch(start, chunk.count)
  }
  if (hasValue || prior) yield stateMessage(stream, makeState())
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b)
  return a === b
}

/** A run of rows of a cursor read: the cursor value of each row, and batches of row ranges. */
interface CursorChunk {
  count: number
  cursor(row: number): unknown
  batch(from: number, to: number): RecordBatch
}

/** The read's rows as COPY text chunks, or as row arrays when a column needs the row path. */
async function* cursorChunks(read: MysqlStreamRead, sql: string, values: unknown[], cursorIndex: number): AsyncGenerator<CursorChunk> {
  const { conn, columns, stream, options } = read
  const limits = { rows: options.batchRows, bytes: options.batchBytes }
  const plan = readPlan(read)
  if (plan) {
    const encoder = new CopyTextRowEncoder(plan, columns, [cursorIndex], [capturesBytes(columns[cursorIndex]!)], true)
    for await (const chunk of streamCopyText(conn, sql, values, limits, encoder, read.run.signal)) {
      yield {
        count: chunk.count,
        cursor: (r) => chunk.rowValues[r]![0],
        batch(from, to) {
          if (from === 0 && to === chunk.count) return copyTextBatch(stream, columns, plan, chunk.data, chunk.count, chunk.changes)
          const data = chunk.data.subarray(from === 0 ? 0 : chunk.lineEnds[from - 1]!, chunk.lineEnds[to - 1]!)
          let changes: Map<number, RecordChange[]> | undefined
          for (const [r, list] of chunk.changes ?? []) {
            if (r < from || r >= to) continue
            changes ??= new Map()
            changes.set(r - from, list)
          }
          return copyTextBatch(stream, columns, plan, data, to - from, changes)
        },
      }
    }
    return
  }
  for await (const chunk of streamRows(conn, sql, values, limits, read.run.signal)) {
    const rows = chunk.rows
    yield {
      count: rows.length,
      cursor: (r) => rows[r]![cursorIndex],
      batch: (from, to) => {
        const part = from === 0 && to === rows.length ? rows : rows.slice(from, to)
        return columnBatch(stream, columns, part, Math.round((chunk.bytes * part.length) / rows.length))
      },
    }
  }
}
