import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { finished } from 'node:stream/promises'
import { from as copyFrom } from 'pg-copy-streams'
import type { PgCopyTextWithConstants, RecordBatch, RunOptions } from '../../protocol/index.js'
import { streamLabel, wholeCopyShape } from '../../protocol/index.js'
import { isDataException } from './postgres-errors.js'
import type { PgClient } from './pg-client.js'
import { appendAirbyteColumns, columnsCopyAllowed, encodeColumnsForTarget, encodeRows } from './pg-copy-encoding.js'
import { escapeCopy } from '../../formats/copy-text.js'
import { encodeRecordLinesCopyText, type RecordLinesCopyColumn } from '../../formats/record-lines-copy-text.js'
import { directCopyAllowed } from './pg-destination-types.js'
import { qualified, quoteIdent, quoteLiteral, suffixedName } from './pg-identifiers.js'
import { keyJoin, loadMark, metaJson, newerThan, reappliesDeletes, safeCastFunction, sameRank, stageSignature, typedExpression } from './pg-load-sql.js'
import { createRawTableSql, encodeRawRows, pendingRawRelation, RAW_COLUMNS, tombstoneIndexSql, type RawTablePlan } from './pg-raw-tables.js'
import { AIRBYTE_COLUMNS, type ColumnPlan, type DeferredColumn, type PgStreamTable, type StageKind } from './pg-stream-table.js'

/**
 * The SQL work of one Postgres write on its single connection: table setup and schema
 * evolution, staging COPYs (direct into the target when the source's COPY text fits), typing
 * and dedup merges, the overwrite swap, and the transaction the loader's flush commits.
 */
export class WriteSession {
  readonly #client: PgClient
  readonly #opts: RunOptions
  #inTxn = false
  #extractedAt: number | undefined
  /**
   * Output buffer of the direct paths, reused between batches (no 3 MB allocation per batch):
   * each batch's COPY completes before the next batch is encoded.
   */
  #scratch: Buffer | undefined
  /**
   * The raw-table COPY left open across batches of one stream, so the server parses a batch
   * while the next one is encoded; any other statement ends it first.
   */
  #rawCopy: { w: PgStreamTable; stream: NodeJS.WritableStream; done: Promise<void> } | undefined

  constructor(client: PgClient, opts: RunOptions) {
    this.#client = client
    this.#opts = opts
  }

  get client(): PgClient {
    return this.#client
  }

  async #q(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }> {
    if (this.#rawCopy) await this.#endRawCopy()
    return this.#client.query(sql, params)
  }

