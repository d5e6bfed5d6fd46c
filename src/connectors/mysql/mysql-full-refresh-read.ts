import type { SourceMessage } from '../../protocol/index.js'
import { streamCopyText, streamRows } from './mysql-client.js'
import { capturesBytes, copyTextBatch, CopyTextRowEncoder, readPlan } from './mysql-copy-text.js'
import { columnBatch, stateMessage } from './mysql-batch.js'
import { quoteIdent } from './mysql-relations.js'
import { boundExpression, boundText, type MysqlStreamRead } from './mysql-stream-read.js'
import type { MysqlColumn } from './mysql-types.js'

/** Resumable full refresh state: the primary key of the last row read (Airbyte's shape). */
interface PrimaryKeyState {
  version: 2
  state_type: 'primary_key'
  pk_name: string[]
  pk_val: string[]
}

/**
 * Full refresh. A table with a primary key is read in key ranges of `checkpointRows` rows,
 * each one indexed query, with a STATE after each range, so a retried attempt resumes after
 * the last committed range. Views and tables without a key are one streamed query. Rows go
 * as COPY text batches (`mysql-copy-text.ts`) unless a column needs the row path.
 */
export async function* readFullRefresh(read: MysqlStreamRead, saved: Record<string, unknown> | null): AsyncGenerator<SourceMessage> {
  const { relation, columns, table, options, stream } = read
  const selectList = columns.map((c) => quoteIdent(c.name))
  if (relation.primaryKey.length === 0) {
    yield* readQuery(read, `SELECT ${selectList.join(', ') || '1'} FROM ${table}`, [])
    return
  }
  const byName = new Map(relation.columns.map((c) => [c.name, c]))
  const keyColumns = relation.primaryKey.map((k) => byName.get(k)!)
  // Key columns the user did not select are read after the selected ones and not emitted.
  const keyIndex = keyColumns.map((k) => {
    const i = columns.findIndex((c) => c.name === k.name)
    if (i >= 0) return i
    selectList.push(quoteIdent(k.name))
    return selectList.length - 1
  })
  const prior = saved?.state_type === 'primary_key' && JSON.stringify(saved.pk_name) === JSON.stringify(relation.primaryKey) ? (saved as unknown as PrimaryKeyState) : undefined
  let last: string[] | undefined = prior?.pk_val
  const orderBy = keyColumns.map((k) => quoteIdent(k.name)).join(', ')
  const plan = readPlan(read)
  const limits = { rows: options.batchRows, bytes: options.batchBytes }
  // One encoder for all ranges: its output buffer, once grown to a batch, is kept.
  const encoder = plan ? new CopyTextRowEncoder(plan, columns, keyIndex, keyColumns.map(capturesBytes), false) : undefined
  for (;;) {
    const [where, values] = last === undefined ? ['', []] : afterKey(keyColumns, last)
    const sql = `SELECT ${selectList.join(', ')} FROM ${table}${where} ORDER BY ${orderBy} LIMIT ${options.checkpointRows}`
    let count = 0
    let lastKey: unknown[] | undefined
    if (plan && encoder) {
      for await (const chunk of streamCopyText(read.conn, sql, values, limits, encoder, read.run.signal)) {
        count += chunk.count
        yield copyTextBatch(stream, columns, plan, chunk.data, chunk.count, chunk.changes)
      }
      if (count > 0) lastKey = encoder.last
    } else {
      for await (const chunk of streamRows(read.conn, sql, values, limits, read.run.signal)) {
        count += chunk.rows.length
        const lastRow = chunk.rows[chunk.rows.length - 1]!
        lastKey = keyIndex.map((i) => lastRow[i])
        yield columnBatch(stream, columns, chunk.rows, chunk.bytes)
      }
    }
    if (lastKey === undefined) return
    last = keyColumns.map((k, i) => boundText(k, lastKey[i]))
    const state: PrimaryKeyState = { version: 2, state_type: 'primary_key', pk_name: relation.primaryKey, pk_val: last }
    yield stateMessage(stream, state as unknown as Record<string, unknown>)
    if (count < options.checkpointRows) return
  }
}

/** `WHERE` rows strictly after `last` in key order (expanded, so the range uses the index). */
export function afterKey(keys: MysqlColumn[], last: string[]): [string, unknown[]] {
  const terms: string[] = []
  const values: unknown[] = []
  for (let i = 0; i < keys.length; i++) {
    const parts: string[] = []
    for (let j = 0; j < i; j++) {
      parts.push(`${quoteIdent(keys[j]!.name)} = ${boundExpression(keys[j]!)}`)
      values.push(last[j])
    }
    parts.push(`${quoteIdent(keys[i]!.name)} > ${boundExpression(keys[i]!)}`)
    values.push(last[i])
    terms.push(`(${parts.join(' AND ')})`)
  }
  return [` WHERE ${terms.join(' OR ')}`, values]
}

/** One streamed query as batches, no state. */
async function* readQuery(read: MysqlStreamRead, sql: string, values: unknown[]): AsyncGenerator<SourceMessage> {
  const { options, columns, stream } = read
  const limits = { rows: options.batchRows, bytes: options.batchBytes }
  const plan = readPlan(read)
  if (plan) {
    const encoder = new CopyTextRowEncoder(plan, columns, [], [], false)
    for await (const chunk of streamCopyText(read.conn, sql, values, limits, encoder, read.run.signal)) {
      yield copyTextBatch(stream, columns, plan, chunk.data, chunk.count, chunk.changes)
    }
    return
  }
  for await (const chunk of streamRows(read.conn, sql, values, limits, read.run.signal)) {
    yield columnBatch(stream, columns, chunk.rows, chunk.bytes)
  }
}
