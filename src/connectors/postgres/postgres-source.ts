import { to as copyTo } from 'pg-copy-streams'
import type {
  AirbyteCatalog,
  AirbyteStream,
  ColumnarRecords,
  ConfiguredCatalog,
  ConfiguredStream,
  ConnectionStatus,
  ConnectorConfig,
  RecordBatch,
  RecordData,
  RunOptions,
  Source,
  SourceMessage,
  StateMessage,
  StreamDescriptor,
} from '../../protocol/index.js'
import { streamKey, streamLabel } from '../../protocol/index.js'
import { cancelledError, configError, isSluiceError } from '../../errors.js'
import { errorContext, replicationMethodOf, validateSourceConfig, type PostgresSourceConfig } from './postgres-config.js'
import { fromPgError } from './postgres-errors.js'
import { postgresSourceSpec } from './postgres-spec.js'
import { connectPg, destroyPg, endPg, type PgClient } from './pg-client.js'
import { countRows, decodeColumns, fieldDecoder, jsonSchemaOf, unescapeCopy, type FieldDecoder, type PgColumn } from './pg-copy-text.js'
import { qualified, quoteIdent } from './pg-identifiers.js'

/** Tuning knobs of the source (tests lower them to exercise batching and checkpoints). */
export interface PostgresSourceOptions {
  /** Target size of one record batch in COPY text bytes. */
  batchBytes: number
  /** Minimum rows between intermediate cursor checkpoints. */
  checkpointRows: number
}

const DEFAULT_OPTIONS: PostgresSourceOptions = { batchBytes: 2 * 1024 * 1024, checkpointRows: 100_000 }

interface RelationInfo {
  schema: string
  name: string
  relkind: string
  columns: PgColumn[]
  primaryKey: string[]
}

/** Cursor state (Airbyte source-postgres 3.x shape, semantics §4.5). */
interface CursorState {
  version: 2
  state_type: 'cursor_based'
  stream_name: string
  stream_namespace: string
  cursor_field: string[]
  cursor: string
  cursor_record_count: number
}

interface XminState {
  version: 2
  state_type: 'xmin'
  num_wraparound: number
  xmin_xid_value: number
  xmin_raw_value: number
}

const COLUMNS_SQL = `
SELECT n.nspname AS schema, c.relname AS name, c.relkind AS relkind, a.attname AS column,
       format_type(a.atttypid, a.atttypmod) AS pg_type,
       COALESCE(et.typname, bt.typname, t.typname) AS base_type,
       (t.typcategory = 'A') AS is_array,
       CASE WHEN COALESCE(et.typname, t.typname) = 'numeric' AND a.atttypmod > 4
            THEN (a.atttypmod - 4) & 65535 END AS numeric_scale
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type et ON t.typcategory = 'A' AND et.oid = t.typelem
LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
WHERE n.nspname = ANY($1::text[])
  AND ($2::text IS NULL OR c.relname = $2)
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND NOT c.relispartition
  AND has_table_privilege(c.oid, 'SELECT')
ORDER BY n.nspname, c.relname, a.attnum`

const PK_SQL = `
SELECT n.nspname AS schema, c.relname AS name, a.attname AS column
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey)
WHERE i.indisprimary AND n.nspname = ANY($1::text[]) AND ($2::text IS NULL OR c.relname = $2)
ORDER BY n.nspname, c.relname, array_position(i.indkey::int2[], a.attnum)`

async function loadRelations(client: PgClient, schemas: string[], table?: string): Promise<RelationInfo[]> {
  const cols = await client.query<{
    schema: string
    name: string
    relkind: string
    column: string
    pg_type: string
    base_type: string
    is_array: boolean
    numeric_scale: number | null
  }>(COLUMNS_SQL, [schemas, table ?? null])
  const pks = await client.query<{ schema: string; name: string; column: string }>(PK_SQL, [schemas, table ?? null])
  const byKey = new Map<string, RelationInfo>()
  for (const r of cols.rows) {
    const key = streamKey({ namespace: r.schema, name: r.name })
    let rel = byKey.get(key)
    if (!rel) {
      rel = { schema: r.schema, name: r.name, relkind: r.relkind, columns: [], primaryKey: [] }
      byKey.set(key, rel)
    }
    const col: PgColumn = { name: r.column, pgType: r.pg_type, baseType: r.base_type, isArray: r.is_array }
    if (r.numeric_scale !== null) col.numericScale = r.numeric_scale
    rel.columns.push(col)
  }
  for (const r of pks.rows) byKey.get(streamKey({ namespace: r.schema, name: r.name }))?.primaryKey.push(r.column)
  return [...byKey.values()]
}

