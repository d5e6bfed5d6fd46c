import type { SourceMessage } from '../../protocol/index.js'
import { copyFieldAt, countCopyRows, unescapeCopy } from '../../formats/copy-text.js'
import { copyBatch, fieldDecoders, readCopy, stateMessage, type CopyCutter } from './pg-copy-read.js'
import { parseLsn } from './pg-replication-stream.js'
import type { PgColumn } from './pg-source-types.js'
import type { PgStreamRead } from './pg-stream-read.js'

/** The change columns every CDC record carries (Airbyte's names and types). */
export const CDC_META_COLUMNS: readonly PgColumn[] = [
  { name: '_ab_cdc_lsn', pgType: 'bigint', baseType: 'int8', isArray: false },
  { name: '_ab_cdc_updated_at', pgType: 'text', baseType: 'text', isArray: false },
  { name: '_ab_cdc_deleted_at', pgType: 'text', baseType: 'text', isArray: false },
]

/** Their JSON schema in discover (as Airbyte's source-postgres declares them). */
export const CDC_META_SCHEMA: Readonly<Record<string, unknown>> = {
  _ab_cdc_lsn: { type: 'number', airbyte_type: 'integer' },
  _ab_cdc_updated_at: { type: 'string' },
  _ab_cdc_deleted_at: { type: 'string' },
}

/** Whether a property is one of the change columns (not a table column). */
export function isCdcMetaColumn(name: string): boolean {
  return name in CDC_META_SCHEMA
}

/** An initial snapshot in progress. */
export interface CdcSnapshotState {
  /** The `_ab_cdc_lsn` of snapshot rows: the slot's restart_lsn when the snapshot began, below every streamed change. */
  label_lsn: string
  /** `_ab_cdc_updated_at` of snapshot rows. */
  started_at: string
  /** Primary-key values (text) of the last row copied; null before the first chunk. */
  after: string[] | null
}

/**
 * CDC state of one stream (STREAM type): `lsn` is where its changes resume (commits at or
 * after it are still to be read); `snapshot` is present while the initial copy is incomplete.
 */
export interface CdcStreamState {
  version: 2
  state_type: 'cdc'
  lsn: string
  snapshot?: CdcSnapshotState
}

/** The saved state if it is a CDC state. */
export function cdcStateOf(saved: Record<string, unknown> | null): CdcStreamState | undefined {
  if (!saved || saved.state_type !== 'cdc' || typeof saved.lsn !== 'string') return undefined
  return saved as unknown as CdcStreamState
}

/**
 * Copies a table for its initial snapshot in primary-key order, `chunkRows` rows per
 * `COPY (... WHERE key > last ORDER BY key LIMIT n)`, with a STATE after each chunk, so a retried
 * sync resumes after the last chunk. Tables whose key is not selected (or that have none) are
 * copied in one piece. Returns the state with the snapshot removed (the caller emits it).
 *
 * The chunks need not share one database snapshot: the change stream replays every commit
 * since `state.lsn`, taken before the first chunk, so a row changed between two chunks arrives
 * again as a change with a higher `_ab_cdc_lsn` than the snapshot rows.
 */
export async function* readCdcSnapshot(
  read: PgStreamRead,
  state: CdcStreamState & { snapshot: CdcSnapshotState },
  chunkRows: number,
): AsyncGenerator<SourceMessage, CdcStreamState> {
  const { client, table, stream } = read
  const snapshot = { ...state.snapshot }
  await client.query(`SELECT set_config('sluice.cdc_lsn', $1, false), set_config('sluice.cdc_at', $2, false)`, [
    String(parseLsn(snapshot.label_lsn)),
    snapshot.started_at,
  ])
  const columns = [...read.columns, ...CDC_META_COLUMNS]
  const select =
    `${read.selectList}, current_setting('sluice.cdc_lsn')::bigint AS "_ab_cdc_lsn", ` +
    `current_setting('sluice.cdc_at') AS "_ab_cdc_updated_at", NULL::text AS "_ab_cdc_deleted_at"`
  const keyIndexes = read.relation.primaryKey.map((k) => read.columns.findIndex((c) => c.name === k))
  const chunked = keyIndexes.length > 0 && keyIndexes.every((i) => i >= 0)
  const decoders = fieldDecoders(columns)
  if (!chunked) {
    const cut: CopyCutter = (data) => [copyBatch(stream, columns, decoders, data, countCopyRows(data))]
    yield* readCopy(read, `SELECT ${select} FROM ${table}`, cut)
    return { version: 2, state_type: 'cdc', lsn: state.lsn }
  }
  const keyExprs = keyIndexes.map((i) => read.selected[i]!.expr)
  const keyTypes = keyIndexes.map((i) => read.columns[i]!.pgType)
  const orderBy = keyExprs.join(', ')
  for (;;) {
    let where = ''
    if (snapshot.after) {
      const bounds: string[] = []
      for (let k = 0; k < keyExprs.length; k++) {
        await client.query(`SELECT set_config($1, $2, false)`, [`sluice.cdc_key${k}`, snapshot.after[k]])
        bounds.push(`current_setting(${quoteLiteral(`sluice.cdc_key${k}`)})::${keyTypes[k]}`)
      }
      where = ` WHERE (${orderBy}) > (${bounds.join(', ')})`
    }
    let rows = 0
    let last: Buffer | undefined
    const cut: CopyCutter = (data) => {
      const n = countCopyRows(data)
      rows += n
      const end = data.length - 1
      const start = data.lastIndexOf(10, end - 1) + 1
      last = Buffer.from(data.subarray(start, end))
      return [copyBatch(stream, columns, decoders, data, n)]
    }
    yield* readCopy(read, `SELECT ${select} FROM ${table}${where} ORDER BY ${orderBy} LIMIT ${chunkRows}`, cut)
    if (rows < chunkRows || !last) return { version: 2, state_type: 'cdc', lsn: state.lsn }
    const line = last
    snapshot.after = keyIndexes.map((i) => unescapeCopy(copyFieldAt(line, 0, line.length, i).toString('utf8')))
    const next: CdcStreamState = { version: 2, state_type: 'cdc', lsn: state.lsn, snapshot: { ...snapshot } }
    yield stateMessage(stream, next as unknown as Record<string, unknown>)
  }
}

function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`
}
