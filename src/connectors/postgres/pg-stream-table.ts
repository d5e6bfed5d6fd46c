import type { ConfiguredCatalog, ConfiguredStream } from '../../protocol/index.js'
import { streamKey, streamLabel } from '../../protocol/index.js'
import { configError } from '../../errors.js'
import type { PostgresDestinationConfig } from './postgres-config.js'
import { internalTypeOf, pgTypeOf, type InternalType } from './pg-destination-types.js'
import { collisionTableName, normalizeIdentifier, qualified, rawTableName, suffixedName, uniqueColumnNames } from './pg-identifiers.js'
import type { RawTablePlan } from './pg-raw-tables.js'

/** The raw-table schema of the Destinations V2 layout: normalised and lower-cased like raw names. */
export function rawSchemaOf(config: PostgresDestinationConfig): string {
  return normalizeIdentifier(config.raw_data_schema || 'airbyte_internal').toLowerCase()
}

/** The Airbyte metadata columns of every final table (Destinations V2 / Direct Load). */
export const AIRBYTE_COLUMNS: ReadonlyArray<{ name: string; ddl: string; type: string }> = [
  { name: '_airbyte_raw_id', ddl: 'character varying(36) NOT NULL', type: 'character varying(36)' },
  { name: '_airbyte_extracted_at', ddl: 'timestamp with time zone NOT NULL', type: 'timestamp with time zone' },
  { name: '_airbyte_meta', ddl: 'jsonb NOT NULL', type: 'jsonb' },
  { name: '_airbyte_generation_id', ddl: 'bigint', type: 'bigint' },
]

/** One final column: where it comes from, its name and type in the table. */
export interface ColumnPlan {
  /** Property name in the record (and in the source). */
  source: string
  /** Normalised column name in the final table. */
  name: string
  internal: InternalType
  /** The column's type in the final table (schema evolution makes the table match it). */
  pgType: string
  /** Staging column (text). */
  stage: string
}

/** A final column added after the rows: `defaultSql` is every present row's value (a constant SQL expression; null for NULL). */
export interface DeferredColumn {
  name: string
  ddl: string
  defaultSql: string | null
  /** Whether rows inserted later also take `defaultSql` (the Airbyte columns), or NULL. */
  keepDefault: boolean
}

/** How the rows currently in a stream's staging table were encoded. */
export type StageKind = { kind: 'rows' } | { kind: 'copy'; columns: string[]; pgTypes: string[]; signature: string }

/** Per-stream state of one write: table plan, staging table, what is staged and not yet typed. */
export class PgStreamTable {
  readonly cs: ConfiguredStream
  readonly schema: string
  readonly table: string
  target: string
  truncate: boolean
  readonly dedup: boolean
  readonly columns: ColumnPlan[]
  readonly pk: ColumnPlan[] = []
  readonly cursor: ColumnPlan | undefined
  readonly stageTable: string
  /** Dedup streams: the typed incoming rows (latest per key) before they replace older ones. */
  readonly typedTable: string
  ready = false
  staged = false
  /** Rows were COPYed straight into the typed table since the last merge (dedup streams). */
  directRows = false
  stageKind: StageKind | undefined
  /**
   * Dedup streams (Direct Load): initial-snapshot rows may still be COPYed straight into the
   * target (it was empty when this write began, and every batch so far was such rows of one
   * scope). Cleared for good by the first other batch.
   */
  snapshotDirect = false
  /** The target's `_airbyte_meta` and `_airbyte_generation_id` default to this write's values (set by setup). */
  airbyteDefaults = false
  /**
   * The target does not exist yet: this write creates it in its first data transaction, out of
   * other sessions' sight until the commit (Direct Load tables setup found missing: an
   * overwrite's temporary table, a new dedup table).
   */
  createPending = false
  /**
   * Columns the target was created without because every row COPYed into it so far has the same
   * value in them: they are added with that value as the rows' own (a fast column default,
   * nothing rewritten) before the target is indexed, committed or merged into.
   */
  deferredColumns: DeferredColumn[] | undefined
  /** The target's key index is still to be built (dedup tables this write found empty). */
  keyIndexPending = false
  /** The target was loaded and never analyzed: it is analyzed before the next merge into it. */
  analyzeBeforeMerge = false
  /** The snapshot scope of the rows loaded straight into the target (`InitialSnapshotHint`). */
  snapshotScope: string | undefined
  completed = false
  /** Destinations V2 layout: the stream's raw table (undefined in Direct Load). */
  raw: RawTablePlan | undefined
  /** Rows COPYed into the raw table since the last typing. */
  rawNew = false
  /**
   * `_airbyte_loaded_at` of the rows COPYed since the last typing: they are written already
   * marked and become visible only together with their typed rows (same transaction, or the
   * swap of a truncate sync), so no UPDATE rewrites them.
   */
  rawMark: string | undefined
  /** The raw table holds rows an earlier write left untyped (`_airbyte_loaded_at` NULL). */
  rawUnloaded = false

