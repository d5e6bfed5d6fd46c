import type { SourceMessage } from '../../protocol/index.js'
import { readCopy, type CopyCutter } from './pg-copy-read.js'
import type { PgStreamRead } from './pg-stream-read.js'

/** Where a ctid-chunked read stands: the next page to read, in the file the earlier pages came from. */
export interface CtidPosition {
  page: number
  /** `pg_relation_filenode` of the table when the read began (a rewrite changes it). */
  relfilenode: string
}

/** Whether the relation has heap pages of its own to read by ctid ranges (tables and materialized views). */
export function hasCtidPages(read: PgStreamRead): boolean {
  return read.relation.relkind === 'r' || read.relation.relkind === 'm'
}

/** The table's current file node (changed by VACUUM FULL, CLUSTER, TRUNCATE, ALTER TABLE rewrites). */
async function relationFilenode(read: PgStreamRead): Promise<string> {
  const r = await read.client.query<{ node: string | null }>(`SELECT pg_relation_filenode($1::regclass)::text AS node`, [read.table])
  return r.rows[0]?.node ?? ''
}

/** The table's size in pages (exact: `pg_relation_size`, not the planner's `relpages`) and its page size. */
async function relationPages(read: PgStreamRead): Promise<{ pages: number; blockSize: number }> {
  const r = await read.client.query<{ pages: string; block: string }>(
    `SELECT (pg_relation_size($1::regclass) / current_setting('block_size')::int)::text AS pages, current_setting('block_size') AS block`,
    [read.table],
  )
  return { pages: Number(r.rows[0]!.pages), blockSize: Number(r.rows[0]!.block) }
}

/**
 * Reads a table by ctid ranges: its pages split into chunks of `chunkBytes` of heap (as
 * Airbyte's Postgres source sizes its ctid chunks by relation size), each
 * `COPY (SELECT ... WHERE ctid >= '(a,0)' AND ctid < '(b,0)') TO STDOUT` (a TID range scan:
 * sequential, no sort), then `checkpoint(next)` with the first page of the next chunk. The last
 * chunk is open-ended, so pages added since the start are read too; a table read from page 0
 * in one chunk is a plain `COPY` (a bounded TID range scan reads its pages into shared buffers
 * instead of the sequential scan's small ring: about 0.6 s more per million rows of the bench
 * table, so chunks are large). `cutter()` gives the batch cutter of each chunk.
 *
 * The file node is checked after each chunk: it never returns to an earlier value, so a match
 * proves no rewrite happened before the chunk was read. A mismatch (at the start, against
 * `from`, or after a chunk) ends the read with false: the table was rewritten and its ctids no
 * longer match; the caller decides what to do. True when the last chunk was read.
 */
export async function* readCtidChunks(
  read: PgStreamRead,
  select: string,
  from: CtidPosition | undefined,
  chunkBytes: number,
  cutter: () => CopyCutter,
  checkpoint: (next: CtidPosition) => SourceMessage,
): AsyncGenerator<SourceMessage, boolean> {
  const node = await relationFilenode(read)
  if (from && from.relfilenode !== node) return false
  const { pages, blockSize } = await relationPages(read)
  const step = Math.max(1, Math.floor(chunkBytes / blockSize))
  let page = from?.page ?? 0
  for (;;) {
    const end = page + step
    const last = end >= pages
    const where = last
      ? page === 0
        ? ''
        : ` WHERE ctid >= '(${page},0)'::tid`
      : ` WHERE ctid >= '(${page},0)'::tid AND ctid < '(${end},0)'::tid`
    yield* readCopy(read, `SELECT ${select} FROM ${read.table}${where}`, cutter())
    const now = await relationFilenode(read)
    if (now !== node) return false
    if (last) return true
    page = end
    yield checkpoint({ page, relfilenode: node })
  }
}
