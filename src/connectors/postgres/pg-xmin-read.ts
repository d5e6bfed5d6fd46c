import type { SourceMessage } from '../../protocol/index.js'
import { configError } from '../../errors.js'
import { batchCutter, readCopy, stateMessage } from './pg-copy-read.js'
import type { PgStreamRead } from './pg-stream-read.js'

/** Xmin state (Airbyte source-postgres 3.x shape). */
interface XminState {
  version: 2
  state_type: 'xmin'
  num_wraparound: number
  xmin_xid_value: number
  xmin_raw_value: number
}

/**
 * Xmin incremental: the rows whose `xmin` is at or after the snapshot xmin of the previous
 * sync, then a STATE holding the current snapshot xmin. Tables only (views have no xmin).
 */
export async function* readXmin(read: PgStreamRead, saved: Record<string, unknown> | null): AsyncGenerator<SourceMessage> {
  const { client, relation } = read
  if (relation.relkind !== 'r' && relation.relkind !== 'p') {
    throw configError(`${read.label} is a view: with the Xmin method it supports full_refresh only.`)
  }
  const snap = await client.query<{ xmin: string }>(`SELECT txid_snapshot_xmin(txid_current_snapshot())::text AS xmin`)
  const raw = BigInt(snap.rows[0]!.xmin)
  const next: XminState = {
    version: 2,
    state_type: 'xmin',
    num_wraparound: Number(raw >> 32n),
    xmin_xid_value: Number(raw & 0xffffffffn),
    xmin_raw_value: Number(raw),
  }
  const prior = saved && saved.state_type === 'xmin' ? (saved as unknown as XminState) : undefined
  let where = ''
  // A changed wraparound count makes 32-bit xids incomparable: read everything again.
  if (prior && prior.num_wraparound === next.num_wraparound) {
    await client.query(`SELECT set_config('sluice.xmin', $1, false)`, [String(prior.xmin_xid_value)])
    // >= : rows of a transaction still open at the previous snapshot carry exactly that xid.
    where = ` WHERE xmin::text::bigint >= current_setting('sluice.xmin')::bigint`
  }
  yield* readCopy(read, `SELECT ${read.selectList} FROM ${read.table}${where}`, batchCutter(read))
  yield stateMessage(read.stream, next as unknown as Record<string, unknown>)
}
