import { after, before, describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { runAttempt } from '../../../src/engine/index.js'
import type { ConfiguredCatalog, SourceMessage, StateMessage } from '../../../src/protocol/index.js'
import { streamKey } from '../../../src/protocol/index.js'
import { PostgresSource } from '../../../src/connectors/postgres/postgres-source.js'
import { PostgresDestination } from '../../../src/connectors/postgres/postgres-destination.js'
import { createTestDatabase, memoryLogger, runOptions, type TestDatabase } from '../../helpers/pg.js'
import { collect, configure, rejection } from './pg-test-utils.js'
import { createSlot, dropSlots, waitForSlotInactive } from './pg-cdc-test-utils.js'
import { slotProblem } from '../../../src/connectors/postgres/pg-cdc-check.js'

let db: TestDatabase
const slots: string[] = []
const source = new PostgresSource({ batchBytes: 512, checkpointRows: 3, snapshotChunkBytes: 8192 })

before(async () => {
  db = await createTestDatabase('pgcdc')
})
after(async () => {
  // Slots are cluster-wide and hold WAL forever: drop them first (a database with slots cannot be dropped).
  await dropSlots(slots)
  await db.drop()
})

/** A CDC config over a fresh slot and publication named after the test. */
async function cdcSetup(t: TestContext, tag: string, tables: string, extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const slot = await createSlot(db, tag)
  slots.push(slot)
  // max_replication_slots is small and shared: each test frees its slot (after() catches the rest).
  t.after(() => dropSlots([slot]))
  const publication = `pub_${tag}`
  await db.query(`CREATE PUBLICATION ${publication} FOR TABLE ${tables}`)
  return {
    ...db.config,
    replication_method: { method: 'CDC', replication_slot: slot, publication, initial_waiting_seconds: 120, ...extra },
  }
}

/** The last state per stream. */
function latest(prior: StateMessage[], states: StateMessage[]): StateMessage[] {
  const byStream = new Map(prior.map((s) => [streamKey(s.stream), s]))
  for (const s of states) byStream.set(streamKey(s.stream), s)
  return [...byStream.values()]
}

/** One read of the source alone: rows (decoded) and the states to pass to the next. */
async function read(cfg: Record<string, unknown>, catalog: ConfiguredCatalog, prior: StateMessage[]) {
  const logs: string[] = []
  async function* tap(messages: AsyncIterable<SourceMessage>): AsyncGenerator<SourceMessage> {
    for await (const m of messages) {
      if (m.type === 'LOG') logs.push(`${m.level} ${m.message}`)
      yield m
    }
  }
  const out = await collect(tap(source.read(cfg, catalog, prior, runOptions())))
  return { ...out, next: latest(prior, out.states), logs }
}

const bare = (rows: Record<string, unknown>[]) =>
  rows.map((r) => ({ id: r.id, v: r.v, deleted: r._ab_cdc_deleted_at !== null })).sort((a, b) => Number(a.id) - Number(b.id))

describe('check and discover', () => {
  test('check names what is missing: slot, publication, privileges', async (t) => {
    await db.query(`CREATE TABLE chk (id int PRIMARY KEY)`)
    const cfg = await cdcSetup(t, 'chk', 'chk')
    assert.deepEqual(await source.check(cfg, runOptions()), { status: 'succeeded', message: 'Connected.' })
    const rm = cfg.replication_method as Record<string, unknown>
    const noSlot = await source.check({ ...cfg, replication_method: { ...rm, replication_slot: 'nope_slot' } }, runOptions())
    assert.equal(noSlot.status, 'failed')
    assert.match(noSlot.message, /Replication slot "nope_slot" does not exist.*pg_create_logical_replication_slot\('nope_slot', 'pgoutput'\)/)
    const noPub = await source.check({ ...cfg, replication_method: { ...rm, publication: 'nope_pub' } }, runOptions())
    assert.match(noPub.message, /Publication "nope_pub" does not exist.*CREATE PUBLICATION/)
    await db.query(`CREATE PUBLICATION pub_empty`)
    const empty = await source.check({ ...cfg, replication_method: { ...rm, publication: 'pub_empty' } }, runOptions())
    assert.match(empty.message, /covers no table.*ALTER PUBLICATION/)
    const role = `sluice_norepl_${process.pid}`
    await db.query(`DROP ROLE IF EXISTS ${role}; CREATE ROLE ${role} LOGIN; GRANT SELECT ON chk TO ${role}`)
    try {
      const r = await source.check({ ...cfg, username: role }, runOptions())
      assert.match(r.message, new RegExp(`User "${role}" has neither the REPLICATION attribute nor superuser: run ALTER ROLE "${role}" WITH REPLICATION`))
    } finally {
      await db.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`)
    }
    assert.throws(() => source.validateConfig({ ...cfg, replication_method: { method: 'CDC', publication: 'p' } }), /needs replication_slot/)
  })

  test('an invalidated (lost) slot is named with the fix', () => {
    const lost = { plugin: 'pgoutput', slotType: 'logical', database: 'd', active: false, activePid: null, restartLsn: null, confirmedFlushLsn: '0/1', walStatus: 'lost', currentLsn: '0/9', lagBytes: 8 }
    assert.match(slotProblem(lost, 's', 'd')!, /"s" is invalidated \(wal_status lost\).*max_slot_wal_keep_size.*pg_drop_replication_slot\('s'\).*reset the connection's data/)
    assert.equal(slotProblem({ ...lost, walStatus: 'reserved', restartLsn: '0/1' }, 's', 'd'), undefined)
  })

  test('a slot of another plugin is named with the fix', async (t) => {
    await db.query(`CREATE TABLE chk2 (id int PRIMARY KEY)`)
    const cfg = await cdcSetup(t, 'chk2', 'chk2')
    const other = `${(cfg.replication_method as { replication_slot: string }).replication_slot}_td`
    await db.query(`SELECT pg_create_logical_replication_slot($1, 'test_decoding')`, [other])
    slots.push(other)
    t.after(() => dropSlots([other]))
    const r = await source.check({ ...cfg, replication_method: { ...(cfg.replication_method as object), replication_slot: other } }, runOptions())
    assert.match(r.message, /uses plugin "test_decoding", not pgoutput/)
  })

  test('discover lists the publication tables with the CDC columns and a source-defined cursor', async (t) => {
    await db.query(`CREATE TABLE disc_a (id int PRIMARY KEY, v text); CREATE TABLE disc_b (k1 int, k2 text, PRIMARY KEY (k1, k2)); CREATE TABLE disc_out (id int)`)
    const cfg = await cdcSetup(t, 'disc', 'disc_a, disc_b')
    const catalog = await source.discover(cfg, runOptions())
    assert.deepEqual(catalog.streams.map((s) => s.name).sort(), ['disc_a', 'disc_b'])
    const a = catalog.streams.find((s) => s.name === 'disc_a')!
    assert.equal(a.sourceDefinedCursor, true)
    assert.deepEqual(a.defaultCursorField, ['_ab_cdc_lsn'])
    assert.deepEqual(a.supportedSyncModes, ['full_refresh', 'incremental'])
    assert.deepEqual(catalog.streams.find((s) => s.name === 'disc_b')!.sourceDefinedPrimaryKey, [['k1'], ['k2']])
    const props = a.jsonSchema.properties as Record<string, unknown>
    assert.deepEqual(Object.keys(props), ['id', 'v', '_ab_cdc_lsn', '_ab_cdc_updated_at', '_ab_cdc_deleted_at'])
    assert.deepEqual(props._ab_cdc_lsn, { type: 'number', airbyte_type: 'integer' })
  })
})

describe('read', () => {
  test('snapshot in chunks, then inserts, updates, deletes; rolled-back transactions never appear', async (t) => {
    // 1,000-byte pads: 7 rows per page, so the 10 rows fill two pages.
    await db.query(`CREATE TABLE items (id int PRIMARY KEY, v text, pad text DEFAULT repeat('p', 1000))`)
    await db.query(`INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, 10) g`)
    const cfg = await cdcSetup(t, 'items', 'items')
    const catalog = configure(await source.discover(cfg, runOptions()), { syncMode: 'incremental', destinationSyncMode: 'append_dedup' })
    const first = await read(cfg, catalog, [])
    assert.deepEqual(bare(first.rows).map((r) => r.id), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    // Chunks of 8 kB are one page each: a state before the snapshot, after page 0, at its end, and at the marker.
    const snapshotStates = first.states.filter((s) => (s.data as { snapshot?: unknown }).snapshot !== undefined)
    assert.deepEqual(snapshotStates.map((s) => (s.data as { snapshot: { page: number } }).snapshot.page), [0, 1])
    const label = first.rows[0]!._ab_cdc_lsn as number
    assert.ok(first.rows.every((r) => r._ab_cdc_lsn === label && r._ab_cdc_deleted_at === null))

    await db.query(`INSERT INTO items VALUES (11, 'new'); UPDATE items SET v = 'upd' WHERE id = 2; DELETE FROM items WHERE id = 3`)
    const c = await db.client()
    try {
      await c.query(`BEGIN; INSERT INTO items VALUES (99, 'rolled back'); UPDATE items SET v = 'no' WHERE id = 1`)
      await c.query('ROLLBACK')
    } finally {
      await c.end()
    }
    const second = await read(cfg, catalog, first.next)
    assert.deepEqual(bare(second.rows), [
      { id: 2, v: 'upd', deleted: false },
      { id: 3, v: null, deleted: true },
      { id: 11, v: 'new', deleted: false },
    ])
    assert.ok(second.rows.every((r) => (r._ab_cdc_lsn as number) > label && typeof r._ab_cdc_updated_at === 'string'))
    // Nothing new: the next sync ends at its marker with no rows, and the state moves on.
    const third = await read(cfg, catalog, second.next)
    assert.equal(third.rows.length, 0)
    const lsnOf = (s: StateMessage[]) => (s[0]!.data as { lsn: string }).lsn
    assert.notEqual(lsnOf(third.next), lsnOf(second.next))
  })

  test('the slot is confirmed only up to the state the previous sync saved', async (t) => {
    await db.query(`CREATE TABLE acks (id int PRIMARY KEY)`)
    const cfg = await cdcSetup(t, 'acks', 'acks')
    const slot = (cfg.replication_method as { replication_slot: string }).replication_slot
    const catalog = configure(await source.discover(cfg, runOptions()), { syncMode: 'incremental', destinationSyncMode: 'append_dedup' })
    const confirmed = async () =>
      (await db.query<{ l: string }>(`SELECT confirmed_flush_lsn::text AS l FROM pg_replication_slots WHERE slot_name = $1`, [slot])).rows[0]!.l
    const before = await confirmed()
    const lsnOf = (states: StateMessage[]) => (states[0]!.data as { lsn: string }).lsn
    const first = await read(cfg, catalog, [])
    assert.equal(await confirmed(), before)
    await db.query(`INSERT INTO acks VALUES (1)`)
    // Read, but its states never "committed": the slot moves only to what the first sync saved.
    const lost = await read(cfg, catalog, first.next)
    assert.deepEqual(lost.rows.map((r) => r.id), [1])
    assert.equal(await confirmed(), lsnOf(first.next))
    const again = await read(cfg, catalog, first.next)
    assert.deepEqual(again.rows.map((r) => r.id), [1])
    assert.equal(await confirmed(), lsnOf(first.next))
    // The next sync confirms what the previous one saved.
    await read(cfg, catalog, again.next)
    assert.equal(await confirmed(), lsnOf(again.next))
  })

  test('a saved position behind the slot fails the sync or re-reads the table, per setting', async (t) => {
    await db.query(`CREATE TABLE stale (id int PRIMARY KEY); INSERT INTO stale VALUES (1)`)
    const cfg = await cdcSetup(t, 'stale', 'stale')
    const slot = (cfg.replication_method as { replication_slot: string }).replication_slot
    const catalog = configure(await source.discover(cfg, runOptions()), { syncMode: 'incremental', destinationSyncMode: 'append_dedup' })
    const first = await read(cfg, catalog, [])
    await db.query(`INSERT INTO stale VALUES (2)`)
    await waitForSlotInactive(slot)
    await db.query(`SELECT pg_replication_slot_advance($1, pg_current_wal_lsn())`, [slot])
    const err = await rejection(() => read(cfg, catalog, first.next))
    assert.equal(err.failureType, 'config_error')
    assert.match(err.message, /behind replication slot .*Reset the connection's data .*"Re-sync data"/)
    const resync = { ...cfg, replication_method: { ...(cfg.replication_method as object), invalid_cdc_cursor_position_behavior: 'Re-sync data' } }
    const again = await read(resync, catalog, first.next)
    assert.deepEqual(bare(again.rows).map((r) => r.id), [1, 2])
    assert.ok(again.logs.some((l) => /Reading the table again/.test(l)), again.logs.join('\n'))
  })

  test('a missing slot is a config error naming the fix', async (t) => {
    await db.query(`CREATE TABLE gone (id int PRIMARY KEY)`)
    const cfg = await cdcSetup(t, 'gone', 'gone')
    const catalog = configure(await source.discover(cfg, runOptions()), { syncMode: 'incremental', destinationSyncMode: 'append_dedup' })
    const rm = cfg.replication_method as Record<string, unknown>
    const err = await rejection(() => read({ ...cfg, replication_method: { ...rm, replication_slot: 'missing_slot' } }, catalog, []))
    assert.equal(err.failureType, 'config_error')
    assert.match(err.message, /Replication slot "missing_slot" does not exist/)
  })
})

describe('Postgres -> Postgres append_dedup', () => {
  test('deletes remove rows; the destination table ends equal to the source table', async (t) => {
    await db.query(`CREATE TABLE orders (id int PRIMARY KEY, v text)`)
    await db.query(`INSERT INTO orders SELECT g, 'o' || g FROM generate_series(1, 20) g`)
    const cfg = await cdcSetup(t, 'orders', 'orders')
    const catalog = configure(await source.discover(cfg, runOptions()), { syncMode: 'incremental', destinationSyncMode: 'append_dedup' })
    const destination = new PostgresDestination()
    const dstCfg = { ...db.config, schema: 'dw_orders' }
    let state: StateMessage[] = []
    const sync = async () => {
      const committed: StateMessage[] = []
      await runAttempt({
        source,
        sourceConfig: cfg,
        destination,
        destinationConfig: dstCfg,
        catalog,
        mapping: { namespaceDefinition: 'destination' },
        state,
        options: { signal: new AbortController().signal, logger: memoryLogger(), context: { dataDir: '/tmp', localFilesRoot: '/tmp' } },
        async onStateCommitted(states) {
          committed.push(...states)
        },
      })
      state = latest(state, committed)
    }
    const same = async () => {
      const src = await db.query(`SELECT id, v FROM orders ORDER BY id`)
      const dst = await db.query(`SELECT id, v FROM dw_orders.orders ORDER BY id`)
      assert.deepEqual(dst.rows.map((r) => ({ id: Number(r.id), v: r.v })), src.rows)
    }
    await sync()
    await db.query(`UPDATE orders SET v = 'x' WHERE id <= 5; DELETE FROM orders WHERE id BETWEEN 6 AND 8; INSERT INTO orders VALUES (21, 'n'); DELETE FROM orders WHERE id = 21; INSERT INTO orders VALUES (21, 'back')`)
    await sync()
    await same()
  })
})

describe('changes', () => {
  const incremental = async (cfg: Record<string, unknown>) =>
    configure(await source.discover(cfg, runOptions()), { syncMode: 'incremental', destinationSyncMode: 'append_dedup' })

  test('unchanged TOAST values keep the old value under REPLICA IDENTITY FULL, and are NULL with a change and a warning otherwise', async (t) => {
    await db.query(`CREATE TABLE docs (id int PRIMARY KEY, n int, body text); CREATE TABLE docs_full (id int PRIMARY KEY, n int, body text)`)
    await db.query(`ALTER TABLE docs_full REPLICA IDENTITY FULL`)
    // Random text does not compress: stored out of line (TOAST).
    await db.query(`INSERT INTO docs SELECT 1, 0, string_agg(md5(g::text), '') FROM generate_series(1, 2000) g`)
    await db.query(`INSERT INTO docs_full SELECT id, n, body FROM docs`)
    const cfg = await cdcSetup(t, 'toast', 'docs, docs_full')
    const catalog = await incremental(cfg)
    const first = await read(cfg, catalog, [])
    await db.query(`UPDATE docs SET n = 1; UPDATE docs_full SET n = 1`)
    const second = await read(cfg, catalog, first.next)
    const body = (await db.query(`SELECT body FROM docs`)).rows[0]!.body as string
    const full = second.batches.find((b) => b.stream.name === 'docs_full')!
    assert.equal(full.rows()[0]!.body, body)
    assert.equal(full.rows()[0]!.n, 1)
    const plain = second.batches.find((b) => b.stream.name === 'docs')!
    assert.equal(plain.rows()[0]!.body, null)
    assert.deepEqual(plain.changes?.get(0), [{ field: 'body', change: 'NULLED', reason: 'SOURCE_RETRIEVAL_ERROR' }])
    assert.ok(second.logs.some((l) => /WARN .*REPLICA IDENTITY FULL/.test(l)), second.logs.join('\n'))
  })

  test('a column added mid-stream is a warning, not a crash; truncate is reported', async (t) => {
    await db.query(`CREATE TABLE evolving (id int PRIMARY KEY, v text); INSERT INTO evolving VALUES (1, 'a')`)
    const cfg = await cdcSetup(t, 'evolve', 'evolving')
    const catalog = await incremental(cfg)
    const first = await read(cfg, catalog, [])
    await db.query(`INSERT INTO evolving VALUES (2, 'b'); ALTER TABLE evolving ADD COLUMN extra int; INSERT INTO evolving VALUES (3, 'c', 7); UPDATE evolving SET extra = 1 WHERE id = 1`)
    await db.query(`TRUNCATE evolving; INSERT INTO evolving VALUES (4, 'd', 0)`)
    const second = await read(cfg, catalog, first.next)
    assert.deepEqual(second.rows.map((r) => [r.id, r.v, 'extra' in r]), [
      [2, 'b', false],
      [3, 'c', false],
      [1, 'a', false],
      [4, 'd', false],
    ])
    assert.ok(second.logs.some((l) => /WARN Column "extra" of "public"."evolving" is not in the configured catalog/.test(l)), second.logs.join('\n'))
    assert.ok(second.logs.some((l) => /WARN "public"."evolving" was truncated/.test(l)), second.logs.join('\n'))
  })

  test('two tables in one publication: one stream each, states for both', async (t) => {
    await db.query(`CREATE TABLE t_one (id int PRIMARY KEY, v text); CREATE TABLE t_two (id int PRIMARY KEY, v text)`)
    await db.query(`INSERT INTO t_one VALUES (1, 'x'); INSERT INTO t_two VALUES (1, 'y')`)
    const cfg = await cdcSetup(t, 'two', 't_one, t_two')
    const catalog = await incremental(cfg)
    const first = await read(cfg, catalog, [])
    assert.equal(first.next.length, 2)
    await db.query(`BEGIN; INSERT INTO t_one VALUES (2, 'x2'); DELETE FROM t_two WHERE id = 1; COMMIT`)
    const second = await read(cfg, catalog, first.next)
    const byStream = (name: string) => second.batches.filter((b) => b.stream.name === name).flatMap((b) => b.rows())
    assert.deepEqual(bare(byStream('t_one')), [{ id: 2, v: 'x2', deleted: false }])
    assert.deepEqual(bare(byStream('t_two')), [{ id: 1, v: null, deleted: true }])
    assert.deepEqual(second.next.map((s) => s.stream.name).sort(), ['t_one', 't_two'])
  })

  test('a retried snapshot resumes after the last chunk', async (t) => {
    // 7 rows per page (1,000-byte pads): 30 rows in 5 pages, one chunk each.
    await db.query(`CREATE TABLE big (id int PRIMARY KEY, v text, pad text); INSERT INTO big SELECT g, 'b' || g, repeat('p', 1000) FROM generate_series(1, 30) g`)
    const cfg = await cdcSetup(t, 'resume', 'big')
    const catalog = await incremental(cfg)
    // The first attempt stops (fails) after its second chunk's state (pages 0 and 1 copied).
    const seen: StateMessage[] = []
    for await (const m of source.read(cfg, catalog, [], runOptions())) {
      if (m.type !== 'STATE') continue
      seen.push(m)
      if ((m.data as { snapshot?: { page: number } }).snapshot?.page === 2) break
    }
    const retry = await read(cfg, catalog, latest([], seen))
    assert.deepEqual(bare(retry.rows).map((r) => r.id), Array.from({ length: 16 }, (_, i) => 15 + i))
    assert.ok(retry.logs.some((l) => /Resuming the snapshot of "public"."big" at page 2\./.test(l)))
  })

  test('an idle database: the sync ends at its marker, the heartbeat query runs, the slot follows the WAL', async (t) => {
    await db.query(`CREATE TABLE quiet (id int PRIMARY KEY); CREATE TABLE heartbeat (at timestamptz); CREATE TABLE noise (v text)`)
    const cfg = await cdcSetup(t, 'idle', 'quiet, heartbeat', { heartbeat_action_query: 'INSERT INTO heartbeat VALUES (now())' })
    const slot = (cfg.replication_method as { replication_slot: string }).replication_slot
    const catalog = configure(await source.discover(cfg, runOptions()), { syncMode: 'incremental', destinationSyncMode: 'append', names: ['quiet'] })
    let state = (await read(cfg, catalog, [])).next
    // WAL from a table outside the publication: the slot must not hold it after the next syncs.
    await db.query(`INSERT INTO noise SELECT repeat('n', 100) FROM generate_series(1, 5000)`)
    const written = (await db.query<{ l: string }>(`SELECT pg_current_wal_lsn()::text AS l`)).rows[0]!.l
    const quiet = await read(cfg, catalog, state)
    assert.equal(quiet.rows.length, 0)
    assert.ok(quiet.logs.some((l) => /INFO Replication slot ".*": confirmed_flush_lsn .* lag \d+ bytes/.test(l)))
    state = quiet.next
    await read(cfg, catalog, state)
    const behind = await db.query<{ ok: boolean }>(`SELECT confirmed_flush_lsn > $2::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $1`, [slot, written])
    assert.equal(behind.rows[0]!.ok, true)
    assert.equal(Number((await db.query(`SELECT count(*) AS n FROM heartbeat`)).rows[0]!.n), 3)
  })
})

describe('a killed sync (kill -9 of the process)', () => {
  const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cdc-sync-child.js')
  let dir: string
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sluice-cdc-kill-'))
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  /** Runs the child sync; kills it with SIGKILL once `killWhen` holds for the committed states. Returns whether it was killed. */
  async function runChild(files: { config: string; state: string }, killWhen?: (states: StateMessage[]) => boolean): Promise<boolean> {
    const proc = spawn(process.execPath, [child, files.config, files.state], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })))
    let killed = false
    if (killWhen) {
      for (;;) {
        const done = await Promise.race([exited.then(() => true), sleep(20).then(() => false)])
        if (done) break
        const states = JSON.parse(await readFile(files.state, 'utf8')) as StateMessage[]
        if (killWhen(states)) {
          proc.kill('SIGKILL')
          killed = true
          break
        }
      }
    }
    const end = await exited
    if (!killed) assert.equal(end.code, 0, stderr)
    return killed
  }

  test('killed mid-snapshot and mid-stream, then resumed: the destination table equals the source table', async (t) => {
    await db.query(`CREATE TABLE ledger (id int PRIMARY KEY, v text, n int)`)
    await db.query(`INSERT INTO ledger SELECT g, 'l' || g, 0 FROM generate_series(1, 20000) g`)
    const cfg = await cdcSetup(t, 'kill', 'ledger')
    const catalog = configure(await source.discover(cfg, runOptions()), { syncMode: 'incremental', destinationSyncMode: 'append_dedup', names: ['ledger'] })
    const files = { config: path.join(dir, 'config.json'), state: path.join(dir, 'state.json') }
    await writeFile(
      files.config,
      JSON.stringify({
        source: cfg,
        destination: { ...db.config, schema: 'dw_kill' },
        catalog,
        options: { batchBytes: 16 * 1024, checkpointRows: 500, snapshotChunkBytes: 3 * 8192 },
      }),
    )
    await writeFile(files.state, '[]')
    const snapshotPage = (states: StateMessage[]) => (states[0]?.data as { snapshot?: { page: number } } | undefined)?.snapshot?.page
    const pages = Number((await db.query(`SELECT pg_relation_size('ledger') / 8192 AS n`)).rows[0]!.n)
    // Mid-snapshot: killed once a few chunks are committed.
    assert.equal(await runChild(files, (states) => (snapshotPage(states) ?? 0) >= 20), true)
    const mid = snapshotPage(JSON.parse(await readFile(files.state, 'utf8')) as StateMessage[])!
    assert.ok(mid >= 20 && mid < pages, `killed at page ${mid} of ${pages}`)
    await db.query(`UPDATE ledger SET n = 1 WHERE id % 7 = 0; DELETE FROM ledger WHERE id % 11 = 0`)
    await runChild(files)
    const same = async () => {
      const src = await db.query(`SELECT id, v, n FROM ledger ORDER BY id`)
      const dst = await db.query(`SELECT id, v, n FROM dw_kill.ledger ORDER BY id`)
      assert.equal(dst.rowCount, src.rowCount)
      assert.deepEqual(dst.rows.map((r) => ({ id: Number(r.id), v: r.v, n: Number(r.n) })), src.rows)
    }
    await same()
    // Mid-stream: many small transactions, killed after the first streamed checkpoint is committed.
    const before = (JSON.parse(await readFile(files.state, 'utf8')) as StateMessage[])[0]!.data as { lsn: string }
    const c = await db.client()
    try {
      for (let i = 0; i < 60; i++) {
        await c.query(`UPDATE ledger SET n = n + 1, v = v || '.' WHERE id BETWEEN $1 AND $1 + 150`, [i * 300])
        await c.query(`DELETE FROM ledger WHERE id = $1`, [i * 300 + 151])
        await c.query(`INSERT INTO ledger VALUES ($1, 'new', 0)`, [100000 + i])
      }
    } finally {
      await c.end()
    }
    const moved = (states: StateMessage[]) => (states[0]?.data as { lsn: string }).lsn !== before.lsn
    assert.equal(await runChild(files, moved), true)
    await runChild(files)
    await same()
  })
})
