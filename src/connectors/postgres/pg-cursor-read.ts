import { cursorBasedState, savedCursorState, type SourceMessage } from '../../protocol/index.js'
import { configError } from '../../errors.js'
import { copyBatch, fieldDecoders, readCopy, stateMessage, type CopyCutter } from './pg-copy-read.js'
import { copyFieldAt, unescapeCopy } from '../../formats/copy-text.js'
import type { PgStreamRead } from './pg-stream-read.js'

/** Tracks the cursor column while COPY text streams by (rows arrive ordered by the cursor). */
interface CursorTracker {
  index: number
  value: Buffer | undefined
  count: number
}

/**
 * Cursor incremental: the rows past the saved cursor, ordered by the cursor column, with a
 * STATE every `checkpointRows` rows or more (cut only where the cursor value increases, never
 * inside a tie) and a final one.
 */
export async function* readCursorIncremental(read: PgStreamRead, saved: Record<string, unknown> | null): AsyncGenerator<SourceMessage> {
  const { client, columns, label, table, stream } = read
  const cursorPath = read.configured.cursorField
  if (cursorPath.length !== 1) {
    throw configError(`Incremental sync of ${label} needs exactly one top-level cursor column (got ${JSON.stringify(cursorPath)}).`)
  }
  const cursorName = cursorPath[0]!
  const cursorIndex = columns.findIndex((c) => c.name === cursorName)
  if (cursorIndex < 0) throw configError(`Cursor column "${cursorName}" is not a selected column of ${label}.`)
  const cursorCol = columns[cursorIndex]!
  // The selected expression (money is compared as numeric, like its values and its state).
  const cursorSql = read.selected[cursorIndex]!.expr
  const cursorType = cursorCol.baseType === 'numeric' && cursorCol.pgType.startsWith('numeric') ? 'numeric' : cursorCol.pgType
  const hasNull = await client.query(`SELECT 1 FROM ${table} WHERE ${cursorSql} IS NULL LIMIT 1`)
  if (hasNull.rowCount) {
    throw configError(
      `Cursor column "${cursorName}" of ${label} contains NULL values: rows with a NULL cursor can never be synced incrementally. Choose a NOT NULL cursor column or fill the NULLs.`,
    )
  }
  const prior = savedCursorState(saved)
  const sameCursor = prior !== undefined && JSON.stringify(prior.cursor_field) === JSON.stringify([cursorName])
  let where = ''
  if (prior && sameCursor) {
    await client.query(`SELECT set_config('sluice.cursor', $1, false)`, [prior.cursor])
    const bound = `current_setting('sluice.cursor')::${cursorType}`
    let op = '>'
    if ((prior.cursor_record_count ?? 0) > 0) {
      const live = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE ${cursorSql} = ${bound}`)
      if (Number(live.rows[0]?.n ?? 0) !== prior.cursor_record_count) op = '>='
    }
    where = ` WHERE ${cursorSql} ${op} ${bound}`
  }
  const tracker: CursorTracker = { index: cursorIndex, value: undefined, count: 0 }
  const makeState = (): Record<string, unknown> => cursorBasedState(stream, cursorName, tracker.value ? { cursor: unescapeCopy(tracker.value.toString('utf8')), count: tracker.count } : undefined, prior)
  const sql = `SELECT ${read.selectList} FROM ${table}${where} ORDER BY ${cursorSql} ASC`
  yield* readCopy(read, sql, cursorCutter(read, tracker, makeState))
  if (tracker.value || prior) yield stateMessage(stream, makeState())
}

/**
 * Splits complete COPY lines into batches and checkpoints: a STATE is cut before the first
 * row whose cursor is greater than the previous one, once enough rows passed since the last.
 */
function cursorCutter(read: PgStreamRead, t: CursorTracker, makeState: () => Record<string, unknown>): CopyCutter {
  const { stream, columns } = read
  const { checkpointRows } = read.options
  const decoders = fieldDecoders(columns)
  let since = 0
  return function* cut(data) {
    let batchStart = 0
    let rows = 0
    for (let start = 0; start < data.length; ) {
      const nl = data.indexOf(10, start)
      const end = nl === -1 ? data.length : nl
      const value = copyFieldAt(data, start, end, t.index)
      if (t.value !== undefined && value.equals(t.value)) {
        t.count++
      } else {
        if (t.value !== undefined && since >= checkpointRows) {
          if (rows > 0) yield copyBatch(stream, columns, decoders, Buffer.from(data.subarray(batchStart, start)), rows)
          yield stateMessage(stream, makeState())
          batchStart = start
          rows = 0
          since = 0
        }
        t.value = Buffer.from(value)
        t.count = 1
      }
      rows++
      since++
      start = end + 1
    }
    if (rows > 0) yield copyBatch(stream, columns, decoders, data.subarray(batchStart), rows)
  }
}