function schemasOf(config: PostgresSourceConfig): string[] {
  const s = config.schemas
  return Array.isArray(s) && s.length > 0 ? s : ['public']
}

/**
 * How a column is selected: `expr` is its value expression, `sql` the select-list item. Money
 * is read as numeric so its text does not depend on the server's lc_monetary.
 */
function selectExpression(col: PgColumn): { expr: string; sql: string; column: PgColumn } {
  if (col.baseType === 'money') {
    const pgType = col.isArray ? 'numeric[]' : 'numeric'
    const expr = `${quoteIdent(col.name)}::${pgType}`
    return { expr, sql: `${expr} AS ${quoteIdent(col.name)}`, column: { ...col, pgType, baseType: 'numeric' } }
  }
  return { expr: quoteIdent(col.name), sql: quoteIdent(col.name), column: col }
}

/**
 * A RecordBatch over COPY text bytes: the bytes travel as `pgCopyText`; rows and columns are
 * decoded only if a destination asks, then cached.
 */
function copyBatch(
  stream: StreamDescriptor,
  columns: PgColumn[],
  decoders: FieldDecoder[],
  data: Buffer,
  count: number,
): RecordBatch {
  let rowsCache: RecordData[] | undefined
  let columnsCache: ColumnarRecords | undefined
  const names = columns.map((c) => c.name)
  return {
    type: 'RECORD_BATCH',
    stream,
    emittedAt: Date.now(),
    count,
    bytes: data.length,
    pgCopyText: { columns: names, pgTypes: columns.map((c) => c.pgType), data },
    rows() {
      if (!rowsCache) {
        const cols = columnsCache?.columns ?? decodeColumns(data, decoders)
        const out: RecordData[] = new Array(count)
        for (let r = 0; r < count; r++) {
          const row: RecordData = {}
          for (let i = 0; i < names.length; i++) row[names[i]!] = cols[i]![r]
          out[r] = row
        }
        rowsCache = out
      }
      return rowsCache
    },
    columns() {
      columnsCache ??= { names, columns: decodeColumns(data, decoders) }
      return columnsCache
    },
  }
}

/** Tracks the cursor column while COPY text streams by (rows arrive ordered by the cursor). */
interface CursorTracker {
  index: number
  value: Buffer | undefined
  count: number
}

/** Returns the escaped bytes of field `index` of the line [start, end). */
function fieldOf(data: Buffer, start: number, end: number, index: number): Buffer {
  let s = start
  for (let k = 0; k < index; k++) s = data.indexOf(9, s) + 1
  let e = data.indexOf(9, s)
  if (e === -1 || e > end) e = end
  return data.subarray(s, e)
}

function stateMessage(stream: StreamDescriptor, data: Record<string, unknown>): StateMessage {
  return { type: 'STATE', stream: { name: stream.name, namespace: stream.namespace ?? null }, data }
}

/** The Postgres source: discover by catalog queries, read with `COPY (SELECT ...) TO STDOUT`. */
export class PostgresSource implements Source {
  readonly spec = postgresSourceSpec
  readonly #options: PostgresSourceOptions

  constructor(options: Partial<PostgresSourceOptions> = {}) {
    this.#options = { ...DEFAULT_OPTIONS, ...options }
  }

  /** Rejects what the spec cannot: the CDC method (HTTP 422, SLUICE_ERR_INVALID_CONFIG). */
  validateConfig(raw: ConnectorConfig): void {
    validateSourceConfig(raw as unknown as PostgresSourceConfig)
  }

