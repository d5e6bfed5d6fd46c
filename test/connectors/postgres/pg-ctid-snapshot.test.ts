import { after, before, describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { runAttempt } from '../../../src/engine/index.js'
import type { ConfiguredCatalog, SourceMessage, StateMessage } from '../../../src/protocol/index.js'
import { streamKey } from '../../../src/protocol/index.js'
import { PostgresSource } from '../../../src/connectors/postgres/postgres-source.js'
import { PostgresDestination } from '../../../src/connectors/postgres/postgres-destination.js'
import { createTestDatabase, memoryLogger, runOptions, type TestDatabase } from '../../helpers/pg.js'
import { collect, configure } from './pg-test-utils.js'
import { createSlot, dropSlots } from './pg-cdc-test-utils.js'

// CDC snapshots by ctid ranges. Tables carry 1,000-byte pads: 7 rows per 8 kB page, so a few
// dozen rows make several pages; a chunk of 8 kB of heap is one page.
let db: TestDatabase
const slots: string[] = []
const source = new PostgresSource({ batchBytes: 2048, checkpointRows: 3, snapshotChunkBytes: 8192 })

before(async () => {
  db = await createTestDatabase('pgctid')
})
after(async () => {
  await dropSlots(slots)
  await db.drop()
})

async function cdcSetup(t: TestContext, tag: string, table: string): Promise<Record<string, unknown>> {
  const slot = await createSlot(db, tag)
  slots.push(slot)
  t.after(() => dropSlots([slot]))
  await db.query(`CREATE PUBLICATION pub_${tag} FOR TABLE ${table}`)
  return { ...db.config, replication_method: { method: 'CDC', replication_slot: slot, publication: `pub_${tag}`, initial_waiting_seconds: 120 } }
}

async function incremental(cfg: Record<string, unknown>, mode: 'append' | 'append_dedup' = 'append'): Promise<ConfiguredCatalog> {
  return configure(await source.discover(cfg, runOptions()), { syncMode: 'incremental', destinationSyncMode: mode })
}

function latest(prior: StateMessage[], states: StateMessage[]): StateMessage[] {
  const byStream = new Map(prior.map((s) => [streamKey(s.stream), s]))
  for (const s of states) byStream.set(streamKey(s.stream), s)
  return [...byStream.values()]
}

const snapshotPage = (m: StateMessage): number | undefined => (m.data as { snapshot?: { page: number } }).snapshot?.page

/** Reads until the STATE whose snapshot page is `page` (a failed attempt whose last committed state is that one). */
async function readUntilPage(cfg: Record<string, unknown>, catalog: ConfiguredCatalog, page: number) {
  const rows: Record<string, unknown>[] = []
  const states: StateMessage[] = []
  for await (const m of source.read(cfg, catalog, [], runOptions())) {
    if (m.type === 'RECORD_BATCH') rows.push(...m.rows())
    if (m.type !== 'STATE') continue
    states.push(m)
    if (snapshotPage(m) === page) break
  }
  return { rows, states }
}

async function readAll(cfg: Record<string, unknown>, catalog: ConfiguredCatalog, prior: StateMessage[]) {
  const logs: string[] = []
  async function* tap(messages: AsyncIterable<SourceMessage>): AsyncGenerator<SourceMessage> {
    for await (const m of messages) {
      if (m.type === 'LOG') logs.push(`${m.level} ${m.message}`)
      yield m
    }
  }
  return { ...(await collect(tap(source.read(cfg, catalog, prior, runOptions())))), logs }
}

const multiset = (rows: Record<string, unknown>[]) => rows.map((r) => `${String(r.k)}|${String(r.v)}`).sort()

describe('ctid-range snapshot', () => {
  test('a table without a primary key: chunks of pages, a failure after chunk 3, the retry copies the rest exactly once', async (t) => {
    // 60 rows in 9 pages. Duplicate rows: only a multiset comparison can tell a row read twice from two equal rows.
    await db.query(`CREATE TABLE nopk (k int, v text, pad text)`)
    await db.query(`INSERT INTO nopk SELECT g % 10, 'v' || (g % 10), repeat('p', 1000) FROM generate_series(1, 60) g`)
    const cfg = await cdcSetup(t, 'nopk', 'nopk')
    const catalog = await incremental(cfg)
    const failed = await readUntilPage(cfg, catalog, 3)
    assert.deepEqual(failed.states.map(snapshotPage), [0, 1, 2, 3])
    assert.equal(failed.rows.length, 21)
    const retry = await readAll(cfg, catalog, latest([], failed.states))
    assert.ok(retry.logs.includes('INFO Resuming the snapshot of "public"."nopk" at page 3.'), retry.logs.join('\n'))
    assert.deepEqual(retry.states.map(snapshotPage).filter((p) => p !== undefined), [4, 5, 6, 7, 8])
    const table = await db.query(`SELECT k, v FROM nopk`)
    assert.deepEqual(multiset([...failed.rows, ...retry.rows]), multiset(table.rows))
  })

  test('a table rewritten (VACUUM FULL) between attempts: the snapshot starts again from page 0', async (t) => {
    await db.query(`CREATE TABLE rewritten (k int PRIMARY KEY, v text, pad text)`)
    await db.query(`INSERT INTO rewritten SELECT g, 'r' || g, repeat('p', 1000) FROM generate_series(1, 42) g`)
    const cfg = await cdcSetup(t, 'rewrite', 'rewritten')
    const catalog = await incremental(cfg)
    const failed = await readUntilPage(cfg, catalog, 2)
    const node = (failed.states.at(-1)!.data as { snapshot: { relfilenode: string } }).snapshot.relfilenode
    await db.query(`DELETE FROM rewritten WHERE k % 2 = 0`)
    await db.query(`VACUUM FULL rewritten`)
    const now = await db.query<{ node: string }>(`SELECT pg_relation_filenode('rewritten')::text AS node`)
    assert.notEqual(now.rows[0]!.node, node)
    const retry = await readAll(cfg, catalog, latest([], failed.states))
    assert.ok(retry.logs.some((l) => /^WARN "public"."rewritten" was rewritten .* starts again from the first page\.$/.test(l)), retry.logs.join('\n'))
    // The whole table again (the 21 odd keys, now in 3 pages), then the 21 deletes from the stream.
    const snapshotRows = retry.rows.filter((r) => r._ab_cdc_deleted_at === null)
    assert.deepEqual(snapshotRows.map((r) => r.k).sort((a, b) => Number(a) - Number(b)), Array.from({ length: 21 }, (_, i) => 2 * i + 1))
    assert.equal(retry.rows.filter((r) => r._ab_cdc_deleted_at !== null).length, 21)
  })

  test('a table rewritten between two chunks of one read: the snapshot starts again and still covers every row', async (t) => {
    await db.query(`CREATE TABLE midway (k int PRIMARY KEY, v text, pad text)`)
    await db.query(`INSERT INTO midway SELECT g, 'w' || g, repeat('p', 1000) FROM generate_series(1, 42) g`)
    const cfg = await cdcSetup(t, 'midway', 'midway')
    const catalog = await incremental(cfg)
    const rows: Record<string, unknown>[] = []
    const logs: string[] = []
    let states: StateMessage[] = []
    let rewrote = false
    for await (const m of source.read(cfg, catalog, [], runOptions())) {
      if (m.type === 'RECORD_BATCH') rows.push(...m.rows())
      if (m.type === 'LOG') logs.push(`${m.level} ${m.message}`)
      if (m.type === 'STATE') states = latest(states, [m])
      if (!rewrote && m.type === 'STATE' && snapshotPage(m) === 2) {
        rewrote = true
        // Deleted rows leave the rewritten file smaller: its pages hold other rows than before.
        await db.query(`DELETE FROM midway WHERE k <= 14`)
        await db.query(`VACUUM FULL midway`)
      }
    }
    assert.equal(rewrote, true)
    assert.equal(logs.filter((l) => /^WARN "public"."midway" was rewritten/.test(l)).length, 1)
    const keys = (rs: Record<string, unknown>[]) => [...new Set(rs.map((r) => Number(r.k)))].sort((a, b) => a - b)
    // Pages 0 and 1 (keys 1-14) were copied before the rewrite; every remaining key after it.
    assert.deepEqual(keys(rows), Array.from({ length: 42 }, (_, i) => i + 1))
    assert.ok(rows.every((r) => r._ab_cdc_deleted_at === null))
    // The deletes committed after the sync began: the next sync streams them.
    const next = await readAll(cfg, catalog, states)
    assert.deepEqual(keys(next.rows.filter((r) => r._ab_cdc_deleted_at !== null)), Array.from({ length: 14 }, (_, i) => i + 1))
  })

  test('rows updated, moved, deleted and inserted during the snapshot: after the next sync append_dedup equals the table', async (t) => {
    await db.query(`CREATE TABLE moving (k int PRIMARY KEY, v text, pad text)`)
    await db.query(`INSERT INTO moving SELECT g, 'm' || g, repeat('p', 1000) FROM generate_series(1, 70) g`)
    // Free space in page 1, so some updated rows may move backwards (into pages already copied).
    await db.query(`DELETE FROM moving WHERE k BETWEEN 8 AND 12`)
    await db.query(`VACUUM moving`)
    const cfg = await cdcSetup(t, 'moving', 'moving')
    const catalog = await incremental(cfg, 'append_dedup')
    let changed = false
    // After the first chunk's state: rows of copied and uncopied pages grow (they no longer fit their page and move).
    const changing = {
      spec: source.spec,
      check: source.check.bind(source),
      discover: source.discover.bind(source),
      async *read(...args: Parameters<PostgresSource['read']>): AsyncGenerator<SourceMessage> {
        for await (const m of source.read(...args)) {
          yield m
          if (!changed && m.type === 'STATE' && snapshotPage(m) === 1) {
            changed = true
            await db.query(`UPDATE moving SET v = 'moved', pad = repeat('q', 1500) WHERE k IN (2, 3, 30, 31, 60)`)
            await db.query(`UPDATE moving SET v = 'small', pad = 'x' WHERE k IN (40, 41, 50)`)
            await db.query(`DELETE FROM moving WHERE k IN (4, 45, 65)`)
            await db.query(`INSERT INTO moving SELECT g, 'new', repeat('n', 1000) FROM generate_series(100, 110) g`)
          }
        }
      },
    }
    let saved: StateMessage[] = []
    // The changes committed while the snapshot ran: the second sync streams them.
    for (const sync of [changing, source]) {
      await runAttempt({
        source: sync,
        sourceConfig: cfg,
        destination: new PostgresDestination(),
        destinationConfig: { ...db.config, schema: 'dw_moving' },
        catalog,
        mapping: { namespaceDefinition: 'destination' },
        state: saved,
        options: { signal: new AbortController().signal, logger: memoryLogger(), context: { dataDir: '/tmp', localFilesRoot: '/tmp' } },
        async onStateCommitted(states) {
          saved = latest(saved, states)
        },
      })
    }
    assert.equal(changed, true)
    const src = await db.query(`SELECT k, v, md5(pad) AS pad FROM moving ORDER BY k`)
    const dst = await db.query(`SELECT k, v, md5(pad) AS pad FROM dw_moving.moving ORDER BY k`)
    assert.deepEqual(dst.rows.map((r) => ({ ...r, k: Number(r.k) })), src.rows)
  })
})
