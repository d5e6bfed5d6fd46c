import type { SourceMessage } from '../../protocol/index.js'
import { batchCutter, readCopy } from './pg-copy-read.js'
import type { PgStreamRead } from './pg-stream-read.js'

/** Full refresh: every row of the relation, no state. */
export async function* readFullRefresh(read: PgStreamRead): AsyncGenerator<SourceMessage> {
  yield* readCopy(read, `SELECT ${read.selectList} FROM ${read.table}`, batchCutter(read))
}