  async check(raw: ConnectorConfig, opts: RunOptions): Promise<ConnectionStatus> {
    const config = raw as unknown as PostgresSourceConfig
    try {
      validateSourceConfig(config)
      const client = await connectPg(config, opts)
      try {
        const schemas = schemasOf(config)
        const found = await client.query<{ nspname: string; usage: boolean }>(
          `SELECT nspname, has_schema_privilege(oid, 'USAGE') AS usage FROM pg_namespace WHERE nspname = ANY($1::text[])`,
          [schemas],
        )
        for (const s of schemas) {
          const row = found.rows.find((r) => r.nspname === s)
          if (!row) return { status: 'failed', message: `Schema "${s}" does not exist in database "${config.database}".` }
          if (!row.usage) {
            return { status: 'failed', message: `User "${config.username}" has no USAGE privilege on schema "${s}".` }
          }
        }
        const counts = await client.query<{ total: number; readable: number }>(
          `SELECT count(*)::int AS total, count(*) FILTER (WHERE has_table_privilege(c.oid, 'SELECT'))::int AS readable
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`,
          [schemas],
        )
        const c = counts.rows[0]
        if (c && c.total > 0 && c.readable === 0) {
          return {
            status: 'failed',
            message: `User "${config.username}" cannot SELECT any of the ${c.total} tables in schemas ${schemas.join(', ')}: grant SELECT.`,
          }
        }
        return { status: 'succeeded', message: 'Connected.' }
      } finally {
        await endPg(client)
      }
    } catch (err) {
      const e = fromPgError(err, errorContext(config, 'checking the connection'))
      if (e.code === 'SLUICE_ERR_CANCELLED') throw e
      return { status: 'failed', message: e.message }
    }
  }

  async discover(raw: ConnectorConfig, opts: RunOptions): Promise<AirbyteCatalog> {
    const config = raw as unknown as PostgresSourceConfig
    validateSourceConfig(config)
    const xmin = replicationMethodOf(config) === 'Xmin'
    const client = await connectPg(config, opts)
    try {
      const relations = await loadRelations(client, schemasOf(config))
      return {
        streams: relations.map((rel): AirbyteStream => {
          const isTable = rel.relkind === 'r' || rel.relkind === 'p'
          const properties: Record<string, unknown> = {}
          for (const col of rel.columns) properties[col.name] = jsonSchemaOf(selectExpression(col).column)
          return {
            name: rel.name,
            namespace: rel.schema,
            jsonSchema: { type: 'object', properties },
            supportedSyncModes: xmin && !isTable ? ['full_refresh'] : ['full_refresh', 'incremental'],
            sourceDefinedCursor: xmin,
            defaultCursorField: [],
            sourceDefinedPrimaryKey: rel.primaryKey.map((c) => [c]),
            isResumable: false,
          }
        }),
      }
    } catch (err) {
      throw fromPgError(err, errorContext(config, 'discovering the schema'))
    } finally {
      await endPg(client)
    }
  }

  async *read(
    raw: ConnectorConfig,
    catalog: ConfiguredCatalog,
    state: StateMessage[],
    opts: RunOptions,
  ): AsyncIterable<SourceMessage> {
    const config = raw as unknown as PostgresSourceConfig
    validateSourceConfig(config)
    const method = replicationMethodOf(config)
    const states = new Map(state.map((s) => [streamKey(s.stream), s.data]))
    const client = await connectPg(config, opts)
    let clean = false
    try {
      for (const cs of catalog.streams) {
        if (opts.signal.aborted) throw cancelledError()
        const descriptor: StreamDescriptor = { name: cs.stream.name, namespace: cs.stream.namespace ?? null }
        yield { type: 'STREAM_STATUS', stream: descriptor, status: 'STARTED' }
        try {
          yield* this.#readStream(client, config, method, cs, states.get(streamKey(descriptor)) ?? null, opts)
        } catch (err) {
          throw fromPgError(err, errorContext(config, `reading ${streamLabel(descriptor)}`))
        }
        yield { type: 'STREAM_STATUS', stream: descriptor, status: 'COMPLETE' }
      }
      clean = true
    } finally {
      if (clean) await endPg(client)
      else destroyPg(client)
    }
  }

