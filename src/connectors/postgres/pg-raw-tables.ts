import { randomUUID } from 'node:crypto'
import type { RecordBatch } from '../../protocol/index.js'
import { escapeCopy } from '../../formats/copy-text.js'
import { qualified, quoteIdent, quoteLiteral } from './pg-identifiers.js'

/** Where a stream's Destinations V2 raw table lives; `target` is the table this write fills. */
export interface RawTablePlan {
  schema: string
  /** The real raw table. */
  table: string
  /** `table`, or its `_airbyte_tmp` twin for truncate syncs (swapped in on COMPLETE). */
  target: string
}

/** The columns of a raw table, in COPY order (semantics §3.1). */
export const RAW_COLUMNS = [
  '_airbyte_raw_id',
  '_airbyte_data',
  '_airbyte_extracted_at',
  '_airbyte_loaded_at',
  '_airbyte_meta',
  '_airbyte_generation_id',
] as const

/**
 * DDL of a raw table, then of its primary key and two secondary indexes (extraction time;
 * load state), which a truncate sync builds only once its rows are in.
 */
export function createRawTableSql(schema: string, table: string): string[] {
  const t = qualified(schema, table)
  return [
    `CREATE TABLE ${t} (_airbyte_raw_id character varying(36) NOT NULL, _airbyte_data jsonb NOT NULL, ` +
      `_airbyte_extracted_at timestamp with time zone NOT NULL, _airbyte_loaded_at timestamp with time zone, ` +
      `_airbyte_meta jsonb NOT NULL, _airbyte_generation_id bigint)`,
    `ALTER TABLE ${t} ADD PRIMARY KEY (_airbyte_raw_id)`,
    `CREATE INDEX ON ${t} (_airbyte_extracted_at)`,
    `CREATE INDEX ON ${t} (_airbyte_loaded_at, _airbyte_extracted_at)`,
  ]
}

/** Raw rows that are CDC deletes, which every typing run of a dedup stream takes again. */
export const TOMBSTONE_PREDICATE = `(_airbyte_data ->> '_ab_cdc_deleted_at') IS NOT NULL`

/** A partial index on the CDC deletes, so taking them again does not scan the raw table. */
export function tombstoneIndexSql(schema: string, table: string): string {
  return `CREATE INDEX ON ${qualified(schema, table)} (_airbyte_extracted_at) WHERE ${TOMBSTONE_PREDICATE}`
}

/**
 * A record as the `_airbyte_data` JSON text. Postgres cannot store NUL characters, so they are
 * removed from string values (as Airbyte does); lone UTF-16 surrogates, which jsonb rejects,
 * become U+FFFD (as in the UTF-8 text of the Direct Load path); big integers keep their digits.
 */
export function rawDataJson(row: Record<string, unknown>): string {
  let json: string
  try {
    json = JSON.stringify(row)
  } catch (err) {
    if (!(err instanceof TypeError)) throw err
    json = JSON.stringify(row, jsonReplacer)
  }
  // Both only appear escaped; the rare hit (it may be an escaped backslash) re-encodes exactly.
  return json.includes('\\u0000') || json.includes('\\ud') ? JSON.stringify(row, jsonReplacer) : json
}

/** A UTF-16 surrogate without its partner. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'string') return value.replace(/\u0000/g, '').replace(LONE_SURROGATE, '\uFFFD')
  if (typeof value === 'bigint') return value.toString()
  return value
}

/** Size (UTF-16 units, about bytes) of the COPY text pieces encodeRawRows hands out. */
const RAW_PIECE_BYTES = 1 << 20

/**
 * COPY text (all six raw columns) of one batch, in pieces of about 1 MB so a batch is never
 * held twice as text: a fresh UUID per row, `_airbyte_loaded_at` = `loadMark`.
 */