  constructor(
    cs: ConfiguredStream,
    schema: string,
    table: string,
    index: number,
    unconstrained: boolean,
    raw?: { schema: string; table: string },
  ) {
    this.cs = cs
    this.schema = schema
    this.table = table
    this.truncate =
      cs.destinationSyncMode === 'overwrite' ||
      cs.destinationSyncMode === 'overwrite_dedup' ||
      (cs.minimumGenerationId > 0 && cs.minimumGenerationId === cs.generationId)
    this.raw = raw && { ...raw, target: this.truncate ? suffixedName(raw.table, '_airbyte_tmp') : raw.table }
    this.dedup = cs.destinationSyncMode === 'append_dedup' || cs.destinationSyncMode === 'overwrite_dedup'
    this.target = this.truncate ? suffixedName(table, '_airbyte_tmp') : table
    this.stageTable = `_sluice_stage_${index}`
    this.typedTable = `_sluice_typed_${index}`
    const props = (cs.stream.jsonSchema.properties ?? {}) as Record<string, Record<string, unknown>>
    const names = Object.keys(props)
    const finalNames = uniqueColumnNames(names, AIRBYTE_COLUMNS.map((c) => c.name))
    this.columns = names.map((source, i) => {
      const internal = internalTypeOf(props[source])
      return { source, name: finalNames.get(source)!, internal, pgType: pgTypeOf(internal, unconstrained), stage: `c${i}` }
    })
    const byName = new Map(this.columns.map((c) => [c.source, c]))
    if (this.dedup) {
      if (cs.primaryKey.length === 0) {
        throw configError(`Stream ${streamLabel(cs.stream)} uses ${cs.destinationSyncMode} but has no primary key.`)
      }
      for (const path of cs.primaryKey) {
        if (path.length !== 1) throw configError(`Only top-level primary keys are supported (stream ${streamLabel(cs.stream)}).`)
        const col = byName.get(path[0]!)
        if (!col) throw configError(`Primary key column "${path[0]}" is not in the schema of stream ${streamLabel(cs.stream)}.`)
        this.pk.push(col)
      }
    }
    if (cs.cursorField.length === 1) this.cursor = byName.get(cs.cursorField[0]!)
  }

  get qualifiedTarget(): string {
    return qualified(this.schema, this.target)
  }

  /**
   * A truncate sync whose table already holds this generation, and only it: an earlier attempt of
   * the same job swapped it in, and the source resumes after that attempt's state. Writes then go
   * straight into the table (and its raw table), as Airbyte destinations do when the final
   * table's generation is the sync's; a fresh temporary table would swap in only the rows read
   * since.
   */
  writeIntoFinal(): void {
    this.truncate = false
    this.target = this.table
    if (this.raw) this.raw = { ...this.raw, target: this.raw.table }
  }
}

/** Table name of each stream, with Airbyte's collision suffix when two streams meet. */
export function planTables(catalog: ConfiguredCatalog, defaultSchema: string): Map<string, { schema: string; table: string }> {
  const out = new Map<string, { schema: string; table: string }>()
  const used = new Set<string>()
  for (const cs of catalog.streams) {
    const schema = normalizeIdentifier(cs.stream.namespace || defaultSchema)
    let table = normalizeIdentifier(cs.stream.name)
    if (used.has(`${schema}\u0000${table}`)) table = collisionTableName(schema, cs.stream.name)
    used.add(`${schema}\u0000${table}`)
    out.set(streamKey(cs.stream), { schema, table })
  }
  return out
}

/**
 * Raw table of each stream (Destinations V2 layout). Distinct streams only meet after the
 * 63-character cut; the later one then takes the same hash suffix as final tables do.
 */
export function planRawTables(catalog: ConfiguredCatalog, defaultSchema: string, rawSchema: string): Map<string, { schema: string; table: string }> {
  const out = new Map<string, { schema: string; table: string }>()
  const used = new Set<string>()
  for (const cs of catalog.streams) {
    const namespace = cs.stream.namespace || defaultSchema
    let table = rawTableName(namespace, cs.stream.name)
    if (used.has(table)) table = collisionTableName(rawSchema, table).toLowerCase()
    used.add(table)
    out.set(streamKey(cs.stream), { schema: rawSchema, table })
  }
  return out
}
