import { randomUUID } from 'node:crypto'
import type { ConstantColumn, InitialSnapshotHint, SourceMessage } from '../../protocol/index.js'
import { countCopyRows } from '../../formats/copy-text.js'
import { copyTextBatchWithConstants } from '../../formats/copy-text-values.js'
import { fieldDecoders, readCopy, stateMessage, type CopyCutter } from './pg-copy-read.js'
import { hasCtidPages, readCtidChunks, type CtidPosition } from './pg-ctid-chunks.js'
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
  /** The first page (block) of the table still to copy; 0 before the first chunk. */
  page: number
  /** `pg_relation_filenode` of the table the copied pages came from; absent before the first chunk. */
  relfilenode?: string
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
 * Copies a table for its initial snapshot by ctid ranges (`readCtidChunks`: sequential page
 * ranges of `chunkBytes` of heap, no ORDER BY), with a STATE after each chunk holding the next
 * page, so a retried sync resumes after the last chunk. Views and partitioned tables (no pages
 * of their own) are copied in one piece. Returns the state with the snapshot removed (the
 * caller emits it).
 *
 * Each chunk is one `COPY`, so one database snapshot: when the configured primary key covers
 * the table's primary key, its batches carry an `initialSnapshot` hint with a scope of their
 * own (a destination may load the first chunk into an empty table without merging; the chunks
 * after it may repeat a key whose row moved while the snapshot ran).
 *
 * The chunks need not share one database snapshot: the change stream replays every commit
 * since `state.lsn`, taken before the first chunk, so a row changed (or moved to another page)
 * after it arrives again as a change with a higher `_ab_cdc_lsn` than the snapshot rows. A
 * rewrite of the table (VACUUM FULL, CLUSTER) renumbers its ctids: the snapshot starts over.
 */
export async function* readCdcSnapshot(
  read: PgStreamRead,
  state: CdcStreamState & { snapshot: CdcSnapshotState },
  chunkBytes: number,
): AsyncGenerator<SourceMessage, CdcStreamState> {
  const { table, stream } = read
  const snapshot = state.snapshot
  // The three change columns hold one value per snapshot: the server copies the table's own
  // columns, as a Standard read does, and the batches carry the three apart.
  const values = [String(parseLsn(snapshot.label_lsn)), snapshot.started_at, null]
  const constants: ConstantColumn[] = CDC_META_COLUMNS.map((c, i) => ({ name: c.name, pgType: c.pgType, value: values[i] ?? null }))
  const select = read.selectList
  const names = read.columns.map((c) => c.name)
  const pgTypes = read.columns.map((c) => c.pgType)
  const decoders = fieldDecoders(read.columns)
  const constantDecoders = fieldDecoders(CDC_META_COLUMNS)
  const uniqueKey = uniqueKeyOf(read)
  const cutter = (): CopyCutter => {
    const hint: InitialSnapshotHint | undefined = uniqueKey && { scope: randomUUID(), uniqueKey }
    return (data) => {
      const batch = copyTextBatchWithConstants(stream, names, pgTypes, decoders, constants, constantDecoders, data, countCopyRows(data))
      if (hint) batch.initialSnapshot = hint
      return [batch]
    }
  }
  const done: CdcStreamState = { version: 2, state_type: 'cdc', lsn: state.lsn }
  if (!hasCtidPages(read)) {
    yield* readCopy(read, `SELECT ${select} FROM ${table}`, cutter())
    return done
  }
  let from: CtidPosition | undefined = snapshot.relfilenode === undefined ? undefined : { page: snapshot.page, relfilenode: snapshot.relfilenode }
  for (;;) {
    const checkpoint = (next: CtidPosition): SourceMessage => {
      const { label_lsn, started_at } = snapshot
      const chunked: CdcStreamState = { ...done, snapshot: { label_lsn, started_at, page: next.page, relfilenode: next.relfilenode } }
      return stateMessage(stream, chunked as unknown as Record<string, unknown>)
    }
    if (yield* readCtidChunks(read, select, from, chunkBytes, cutter, checkpoint)) return done
    yield {
      type: 'LOG',
      level: 'WARN',
      message: `${read.label} was rewritten (VACUUM FULL, CLUSTER or a table rewrite) during its snapshot: its row positions changed, so the snapshot starts again from the first page.`,
    }
    from = undefined
  }
}

/**
 * The table's primary key when the configured key holds all of its columns (so configured keys
 * are unique and not NULL in one database snapshot too); undefined otherwise (no constraint, a
 * view, or a key the user chose).
 */
function uniqueKeyOf(read: PgStreamRead): string[] | undefined {
  const pk = read.relation.primaryKey
  if (pk.length === 0) return undefined
  const configured = new Set(read.configured.primaryKey.filter((path) => path.length === 1).map((path) => path[0]!))
  return pk.every((c) => configured.has(c)) ? [...pk] : undefined
}