export function* encodeRawRows(batch: RecordBatch, syncId: number, generationId: number, loadMark: string): Generator<Buffer> {
  const rows = batch.rows()
  const tail = `\t${new Date(batch.emittedAt).toISOString()}\t${loadMark}\t`
  const plainMeta = `${escapeCopy(JSON.stringify({ changes: [], sync_id: syncId }))}\t${generationId}\n`
  let piece = ''
  for (let r = 0; r < rows.length; r++) {
    const changes = batch.changes?.get(r)
    const meta = changes && changes.length > 0 ? `${escapeCopy(JSON.stringify({ changes, sync_id: syncId }))}\t${generationId}\n` : plainMeta
    piece += `${randomUUID()}\t${escapeCopy(rawDataJson(rows[r]!))}${tail}${meta}`
    if (piece.length >= RAW_PIECE_BYTES) {
      yield Buffer.from(piece, 'utf8')
      piece = ''
    }
  }
  if (piece.length > 0) yield Buffer.from(piece, 'utf8')
}

/** A final column as the pending-rows relation needs it. */
export interface RawColumn {
  /** Property name in `_airbyte_data`. */
  source: string
  /** Staging column name the value's text takes (the typing step reads that name). */
  stage: string
  /** The staging text is parsed as jsonb (objects, arrays, unknown types). */
  json: boolean
}

/** Which raw rows a typing run takes. */
export interface PendingRawRows {
  /** Rows COPYed by this run's transaction carry this `_airbyte_loaded_at`. */
  mark: string | undefined
  /** Also rows left untyped by earlier writes (`_airbyte_loaded_at` NULL). */
  unloaded: boolean
  /**
   * Also already-typed CDC deletes, so they remove rows of their key that arrive after them
   * (semantics §3.5 step 1).
   */
  tombstones: boolean
}

/**
 * The raw rows awaiting typing as a relation shaped like the staging table the typing step
 * reads (values as text, JSON columns as JSON text), so they are typed straight from the raw
 * table. `_sluice_seq` orders rows of equal extraction time by arrival (dedup tie-break).
 * New rows and CDC deletes are two branches so each is read through its own index.
 */
export function pendingRawRelation(raw: RawTablePlan, columns: readonly RawColumn[], pending: PendingRawRows, withSeq: boolean): string {
  const table = qualified(raw.schema, raw.target)
  const select = `SELECT _airbyte_data, _airbyte_raw_id, _airbyte_extracted_at, _airbyte_meta, ctid AS _row FROM ${table}`
  const fresh = [
    ...(pending.mark ? [`_airbyte_loaded_at = ${quoteLiteral(pending.mark)}`] : []),
    ...(pending.unloaded ? ['_airbyte_loaded_at IS NULL'] : []),
  ]
  const branches = fresh.length > 0 ? [`${select} WHERE ${fresh.join(' OR ')}`] : []
  if (pending.tombstones) {
    const notFresh = pending.mark ? ` AND _airbyte_loaded_at <> ${quoteLiteral(pending.mark)}` : ''
    branches.push(`${select} WHERE ${TOMBSTONE_PREDICATE} AND _airbyte_loaded_at IS NOT NULL${notFresh}`)
  }
  if (branches.length === 0) branches.push(`${select} WHERE false`)
  const values = columns.map(
    (c) =>
      (c.json ? `NULLIF(_airbyte_data -> ${quoteLiteral(c.source)}, 'null'::jsonb)::text` : `_airbyte_data ->> ${quoteLiteral(c.source)}`) +
      ` AS ${quoteIdent(c.stage)}`,
  )
  const meta = [
    '_airbyte_raw_id AS _sluice_raw_id',
    '(extract(epoch FROM _airbyte_extracted_at) * 1000)::bigint AS _sluice_extracted_at',
    `NULLIF(_airbyte_meta -> 'changes', '[]'::jsonb)::text AS _sluice_changes`,
    `${withSeq ? 'row_number() OVER (ORDER BY _airbyte_extracted_at, _row)' : '0'} AS _sluice_seq`,
  ]
  return `(SELECT ${[...values, ...meta].join(', ')} FROM (${branches.join(' UNION ALL ')}) r)`
}