  async *#readStream(
    client: PgClient,
    config: PostgresSourceConfig,
    method: 'Standard' | 'Xmin' | 'CDC',
    cs: ConfiguredStream,
    saved: Record<string, unknown> | null,
    opts: RunOptions,
  ): AsyncGenerator<SourceMessage> {
    const namespace = cs.stream.namespace ?? schemasOf(config)[0]!
    const name = cs.stream.name
    const descriptor: StreamDescriptor = { name, namespace: cs.stream.namespace ?? null }
    const label = `"${namespace}"."${name}"`
    const [rel] = await loadRelations(client, [namespace], name)
    if (!rel) {
      throw configError(
        `Table ${label} does not exist or user "${config.username}" cannot SELECT it; it was there at discover time: refresh the source schema.`,
      )
    }
    const wanted = Object.keys((cs.stream.jsonSchema.properties ?? {}) as Record<string, unknown>)
    const byName = new Map(rel.columns.map((c) => [c.name, c]))
    const missing = wanted.filter((w) => !byName.has(w))
    if (missing.length > 0) {
      throw configError(`Column(s) ${missing.map((m) => `"${m}"`).join(', ')} of ${label} no longer exist: refresh the source schema.`)
    }
    const selected = (wanted.length > 0 ? rel.columns.filter((c) => wanted.includes(c.name)) : rel.columns).map(selectExpression)
    const columns = selected.map((s) => s.column)
    const selectList = selected.map((s) => s.sql).join(', ')
    const table = qualified(namespace, name)
    // Planner statistics only (no scan): lets the engine show progress of big tables.
    const est = await client.query<{ rows: string; bytes: string }>(
      `SELECT GREATEST(c.reltuples, 0)::bigint AS rows, pg_relation_size(c.oid) AS bytes FROM pg_class c WHERE c.oid = to_regclass($1)`,
      [table],
    )
    const e = est.rows[0]
    if (e && Number(e.rows) > 0) {
      yield { type: 'ESTIMATE', stream: descriptor, rowEstimate: Number(e.rows), byteEstimate: Number(e.bytes) }
    }

    if (cs.syncMode === 'full_refresh') {
      yield* this.#copy(client, `SELECT ${selectList} FROM ${table}`, descriptor, columns, undefined, opts)
      return
    }
    if (method === 'Xmin') {
      if (rel.relkind !== 'r' && rel.relkind !== 'p') {
        throw configError(`${label} is a view: with the Xmin method it supports full_refresh only.`)
      }
      yield* this.#readXmin(client, table, selectList, descriptor, columns, saved, opts)
      return
    }
    yield* this.#readCursor(client, cs, table, label, selectList, selected.map((x) => x.expr), descriptor, columns, saved, opts)
  }

  async *#readCursor(
    client: PgClient,
    cs: ConfiguredStream,
    table: string,
    label: string,
    selectList: string,
    expressions: string[],
    descriptor: StreamDescriptor,
    columns: PgColumn[],
    saved: Record<string, unknown> | null,
    opts: RunOptions,
  ): AsyncGenerator<SourceMessage> {
    const cursorPath = cs.cursorField
    if (cursorPath.length !== 1) {
      throw configError(`Incremental sync of ${label} needs exactly one top-level cursor column (got ${JSON.stringify(cursorPath)}).`)
    }
    const cursorName = cursorPath[0]!
    const cursorIndex = columns.findIndex((c) => c.name === cursorName)
    if (cursorIndex < 0) throw configError(`Cursor column "${cursorName}" is not a selected column of ${label}.`)
    const cursorCol = columns[cursorIndex]!
    // The selected expression (money is compared as numeric, like its values and its state).
    const cursorSql = expressions[cursorIndex]!
    const cursorType = cursorCol.baseType === 'numeric' && cursorCol.pgType.startsWith('numeric') ? 'numeric' : cursorCol.pgType
    const hasNull = await client.query(`SELECT 1 FROM ${table} WHERE ${cursorSql} IS NULL LIMIT 1`)
    if (hasNull.rowCount) {
      throw configError(
        `Cursor column "${cursorName}" of ${label} contains NULL values: rows with a NULL cursor can never be synced incrementally. Choose a NOT NULL cursor column or fill the NULLs.`,
      )
    }
    const prior = saved && saved.state_type === 'cursor_based' && typeof saved.cursor === 'string' ? (saved as unknown as CursorState) : undefined
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
    const tracker: CursorTracker = {
      index: cursorIndex,
      value: undefined,
      count: 0,
    }
    const makeState = (): Record<string, unknown> => {
      const s: CursorState = {
        version: 2,
        state_type: 'cursor_based',
        stream_name: descriptor.name,
        stream_namespace: descriptor.namespace ?? '',
        cursor_field: [cursorName],
        cursor: tracker.value ? unescapeCopy(tracker.value.toString('utf8')) : (prior?.cursor ?? ''),
        cursor_record_count: tracker.value ? tracker.count : (prior?.cursor_record_count ?? 0),
      }
      return s as unknown as Record<string, unknown>
    }
    const sql = `SELECT ${selectList} FROM ${table}${where} ORDER BY ${cursorSql} ASC`
    yield* this.#copy(client, sql, descriptor, columns, { tracker, makeState }, opts)
    if (tracker.value || prior) yield stateMessage(descriptor, makeState())
  }

  async *#readXmin(
    client: PgClient,
    table: string,
    selectList: string,
    descriptor: StreamDescriptor,
    columns: PgColumn[],
    saved: Record<string, unknown> | null,
    opts: RunOptions,
  ): AsyncGenerator<SourceMessage> {
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
    yield* this.#copy(client, `SELECT ${selectList} FROM ${table}${where}`, descriptor, columns, undefined, opts)
    yield stateMessage(descriptor, next as unknown as Record<string, unknown>)
  }

  /**
   * Streams `COPY (sql) TO STDOUT` as byte-bounded batches cut at row ends. With a cursor
   * tracker, cuts a checkpoint only where the cursor value increases (never inside a tie).
   */
  async *#copy(
    client: PgClient,
    sql: string,
    stream: StreamDescriptor,
    columns: PgColumn[],
    cursor: { tracker: CursorTracker; makeState(): Record<string, unknown> } | undefined,
    opts: RunOptions,
  ): AsyncGenerator<SourceMessage> {
    const decoders = columns.map(fieldDecoder)
    const copy = client.query(copyTo(`COPY (${sql}) TO STDOUT`))
    const onAbort = (): void => {
      copy.destroy(cancelledError())
    }
    opts.signal.addEventListener('abort', onAbort, { once: true })
    const { batchBytes, checkpointRows } = this.#options
    let pending: Buffer[] = []
    let pendingBytes = 0
    let sinceState = 0
    try {
      for await (const chunk of copy as AsyncIterable<Buffer>) {
        pending.push(chunk)
        pendingBytes += chunk.length
        if (pendingBytes < batchBytes) continue
        const data = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes)
        const lastNl = data.lastIndexOf(10)
        if (lastNl < 0) {
          pending = [data]
          continue
        }
        const rest = data.subarray(lastNl + 1)
        pending = rest.length > 0 ? [Buffer.from(rest)] : []
        pendingBytes = rest.length
        const complete = data.subarray(0, lastNl + 1)
        if (cursor) {
          for (const m of this.#cursorCut(complete, stream, columns, decoders, cursor, sinceState, checkpointRows)) {
            if (m.type === 'STATE') sinceState = 0
            else if (m.type === 'RECORD_BATCH') sinceState += m.count
            yield m
          }
        } else {
          yield copyBatch(stream, columns, decoders, complete, countRows(complete))
        }
      }
      if (pendingBytes > 0) {
        const data = Buffer.concat(pending, pendingBytes)
        if (cursor) {
          for (const m of this.#cursorCut(data, stream, columns, decoders, cursor, sinceState, checkpointRows)) {
            if (m.type === 'STATE') sinceState = 0
            yield m
          }
        } else {
          yield copyBatch(stream, columns, decoders, data, countRows(data))
        }
      }
    } catch (err) {
      if (opts.signal.aborted) throw cancelledError()
      throw isSluiceError(err) ? err : fromPgError(err)
    } finally {
      opts.signal.removeEventListener('abort', onAbort)
    }
  }

  /**
   * Splits complete COPY lines into batches and checkpoints: a STATE is cut before the first
   * row whose cursor is greater than the previous one, once enough rows passed since the last.
   */
  *#cursorCut(
    data: Buffer,
    stream: StreamDescriptor,
    columns: PgColumn[],
    decoders: FieldDecoder[],
    cursor: { tracker: CursorTracker; makeState(): Record<string, unknown> },
    sinceStateStart: number,
    checkpointRows: number,
  ): Generator<SourceMessage> {
    const t = cursor.tracker
    let batchStart = 0
    let rows = 0
    let since = sinceStateStart
    for (let start = 0; start < data.length; ) {
      const nl = data.indexOf(10, start)
      const end = nl === -1 ? data.length : nl
      const value = fieldOf(data, start, end, t.index)
      if (t.value !== undefined && value.equals(t.value)) {
        t.count++
      } else {
        if (t.value !== undefined && since >= checkpointRows) {
          if (rows > 0) yield copyBatch(stream, columns, decoders, Buffer.from(data.subarray(batchStart, start)), rows)
          yield stateMessage(stream, cursor.makeState())
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
