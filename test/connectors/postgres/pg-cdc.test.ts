import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { runAttempt } from '../../../src/engine/index.js'
import type { ConfiguredCatalog, SourceMessage, StateMessage } from '../../../src/protocol/index.js'
import { streamKey } from '../../../src/protocol/index.js'
import { PostgresSource } from '../../../src/connectors/postgres/postgres-source.js'
import { PostgresDestination } from '../../../src/connectors/postgres/postgres-destination.js'
import { createTestDatabase, memoryLogger, runOptions, type TestDatabase } from '../../helpers/pg.js'
import { collect, configure, rejection } from './pg-test-utils.js'
import { createSlot, dropSlots } from './pg-cdc-test-utils.js'

let db: TestDatabase
const slots: string[] = []
const source = new PostgresSource({ batchBytes: 512, checkpointRows: 3, snapshotChunkRows: 4 })

before(async () => {
  db = await createTestDatabase('pgcdc')
})
after(async () => {
  // Slots are cluster-wide and hold WAL forever: drop them first (a database with slots cannot be dropped).
  await dropSlots(slots)
  await db.drop()
})

/** A CDC config over a fresh slot and publication named after the test. */
async function cdcSetup(tag: string, tables: string, extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const slot = await createSlot(db, tag)
  slots.push(slot)
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
  test('check names what is missing: slot, publication, privileges', async () => {
    await db.query(`CREATE TABLE chk (id int PRIMARY KEY)`)
    const cfg = await cdcSetup('chk', 'chk')
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

  test('a slot of another plugin or an invalidated slot is named with the fix', async () => {
    await db.query(`CREATE TABLE chk2 (id int PRIMARY KEY)`)
    const cfg = await cdcSetup('chk2', 'chk2')
    const other = `${(cfg.replication_method as { replication_slot: string }).replication_slot}_td`
    await db.query(`SELECT pg_create_logical_replication_slot($1, 'test_decoding')`, [other])
    slots.push(other)
    const r = await source.check({ ...cfg, replication_method: { ...(cfg.replication_method as object), replication_slot: other } }, runOptions())
    assert.match(r.message, /uses plugin "test_decoding", not pgoutput/)
  })

  test('discover lists the publication tables with the CDC columns and a source-defined cursor', async () => {
    await db.query(`CREATE TABLE disc_a (id int PRIMARY KEY, v text); CREATE TABLE disc_b (k1 int, k2 text, PRIMARY KEY (k1, k2)); CREATE TABLE disc_out (id int)`)
    const cfg = await cdcSetup('disc', 'disc_a, disc_b')
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
  test('snapshot in chunks, then inserts, updates, deletes; rolled-back transactions never appear', async () => {
    await db.query(`CREATE TABLE items (id int PRIMARY KEY, v text)`)
    await db.query(`INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, 10) g`)
    const cfg = await cdcSetup('items', 'items')
    const catalog = configure(await source.discover(cfg, runOptions()), { syncMode: 'incremental', destinationSyncMode: 'append_dedup' })
    const first = await read(cfg, catalog, [])
    assert.deepEqual(bare(first.rows).map((r) => r.id), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    // 10 rows in chunks of 4: a state before the snapshot, after chunks 1 and 2, at its end, and at the marker.
    const snapshotStates = first.states.filter((s) => (s.data as { snapshot?: unknown }).snapshot !== undefined)
    assert.deepEqual(snapshotStates.map((s) => (s.data as { snapshot: { after: string[] | null } }).snapshot.after), [null, ['4'], ['8']])
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

  test('the slot is confirmed only up to the state the previous sync saved', async () => {
    await db.query(`CREATE TABLE acks (id int PRIMARY KEY)`)
    const cfg = await cdcSetup('acks', 'acks')
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

  test('a saved position behind the slot fails the sync or re-reads the table, per setting', async () => {
    await db.query(`CREATE TABLE stale (id int PRIMARY KEY); INSERT INTO stale VALUES (1)`)
    const cfg = await cdcSetup('stale', 'stale')
    const slot = (cfg.replication_method as { replication_slot: string }).replication_slot
    const catalog = configure(await source.discover(cfg, runOptions()), { syncMode: 'incremental', destinationSyncMode: 'append_dedup' })
    const first = await read(cfg, catalog, [])
    await db.query(`INSERT INTO stale VALUES (2)`)
    await db.query(`SELECT pg_replication_slot_advance($1, pg_current_wal_lsn())`, [slot])
    const err = await rejection(() => read(cfg, catalog, first.next))
    assert.equal(err.failureType, 'config_error')
    assert.match(err.message, /behind replication slot .*Reset the connection's data .*"Re-sync data"/)
    const resync = { ...cfg, replication_method: { ...(cfg.replication_method as object), invalid_cdc_cursor_position_behavior: 'Re-sync data' } }
    const again = await read(resync, catalog, first.next)
    assert.deepEqual(bare(again.rows).map((r) => r.id), [1, 2])
    assert.ok(again.logs.some((l) => /Reading the table again/.test(l)), again.logs.join('\n'))
  })

  test('a missing slot is a config error naming the fix', async () => {
    await db.query(`CREATE TABLE gone (id int PRIMARY KEY)`)
    const cfg = await cdcSetup('gone', 'gone')
    const catalog = configure(await source.discover(cfg, runOptions()), { syncMode: 'incremental', destinationSyncMode: 'append_dedup' })
    const rm = cfg.replication_method as Record<string, unknown>
    const err = await rejection(() => read({ ...cfg, replication_method: { ...rm, replication_slot: 'missing_slot' } }, catalog, []))
    assert.equal(err.failureType, 'config_error')
    assert.match(err.message, /Replication slot "missing_slot" does not exist/)
  })
})

describe('Postgres -> Postgres append_dedup', () => {
  test('deletes remove rows; the destination table ends equal to the source table', async () => {
    await db.query(`CREATE TABLE orders (id int PRIMARY KEY, v text)`)
    await db.query(`INSERT INTO orders SELECT g, 'o' || g FROM generate_series(1, 20) g`)
    const cfg = await cdcSetup('orders', 'orders')
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