  /** Ends the open raw-table COPY; its error, if any, surfaces here. */
  async #endRawCopy(): Promise<void> {
    const copy = this.#rawCopy!
    this.#rawCopy = undefined
    copy.stream.end()
    await copy.done
  }

  async begin(): Promise<void> {
    if (this.#inTxn) return
    await this.#q('BEGIN')
    this.#inTxn = true
  }

  /** Types every staged row into its final table, then commits (STATE may follow). */
  async commit(writers: Iterable<PgStreamTable>): Promise<void> {
    for (const w of writers) {
      // Nothing for it yet: created by its first batch (a snapshot may defer columns) or its completion.
      if (w.createPending && !w.staged) continue
      await this.#ensureKeyIndex(w)
      // Truncate syncs type once, on COMPLETE, into the table swapped in then (semantics §3.6).
      if (w.raw && !w.truncate && (w.rawNew || w.rawUnloaded)) await this.typeAndDedupe(w)
      if (w.staged) await this.merge(w)
    }
    if (!this.#inTxn) return
    await this.#q('COMMIT')
    this.#inTxn = false
  }

  /**
   * The key index of a dedup table this write found empty is built after the rows an initial
   * snapshot COPYed into it (one sort instead of an index insert per row): in the transaction
   * of the first commit, or before the first merge, whichever comes first. The table gets its
   * missing columns first.
   */
  async #ensureKeyIndex(w: PgStreamTable): Promise<void> {
    await this.#ensureTarget(w)
    if (!w.keyIndexPending) return
    await this.#q(`CREATE INDEX ON ${w.qualifiedTarget} (${w.pk.map((c) => quoteIdent(c.name)).join(', ')})`)
    w.keyIndexPending = false
  }

  /**
   * Creates the target setup left to the data transaction, without `_airbyte_meta` and
   * `_airbyte_generation_id` (one value per write, which the direct COPYs leave out) and the
   * `constants` of a snapshot (see `deferredColumns`). Nobody else sees the table before the
   * commit: no lock of it waits.
   */
  async #createTarget(w: PgStreamTable, constants: DeferredColumn[] = []): Promise<void> {
    await this.begin()
    const defaults = airbyteDefaults(w)
    const deferred = [
      ...constants,
      ...AIRBYTE_COLUMNS.flatMap((c) => (defaults.has(c.name) ? [{ name: c.name, ddl: c.ddl, defaultSql: defaults.get(c.name)!, keepDefault: true }] : [])),
    ]
    const later = new Set(deferred.map((c) => c.name))
    const defs = [...w.columns.map((c) => ({ name: c.name, ddl: c.pgType })), ...AIRBYTE_COLUMNS].filter((c) => !later.has(c.name))
    await this.#q(`CREATE TABLE ${w.qualifiedTarget} (${defs.map((c) => `${quoteIdent(c.name)} ${c.ddl}`).join(', ')})`)
    w.createPending = false
    w.deferredColumns = deferred
  }

  /**
   * Creates the target if it is still to be created; adds the columns it was created without
   * (`forCopy`: only a snapshot's constants, before a direct COPY that carries those columns;
   * the Airbyte columns it leaves out can wait).
   */
  async #ensureTarget(w: PgStreamTable, forCopy = false): Promise<void> {
    if (w.createPending) await this.#createTarget(w)
    const pending = w.deferredColumns
    if (pending === undefined) return
    const deferred = forCopy ? pending.filter((c) => !c.keepDefault) : pending
    const left = pending.filter((c) => !deferred.includes(c))
    w.deferredColumns = left.length > 0 ? left : undefined
    if (deferred.length === 0) return
    const t = w.qualifiedTarget
    // A constant default of a column added to rows already there is stored once in the
    // catalog as their value (no rewrite, no bytes per row); dropping it later keeps theirs.
    await this.#q(`ALTER TABLE ${t} ${deferred.map((c) => `ADD COLUMN ${quoteIdent(c.name)} ${c.ddl}${c.defaultSql === null ? '' : ` DEFAULT ${c.defaultSql}`}`).join(', ')}`)
    const dropped = deferred.filter((c) => c.defaultSql !== null && !c.keepDefault)
    if (dropped.length > 0) await this.#q(`ALTER TABLE ${t} ${dropped.map((c) => `ALTER COLUMN ${quoteIdent(c.name)} DROP DEFAULT`).join(', ')}`)
  }

  /**
   * True when the target can go without the batch's constant columns for now: they are added
   * after the rows (`#ensureTarget`). The target is created so if it is still to be created and
   * every constant is valid input of its column; a target created so takes the batches whose
   * constants are the same.
   */
  async #defersConstants(w: PgStreamTable, split: PgCopyTextWithConstants, known: ReadonlyMap<string, ColumnPlan>): Promise<boolean> {
    const deferred: DeferredColumn[] = split.constants.map((c) => {
      const col = known.get(c.name)!
      return { name: col.name, ddl: col.pgType, defaultSql: c.value === null ? null : `${quoteLiteral(c.value)}::${col.pgType}`, keepDefault: false }
    })
    if (!w.createPending) {
      const pending = w.deferredColumns ?? []
      return deferred.every((c) => pending.some((p) => p.name === c.name && p.defaultSql === c.defaultSql))
    }
    const checked = deferred.flatMap((c) => (c.defaultSql === null ? [] : [c.defaultSql]))
    if (checked.length > 0) {
      try {
        // One round trip (literals, no parameters): a failed cast skips the RELEASE.
        await this.#q(`SAVEPOINT sluice_constants; SELECT ${checked.join(', ')}; RELEASE SAVEPOINT sluice_constants`)
      } catch (err) {
        if (!isDataException(err)) throw err
        await this.#q('ROLLBACK TO SAVEPOINT sluice_constants')
        return false
      }
    }
    await this.#createTarget(w, deferred)
    return true
  }

  /** Creates schema, final or temporary table and staging table; evolves the final table's columns. */
  async setup(w: PgStreamTable): Promise<void> {
    if (w.ready) return
    await ensureSchema(this.#client, w.schema)
    if (w.truncate && (await this.#finalIsThisGeneration(w))) w.writeIntoFinal()
    if (w.truncate && !(await this.#resumesTarget(w))) await this.#q(`DROP TABLE IF EXISTS ${w.qualifiedTarget}`)
    const existing = await this.#q(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`,
      [w.qualifiedTarget],
    )
    const created = existing.rows.length === 0
    // Constant per write: the direct COPY path leaves these two columns to their defaults. Only
    // on a table this write creates (the temporary table, or a dedup table an initial snapshot
    // may be COPYed into): an ALTER on a live final table would wait for (and queue readers
    // behind) its readers' locks.
    w.airbyteDefaults = w.truncate || (created && w.dedup && !w.raw)
    if (created && w.airbyteDefaults && !w.raw) {
      // Created by the first data transaction (#createTarget), which leaves out the columns
      // the rows loaded first hold constant.
      w.createPending = true
      w.keyIndexPending = w.dedup
    } else if (created) {
      const defs = [
        ...w.columns.map((c) => `${quoteIdent(c.name)} ${c.pgType}`),
        ...AIRBYTE_COLUMNS.map((c) => `${quoteIdent(c.name)} ${c.ddl}`),
      ]
      await this.#q(`CREATE TABLE ${w.qualifiedTarget} (${defs.join(', ')})`)
      w.keyIndexPending = w.dedup
      // The raw-table layout types into the final table without a direct load: index it now.
      if (w.raw) await this.#ensureKeyIndex(w)
    } else {
      await this.#evolve(w, new Map(existing.rows.map((r) => [String(r.name), String(r.type)])))
    }
    if (w.airbyteDefaults && !w.createPending) {
      await this.#q(
        `ALTER TABLE ${w.qualifiedTarget} ${[...airbyteDefaults(w)].map(([name, sql]) => `ALTER COLUMN ${name} SET DEFAULT ${sql}`).join(', ')}`,
      )
    }
    const stageCols = [
      ...w.columns.map((c) => `${quoteIdent(c.stage)} text`),
      `_sluice_seq bigserial`,
      `_sluice_extracted_at bigint DEFAULT current_setting('sluice.extracted_at')::bigint`,
      `_sluice_changes text`,
    ]
    await this.#q(`DROP TABLE IF EXISTS pg_temp.${quoteIdent(w.stageTable)}`)
    await this.#q(`CREATE TEMP TABLE ${quoteIdent(w.stageTable)} (${stageCols.join(', ')})`)
    if (w.dedup) {
      await this.#q(`DROP TABLE IF EXISTS pg_temp.${quoteIdent(w.typedTable)}`)
      const like = w.createPending
        ? `(${[...w.columns.map((c) => `${quoteIdent(c.name)} ${c.pgType}`), ...AIRBYTE_COLUMNS.map((c) => `${quoteIdent(c.name)} ${c.type}`)].join(', ')})`
        : `AS SELECT * FROM ${w.qualifiedTarget} WITH NO DATA`
      await this.#q(`CREATE TEMP TABLE ${quoteIdent(w.typedTable)} ${like}`)
    }
    if (w.raw) await this.#setupRaw(w, w.raw)
    else if (w.dedup && !created) {
      // An empty table may lack its key index (a write that created it ended before its first
      // commit); a loaded one may have no column statistics yet (autovacuum has not analyzed it).
      const probe = await this.#q(
        `SELECT NOT EXISTS (SELECT 1 FROM ${w.qualifiedTarget}) AS empty,
           EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                   WHERE i.indrelid = to_regclass($1) AND a.attname = $2) AS indexed,
           EXISTS (SELECT 1 FROM pg_stats WHERE schemaname = $3 AND tablename = $4) AS analyzed`,
        [w.qualifiedTarget, w.pk[0]!.name, w.schema, w.target],
      )
      const { empty, indexed, analyzed } = probe.rows[0] as { empty: boolean; indexed: boolean; analyzed: boolean }
      w.snapshotDirect = empty
      w.keyIndexPending = empty && !indexed
      w.analyzeBeforeMerge = !empty && !analyzed
    } else if (w.dedup) w.snapshotDirect = true
    w.ready = true
  }

  /**
   * True when a truncate sync's temporary table holds only rows of this sync's generation: an
   * earlier attempt of the same job (a resumable full refresh keeps its generation across
   * attempts) committed them with a STATE the source resumes from, so they are kept, as
   * Airbyte destinations keep the `_airbyte_tmp` table of the same generation.
   */
  async #resumesTarget(w: PgStreamTable): Promise<boolean> {
    const generation = Number(w.cs.generationId) || 0
    if (generation <= 0) return false
    const found = await this.#q(`SELECT to_regclass($1) IS NOT NULL AS found`, [w.qualifiedTarget])
    if (found.rows[0]!.found !== true) return false
    const other = await this.#q(
      `SELECT EXISTS (SELECT 1 FROM ${w.qualifiedTarget} WHERE _airbyte_generation_id IS DISTINCT FROM $1) AS other`,
      [generation],
    )
    return other.rows[0]!.other !== true
  }

  /**
   * True when the stream's final table holds rows of this sync's generation and of no other, for
   * a stream whose generation each job renews (full refresh, or a clear/refresh: minimum
   * generation = generation); an incremental overwrite keeps its generation from job to job.
   */
  async #finalIsThisGeneration(w: PgStreamTable): Promise<boolean> {
    const generation = Number(w.cs.generationId) || 0
    if (generation <= 0) return false
    if (w.cs.syncMode !== 'full_refresh' && w.cs.minimumGenerationId !== w.cs.generationId) return false
    const final = qualified(w.schema, w.table)
    const found = await this.#q(`SELECT to_regclass($1) IS NOT NULL AS found`, [final])
    if (found.rows[0]!.found !== true) return false
    const r = await this.#q(
      `SELECT EXISTS (SELECT 1 FROM ${final} WHERE _airbyte_generation_id = $1) AS mine,
              EXISTS (SELECT 1 FROM ${final} WHERE _airbyte_generation_id IS DISTINCT FROM $1) AS other`,
      [generation],
    )
    return r.rows[0]!.mine === true && r.rows[0]!.other !== true
  }

  /**
   * Creates the raw table this write fills (truncate syncs: a fresh `_airbyte_tmp` twin).
   * A normal sync first takes over the rows of a temporary raw table a failed overwrite left
   * behind, and types any raw rows still pending (semantics §3.6).
   */
  async #setupRaw(w: PgStreamTable, raw: RawTablePlan): Promise<void> {
    await ensureSchema(this.#client, raw.schema)
    const exists = async (table: string): Promise<boolean> =>
      (await this.#q(`SELECT to_regclass($1) IS NOT NULL AS found`, [qualified(raw.schema, table)])).rows[0]!.found === true
    if (w.truncate) {
      // Indexes are built on COMPLETE, once, instead of row by row during the load.
      await this.#q(`DROP TABLE IF EXISTS ${qualified(raw.schema, raw.target)}`)
      await this.#q(createRawTableSql(raw.schema, raw.target)[0]!)
      return
    }
    if (!(await exists(raw.target))) {
      await this.#q('BEGIN')
      for (const sql of createRawTableSql(raw.schema, raw.target)) await this.#q(sql)
      await this.#q('COMMIT')
    }
    if (reappliesDeletes(w)) {
      const found = await this.#q(
        `SELECT 1 FROM pg_index i WHERE i.indrelid = to_regclass($1) AND i.indpred IS NOT NULL AND pg_get_expr(i.indpred, i.indrelid) LIKE '%_ab_cdc_deleted_at%'`,
        [qualified(raw.schema, raw.target)],
      )
      if (found.rows.length === 0) await this.#q(tombstoneIndexSql(raw.schema, raw.target))
    }
    const leftover = suffixedName(raw.table, '_airbyte_tmp')
    if (await exists(leftover)) {
      // Never typed into the real final table: the rows arrive pending.
      await this.#q('BEGIN')
      await this.#q(
        `INSERT INTO ${qualified(raw.schema, raw.table)} (${RAW_COLUMNS.join(', ')}) ` +
          `SELECT ${RAW_COLUMNS.map((c) => (c === '_airbyte_loaded_at' ? 'NULL' : c)).join(', ')} FROM ${qualified(raw.schema, leftover)} ON CONFLICT DO NOTHING`,
      )
      await this.#q(`DROP TABLE ${qualified(raw.schema, leftover)}`)
      await this.#q('COMMIT')
    }
    const pending = await this.#q(`SELECT EXISTS (SELECT 1 FROM ${qualified(raw.schema, raw.table)} WHERE _airbyte_loaded_at IS NULL) AS pending`)
    w.rawUnloaded = pending.rows[0]!.pending === true
  }

  /** Destinations V2 layout: COPYs one batch into the stream's raw table. */
  async stageRaw(w: PgStreamTable, batch: RecordBatch): Promise<void> {
    const raw = w.raw!
    w.rawMark ??= loadMark()
    if (this.#rawCopy && this.#rawCopy.w !== w) await this.#endRawCopy()
    if (!this.#rawCopy) {
      const stream = this.#client.query(copyFrom(`COPY ${qualified(raw.schema, raw.target)} (${RAW_COLUMNS.join(', ')}) FROM STDIN`))
      const done = finished(stream)
      // Awaited in #endRawCopy; until then a failure must not be an unhandled rejection.
      done.catch(() => undefined)
      this.#rawCopy = { w, stream, done }
    }
    const copy = this.#rawCopy
    w.rawNew = true
    for (const piece of encodeRawRows(batch, Number(w.cs.syncId) || 0, Number(w.cs.generationId) || 0, w.rawMark)) {
      if (!copy.stream.write(piece)) await Promise.race([once(copy.stream, 'drain'), copy.done])
    }
  }

  /**
   * Typing and deduping (semantics §3.4-3.5) inside the open transaction: the pending raw rows
   * go through the same typing/dedup as Direct Load's staged rows, keeping their raw ids.
   * Rows of this write carry their load mark already; rows left pending by earlier writes are
   * marked here. The caller commits raw rows, final rows and marks together.
   */
  async typeAndDedupe(w: PgStreamTable): Promise<void> {
    const raw = w.raw!
    await this.begin()
    const tombstones = reappliesDeletes(w)
    const columns = w.columns.map((c) => ({ source: c.source, stage: c.stage, json: c.pgType === 'jsonb' }))
    const pending = { mark: w.rawNew ? w.rawMark : undefined, unloaded: w.rawUnloaded, tombstones }
    w.stageKind = { kind: 'rows' }
    await this.merge(w, pendingRawRelation(raw, columns, pending, w.dedup))
    if (w.rawUnloaded) {
      await this.#q(`UPDATE ${qualified(raw.schema, raw.target)} SET _airbyte_loaded_at = now() WHERE _airbyte_loaded_at IS NULL`)
      w.rawUnloaded = false
    }
    w.rawNew = false
    // Normal syncs: the next transaction's rows get a new mark. A truncate sync types once.
    if (!w.truncate) w.rawMark = undefined
  }

  /**
   * Schema evolution of an existing final table: new columns are added; a column whose type
   * changed is converted when every value casts, else the old column is kept under a new
   * name (`<name>_<old type>`) and a fresh column takes the new type: nothing is dropped.
   */
  async #evolve(w: PgStreamTable, existing: Map<string, string>): Promise<void> {
    const t = w.qualifiedTarget
    for (const c of AIRBYTE_COLUMNS) {
      if (!existing.has(c.name)) await this.#q(`ALTER TABLE ${t} ADD COLUMN ${quoteIdent(c.name)} ${c.type}`)
    }
    for (const c of w.columns) {
      const current = existing.get(c.name)
      if (current === undefined) {
        this.#opts.logger.info(`Adding column "${c.name}" (${c.pgType}) to ${t}.`)
        await this.#q(`ALTER TABLE ${t} ADD COLUMN ${quoteIdent(c.name)} ${c.pgType}`)
        continue
      }
      if (current === c.pgType) continue
      // Setup runs outside the data transactions: each ALTER commits on its own.
      try {
        await this.#q(`ALTER TABLE ${t} ALTER COLUMN ${quoteIdent(c.name)} TYPE ${c.pgType} USING ${quoteIdent(c.name)}::${c.pgType}`)
        this.#opts.logger.info(`Changed type of "${c.name}" in ${t} from ${current} to ${c.pgType}.`)
      } catch (err) {
        if (!isDataException(err) && (err as { code?: string }).code !== '42846') throw err
        const kept = suffixedName(c.name, `_${current.replace(/[^A-Za-z0-9]+/g, '_')}`)
        await this.#q('BEGIN')
        await this.#q(`ALTER TABLE ${t} RENAME COLUMN ${quoteIdent(c.name)} TO ${quoteIdent(kept)}`)
        await this.#q(`ALTER TABLE ${t} ADD COLUMN ${quoteIdent(c.name)} ${c.pgType}`)
        await this.#q('COMMIT')
        this.#opts.logger.warn(
          `Column "${c.name}" of ${t} changed type from ${current} to ${c.pgType} and old values do not all cast: they are kept in column "${kept}".`,
        )
      }
    }
  }

  /** COPYs one batch into the stream's staging table (no JS object per row for pgCopyText). */
  async stage(w: PgStreamTable, batch: RecordBatch): Promise<void> {
    const copyText = batch.pgCopyText
    const known = new Map(w.columns.map((c) => [c.source, c]))
    let linesCopied: boolean | undefined
    if (copyText && !batch.changes && directCopyAllowed(copyText, known)) {
      const names = copyText.columns.map((c) => known.get(c)!.name)
      const encode = (constants: string): Buffer => {
        const data = appendAirbyteColumns(copyText.data, batch.emittedAt, constants, this.#scratch)
        // The COPY completes before the next batch, so its buffer can be reused then.
        this.#scratch = Buffer.from(data.buffer)
        return data
      }
      if (await this.#copyDirect(w, names, encode)) return
    } else if (!copyText && batch.columns && batch.airbyteRecordLines && !batch.changes && (linesCopied = await this.#copyRecordLines(w, batch, batch.airbyteRecordLines)) !== undefined) {
      // A COPY that rejected a value goes to staging: the column path's text would be the same.
      if (linesCopied) return
    } else if (!copyText && batch.columns) {
      const columnar = batch.columns()
      const encode = (constants: string): Buffer => {
        const data = encodeColumnsForTarget(w, columnar, batch.count, batch.emittedAt, constants, this.#scratch)
        this.#scratch = Buffer.from(data.buffer)
        return data
      }
      if (columnsCopyAllowed(w, batch, columnar) && (await this.#copyDirect(w, w.columns.map((c) => c.name), encode))) return
    }
    let kind: StageKind
    let data: Buffer
    let copyColumns: string[]
    if (copyText && !batch.changes && copyText.columns.length > 0 && copyText.columns.every((c) => known.has(c))) {
      kind = { kind: 'copy', columns: copyText.columns, pgTypes: copyText.pgTypes, signature: JSON.stringify([copyText.columns, copyText.pgTypes]) }
      data = copyText.data
      copyColumns = copyText.columns.map((c) => quoteIdent(known.get(c)!.stage))
    } else {
      kind = { kind: 'rows' }
      data = encodeRows(w, batch)
      copyColumns = [...w.columns.map((c) => quoteIdent(c.stage)), '_sluice_changes']
    }
    if (w.staged && w.stageKind && stageSignature(w.stageKind) !== stageSignature(kind)) await this.merge(w)
    w.stageKind = kind
    if (this.#extractedAt !== batch.emittedAt) {
      await this.#q(`SELECT set_config('sluice.extracted_at', $1, false)`, [String(batch.emittedAt)])
      this.#extractedAt = batch.emittedAt
    }
    const stream = this.#client.query(copyFrom(`COPY ${quoteIdent(w.stageTable)} (${copyColumns.join(', ')}) FROM STDIN`))
    stream.end(data)
    await finished(stream)
    w.staged = true
  }

  /**
   * The column path for Airbyte RECORD lines, encoded from their bytes
   * (`encodeRecordLinesCopyText`: the text `encodeColumnsForTarget` makes of `columns()`,
   * without parsing the lines). Undefined when the lines cannot be encoded so (the column path
   * decides), else whether the COPY took them.
   */
  async #copyRecordLines(w: PgStreamTable, batch: RecordBatch, lines: Buffer): Promise<boolean | undefined> {
    const columns: RecordLinesCopyColumn[] = w.columns.map((c) => ({
      source: c.source,
      json: c.pgType === 'jsonb',
      shape: c.internal === 'STRUCT' ? 'object' : c.internal === 'ARRAY' ? 'array' : undefined,
    }))
    const idPrefix = `\t${randomUUID().slice(0, 24)}`
    const at = `\t${new Date(batch.emittedAt).toISOString()}`
    const encode = (constants: string): Buffer | undefined => {
      const data = encodeRecordLinesCopyText(lines, batch.count, columns, { idPrefix, tail: at + constants }, () => batch.rows(), this.#scratch)
      if (data) this.#scratch = Buffer.from(data.buffer)
      return data
    }
    // Encoded before #copyDirect opens its savepoint, so that a batch the lines cannot carry
    // costs no round trip; re-encoded only if #copyDirect asks for other Airbyte fields.
    const expected = this.#directConstants(w)
    const data = encode(expected)
    if (!data) return undefined
    return this.#copyDirect(w, w.columns.map((c) => c.name), (constants) => (constants === expected ? data : encode(constants)!))
  }

  /** The Airbyte fields #copyDirect appends after the extraction time (none for targets with their defaults). */
  #directConstants(w: PgStreamTable): string {
    return w.truncate && !w.dedup ? '' : `\t${escapeCopy(metaJson(w))}\t${Number(w.cs.generationId) || 0}`
  }

  /**
   * The fast path: COPY the batch straight into the target table, as the source's COPY text
   * or a column batch encoded in the target's column order (`names`), each line extended with
   * the four Airbyte columns by `encode(constants)`. Used when every value's text is expected
   * to be valid input of its target type; if a value still fails (e.g. a bigint overflow), the
   * batch goes through staging and safe casts instead. Returns false in that case.
   */
  async #copyDirect(w: PgStreamTable, names: string[], encode: (constants: string) => Buffer, intoFinal = false): Promise<boolean> {
    // Dedup streams COPY into their typed temporary table (no defaults there); #dedup moves
    // the rows on, except initial-snapshot rows loaded as they are (`intoFinal`). Only the
    // overwrite temporary target has the meta/generation defaults.
    const typed = w.dedup && !intoFinal
    const into = typed ? quoteIdent(w.typedTable) : w.qualifiedTarget
    const withDefaults = w.airbyteDefaults && !typed
    const airbyte = withDefaults ? ['_airbyte_raw_id', '_airbyte_extracted_at'] : AIRBYTE_COLUMNS.map((c) => c.name)
    const columns = [...names.map((c) => quoteIdent(c)), ...airbyte]
    const constants = withDefaults ? '' : `\t${escapeCopy(metaJson(w))}\t${Number(w.cs.generationId) || 0}`
    const data = encode(constants)
    // An initial snapshot's target is made ready by its caller (which may keep its constants out).
    if (!typed && !intoFinal) await this.#ensureTarget(w, true)
    await this.#q('SAVEPOINT sluice_direct')
    try {
      const stream = this.#client.query(copyFrom(`COPY ${into} (${columns.join(', ')}) FROM STDIN`))
      stream.end(data)
      await finished(stream)
      await this.#q('RELEASE SAVEPOINT sluice_direct')
      if (typed) {
        // Several rows per key may now sit in the typed table: the merge dedups them.
        w.staged = true
        w.directRows = true
      }
      return true
    } catch (err) {
      if (!isDataException(err)) throw err
      await this.#q('ROLLBACK TO SAVEPOINT sluice_direct')
      return false
    }
  }

  /**
   * Dedup streams (Direct Load): COPYs a batch of initial-snapshot rows straight into the table
   * instead of merging it, while that is exact: the table was empty when this write began
   * (`w.snapshotDirect`, set by setup) and every batch of the stream so far carried the same
   * snapshot scope, whose rows hold each key once and no delete (`InitialSnapshotHint`). So no
   * row can conflict with another. The first other batch (a change, another chunk, rows the
   * direct COPY cannot take) ends it for the rest of the write: from then on every batch is
   * merged, and merges see the loaded rows like any others. A retry after a committed chunk
   * finds the table non-empty and merges from its first batch. False when the batch was not
   * loaded (the caller stages it).
   */
  async loadInitialSnapshot(w: PgStreamTable, batch: RecordBatch): Promise<boolean> {
    if (!w.snapshotDirect) return false
    const hint = batch.initialSnapshot
    const split = batch.pgCopyTextWithConstants
    // The columns and types of pgCopyText, without building it for a batch with constants.
    const shape = split ? wholeCopyShape(split) : batch.pgCopyText
    const known = new Map(w.columns.map((c) => [c.source, c]))
    const eligible =
      hint !== undefined &&
      (w.snapshotScope === undefined || w.snapshotScope === hint.scope) &&
      hint.uniqueKey.length > 0 &&
      hint.uniqueKey.every((c) => w.pk.some((p) => p.source === c)) &&
      !w.staged &&
      !batch.changes &&
      shape !== undefined &&
      directCopyAllowed(shape, known)
    if (!eligible) {
      w.snapshotDirect = false
      return false
    }
    const deferring = split !== undefined && split.lead.columns.length > 0 && (await this.#defersConstants(w, split, known))
    if (!deferring) await this.#ensureTarget(w, true)
    const copyText = deferring ? split.lead : batch.pgCopyText!
    const names = copyText.columns.map((c) => known.get(c)!.name)
    const encode = (constants: string): Buffer => {
      const data = appendAirbyteColumns(copyText.data, batch.emittedAt, constants, this.#scratch)
      this.#scratch = Buffer.from(data.buffer)
      return data
    }
    if (!(await this.#copyDirect(w, names, encode, true))) {
      w.snapshotDirect = false
      return false
    }
    w.analyzeBeforeMerge = true
    if (w.snapshotScope === undefined) {
      this.#opts.logger.info(`Loading the initial snapshot of ${streamLabel(w.cs.stream)} into the empty ${w.qualifiedTarget} without merging.`)
      w.snapshotScope = hint.scope
    }
    return true
  }

  /** On STREAM_STATUS COMPLETE: for truncate streams, swap the new table in (same transaction). */
  async complete(w: PgStreamTable): Promise<void> {
    await this.#ensureKeyIndex(w)
    if (w.raw && (w.rawNew || w.rawUnloaded)) await this.typeAndDedupe(w)
    if (w.staged) await this.merge(w)
    if (w.raw && w.truncate) {
      for (const sql of createRawTableSql(w.raw.schema, w.raw.target).slice(1)) await this.#q(sql)
      if (reappliesDeletes(w)) await this.#q(tombstoneIndexSql(w.raw.schema, w.raw.target))
      await this.#q(`DROP TABLE IF EXISTS ${qualified(w.raw.schema, w.raw.table)}`)
      await this.#q(`ALTER TABLE ${qualified(w.raw.schema, w.raw.target)} RENAME TO ${quoteIdent(w.raw.table)}`)
    }
    if (w.truncate) {
      await this.#q(`DROP TABLE IF EXISTS ${qualified(w.schema, w.table)}`)
      await this.#q(`ALTER TABLE ${w.qualifiedTarget} RENAME TO ${quoteIdent(w.table)}`)
    }
    w.completed = true
  }

  /**
   * Types staged rows (or the rows of relation `from`, shaped like the staging table) into the
   * target table; on a cast error retries with safe casts.
   */
  async merge(w: PgStreamTable, from?: string): Promise<void> {
    await this.#ensureKeyIndex(w)
    // Without statistics, a table filled by an initial load was scanned whole by each merge
    // instead of probed through its key index.
    if (w.analyzeBeforeMerge) {
      await this.#q(`ANALYZE ${w.qualifiedTarget}`)
      w.analyzeBeforeMerge = false
    }
    const kind = w.stageKind ?? { kind: 'rows' }
    await this.#q('SAVEPOINT sluice_merge')
    try {
      await this.#insert(w, kind, false, from)
      await this.#q('RELEASE SAVEPOINT sluice_merge')
    } catch (err) {
      if (!isDataException(err)) throw err
      await this.#q('ROLLBACK TO SAVEPOINT sluice_merge')
      this.#opts.logger.info(`Some values of ${streamLabel(w.cs.stream)} do not fit their column types: typing with safe casts.`)
      await this.#insert(w, kind, true, from)
    }
    if (w.dedup) await this.#dedup(w)
    await this.#q(`TRUNCATE ${quoteIdent(w.stageTable)}`)
    w.staged = false
  }

  async #insert(w: PgStreamTable, kind: StageKind, safe: boolean, source = quoteIdent(w.stageTable)): Promise<void> {
    const typed: string[] = []
    const changes: string[] = []
    const sourceTypes = new Map<string, string>()
    if (kind.kind === 'copy') kind.columns.forEach((c, i) => sourceTypes.set(c, kind.pgTypes[i]!))
    // Safe casts: one function per type used, (re)created here since this path is rare and a
    // rolled-back transaction takes earlier definitions with it.
    const castFunctions = new Map<string, { name: string; ddl: string }>()
    const safeCast = safe
      ? (type: string): string => {
          const f = castFunctions.get(type) ?? safeCastFunction(type)
          castFunctions.set(type, f)
          return f.name
        }
      : undefined
    w.columns.forEach((c, i) => {
      const x = `s.${quoteIdent(c.stage)}`
      const { expr, nullable } = typedExpression(c, x, kind.kind === 'copy' ? sourceTypes.get(c.source) : undefined, safeCast)
      typed.push(`${expr} AS v${i}`, `${x} AS r${i}`)
      if (nullable || safe) {
        changes.push(
          `CASE WHEN t.r${i} IS NOT NULL AND t.v${i} IS NULL THEN jsonb_build_object('field', ${quoteLiteral(c.source)}, 'change', 'NULLED', 'reason', 'DESTINATION_TYPECAST_ERROR') END`,
        )
      }
    })
    const syncId = Number(w.cs.syncId) || 0
    const sourceChanges = `COALESCE(t.ch::jsonb, '[]'::jsonb)`
    const meta =
      changes.length === 0
        ? `CASE WHEN t.ch IS NULL THEN '${JSON.stringify({ changes: [], sync_id: syncId })}'::jsonb ELSE jsonb_build_object('changes', t.ch::jsonb, 'sync_id', ${syncId}) END`
        : `jsonb_build_object('changes', COALESCE((SELECT jsonb_agg(x) FROM unnest(ARRAY[${changes.join(', ')}]::jsonb[]) x WHERE x IS NOT NULL), '[]'::jsonb) || ${sourceChanges}, 'sync_id', ${syncId})`
    const rawId = w.raw ? ', s._sluice_raw_id AS rid' : ''
    const inner = `SELECT ${typed.join(', ')}, s._sluice_changes AS ch, s._sluice_extracted_at AS ea, s._sluice_seq AS seq${rawId} FROM ${source} s`
    let from = `(${inner}) t`
    if (w.dedup) {
      const idx = (c: ColumnPlan): number => w.columns.indexOf(c)
      const order = [
        ...(w.cursor ? [`t.v${idx(w.cursor)} DESC NULLS LAST`] : []),
        't.ea DESC',
        't.seq DESC',
      ]
      from = `(SELECT t.*, row_number() OVER (PARTITION BY ${w.pk.map((c) => `t.v${idx(c)}`).join(', ')} ORDER BY ${order.join(', ')}) AS rn FROM (${inner}) t) t WHERE t.rn = 1`
    }
    const targetCols = [...w.columns.map((c) => quoteIdent(c.name)), ...AIRBYTE_COLUMNS.map((c) => quoteIdent(c.name))]
    const values = [
      ...w.columns.map((_c, i) => `t.v${i}`),
      w.raw ? 't.rid' : 'gen_random_uuid()::text',
      'to_timestamp(t.ea / 1000.0)',
      meta,
      String(Number(w.cs.generationId) || 0),
    ]
    for (const f of castFunctions.values()) await this.#q(f.ddl)
    // Dedup streams type into their temporary table first; #dedup moves the rows on.
    const into = w.dedup ? quoteIdent(w.typedTable) : w.qualifiedTarget
    await this.#q(`INSERT INTO ${into} (${targetCols.join(', ')}) SELECT ${values.join(', ')} FROM ${from}`)
  }

  /**
   * Applies the typed incoming rows to the final table with joins, no window over the table:
   * rows COPYed directly are first reduced to one per key; incoming rows older than the row
   * already there are dropped
   * (higher cursor wins, NULL lowest; then later extraction; a full tie goes to the incoming
   * row), the rows they supersede are deleted, the rest inserted except CDC deletes (their
   * key is left without a row).
   */
  async #dedup(w: PgStreamTable): Promise<void> {
    const target = w.qualifiedTarget
    const typed = quoteIdent(w.typedTable)
    if (w.directRows) {
      // Rows COPYed as they came: keep the latest per key (a full tie goes to the later row).
      await this.#q(
        `DELETE FROM ${typed} a USING ${typed} b WHERE ${keyJoin(w, 'a', 'b')} AND a.ctid <> b.ctid ` +
          `AND ((${newerThan(w, 'b', 'a')}) OR (${sameRank(w, 'b', 'a')} AND b.ctid > a.ctid))`,
      )
      w.directRows = false
    }
    const join = keyJoin(w, 'f', 't')
    await this.#q(`DELETE FROM ${typed} t USING ${target} f WHERE ${join} AND (${newerThan(w, 'f', 't')})`)
    await this.#q(`DELETE FROM ${target} f USING ${typed} t WHERE ${join}`)
    const cols = [...w.columns.map((c) => quoteIdent(c.name)), ...AIRBYTE_COLUMNS.map((c) => quoteIdent(c.name))].join(', ')
    // A key whose latest row is a CDC delete loses its row above and gets none back.
    const deletedAt = w.columns.find((c) => c.source === '_ab_cdc_deleted_at')
    const live = deletedAt ? ` WHERE ${quoteIdent(deletedAt.name)} IS NULL` : ''
    await this.#q(`INSERT INTO ${target} (${cols}) SELECT ${cols} FROM ${typed}${live}`)
    await this.#q(`TRUNCATE ${typed}`)
  }
}

/**
 * The defaults of `_airbyte_meta` and `_airbyte_generation_id` (SQL by column name) on the
 * targets a write creates: the write's own values, which its direct COPYs leave to them.
 */
function airbyteDefaults(w: PgStreamTable): Map<string, string> {
  return new Map([
    ['_airbyte_meta', `${quoteLiteral(metaJson(w))}::jsonb`],
    ['_airbyte_generation_id', String(Number(w.cs.generationId) || 0)],
  ])
}

/**
 * Creates the schema only when it is missing: `CREATE SCHEMA IF NOT EXISTS` checks the
 * database's CREATE privilege even for an existing schema, which a writer may lack.
 */
export async function ensureSchema(client: PgClient, schema: string): Promise<void> {
  const found = await client.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [schema])
  if (found.rowCount === 0) await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`)
}
