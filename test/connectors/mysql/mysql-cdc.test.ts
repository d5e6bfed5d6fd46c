import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { MysqlSource } from '../../../src/connectors/mysql/index.js'
import type { StateMessage } from '../../../src/protocol/index.js'
import { runOptions } from '../../helpers/pg.js'
import { createTestMysqlDatabase, type TestMysqlDatabase } from '../../helpers/mysql.js'
import { collect, configure } from './mysql-test-utils.js'

let db: TestMysqlDatabase
let cfg: Record<string, unknown>
const source = new MysqlSource({ batchRows: 3, batchBytes: 1 << 20, checkpointRows: 4 })

before(async () => {
  db = await createTestMysqlDatabase('mycdc')
  cfg = { ...db.config, replication_method: { method: 'CDC' } }
  await db.query(`CREATE TABLE accounts (id INT PRIMARY KEY, name VARCHAR(20), balance DECIMAL(10,2), seen DATETIME(3), flag TINYINT(1), doc JSON, raw VARBINARY(4));
    INSERT INTO accounts SELECT seq, CONCAT('a', seq), seq * 1.5, '2024-01-01 00:00:00.125', seq % 2, '{"k": 1}', x'00ff' FROM seq_1_to_10;
    CREATE TABLE other (id INT PRIMARY KEY, v INT);
    CREATE VIEW v_accounts AS SELECT id FROM accounts;`)
})

after(async () => {
  await db.drop()
})

/** The last state of each stream, as the engine would save them. */
function lastStates(states: StateMessage[]): StateMessage[] {
  const by = new Map<string, StateMessage>()
  for (const s of states) by.set(s.stream.name, s)
  return [...by.values()]
}

describe('CDC', () => {
  test('discover adds the _ab_cdc columns and the source-defined cursor to tables with a key', async () => {
    const catalog = await source.discover(cfg, runOptions())
    const accounts = catalog.streams.find((s) => s.name === 'accounts')!
    const props = accounts.jsonSchema.properties as Record<string, unknown>
    for (const c of ['_ab_cdc_cursor', '_ab_cdc_log_file', '_ab_cdc_log_pos', '_ab_cdc_updated_at', '_ab_cdc_deleted_at']) assert.ok(props[c], c)
    assert.equal(accounts.sourceDefinedCursor, true)
    assert.deepEqual(accounts.defaultCursorField, ['_ab_cdc_cursor'])
    assert.deepEqual(catalog.streams.find((s) => s.name === 'v_accounts')!.supportedSyncModes, ['full_refresh'])
  })

  test('snapshot at the binlog position, then inserts, updates and deletes up to the position taken at start', async () => {
    const catalog = configure(await source.discover(cfg, runOptions()), { names: ['accounts', 'other'], syncMode: 'incremental' })
    const first = await collect(source.read(cfg, catalog, [], runOptions()))
    assert.deepEqual(first.rows.filter((r) => r._ab_cdc_deleted_at === null).map((r) => r.id), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    const snap = first.rows[0]!
    assert.equal(snap.balance, 1.5)
    assert.equal(snap.seen, '2024-01-01T00:00:00.125000')
    assert.equal(snap.flag, true)
    assert.equal(snap.raw, Buffer.from([0, 0xff]).toString('base64'))
    assert.match(String(snap._ab_cdc_log_file), /\.\d+$/)
    // Mid-snapshot states carry the key; the last one only the position.
    assert.ok(first.states.some((s) => Array.isArray((s.data as { snapshot_pk?: unknown }).snapshot_pk)))
    const saved = lastStates(first.states)
    assert.equal(saved.length, 2)
    for (const s of saved) assert.equal((s.data as { snapshot_pk?: unknown }).snapshot_pk, undefined)

    await db.query(`INSERT INTO accounts VALUES (11, 'new 😀', 1.25, '2024-02-02 10:00:00.5', 1, '{"a": [1]}', x'01');
      UPDATE accounts SET name = 'renamed' WHERE id = 2;
      DELETE FROM accounts WHERE id = 3;
      INSERT INTO other VALUES (1, 42);`)
    const second = await collect(source.read(cfg, catalog, saved, runOptions()))
    const changes = second.rows.map((r) => [r.id, r.name ?? r.v, r._ab_cdc_deleted_at === null ? 'live' : 'deleted'])
    assert.deepEqual(changes, [
      [11, 'new 😀', 'live'],
      [2, 'renamed', 'live'],
      [3, 'a3', 'deleted'],
      [1, 42, 'live'],
    ])
    const inserted = second.rows[0]!
    assert.equal(inserted.seen, '2024-02-02T10:00:00.500000')
    assert.equal(inserted.flag, true)
    assert.equal(inserted.doc, '{"a": [1]}')
    assert.equal(inserted.raw, Buffer.from([1]).toString('base64'))
    // Cursor grows with the binlog position, past every snapshot row.
    const cursors = second.rows.map((r) => r._ab_cdc_cursor as number)
    assert.ok(cursors.every((c) => c > (snap._ab_cdc_cursor as number)))
    assert.deepEqual([...cursors].sort((a, b) => a - b), cursors)
    assert.ok(typeof second.rows[0]!._ab_cdc_updated_at === 'string')

    // Nothing new: a bounded sync ends without records.
    const third = await collect(source.read(cfg, catalog, lastStates(second.states), runOptions()))
    assert.deepEqual(third.rows, [])
    // A change after the start of a sync belongs to the next one.
    await db.query(`UPDATE accounts SET name = 'later' WHERE id = 4`)
    const fourth = await collect(source.read(cfg, catalog, lastStates(second.states), runOptions()))
    assert.deepEqual(fourth.rows.map((r) => [r.id, r.name]), [[4, 'later']])
  })

  test('a snapshot resumed from its key keeps its first position', async () => {
    const catalog = configure(await source.discover(cfg, runOptions()), { names: ['accounts'], syncMode: 'incremental' })
    const first = await collect(source.read(cfg, catalog, [], runOptions()))
    const mid = first.states.find((s) => Array.isArray((s.data as { snapshot_pk?: unknown }).snapshot_pk))!
    const resumed = await collect(source.read(cfg, catalog, [mid], runOptions()))
    const after = Number((mid.data as { snapshot_pk: string[] }).snapshot_pk[0])
    assert.ok(resumed.rows.length > 0)
    assert.ok(resumed.rows.every((r) => (r.id as number) > after))
    assert.equal(resumed.rows[0]!._ab_cdc_log_pos, (mid.data as { binlog_pos: number }).binlog_pos)
  })

  test('a table without a primary key configured as CDC incremental is a config error', async () => {
    await db.query(`CREATE TABLE keyless (v INT)`)
    const discovered = await source.discover(cfg, runOptions())
    const keyless = discovered.streams.find((s) => s.name === 'keyless')!
    assert.deepEqual(keyless.supportedSyncModes, ['full_refresh'])
    const catalog = configure({ streams: [keyless] }, { syncMode: 'incremental' })
    await assert.rejects(collect(source.read(cfg, catalog, [], runOptions())), (e: Error & { code?: string }) => e.code === 'SLUICE_ERR_CONNECTOR_CONFIG' && /needs a primary key/.test(e.message))
  })

  test('a purged binlog file fails the sync with a clear config error', async () => {
    const catalog = configure(await source.discover(cfg, runOptions()), { names: ['accounts'], syncMode: 'incremental' })
    const stale: StateMessage = { type: 'STATE', stream: { name: 'accounts', namespace: db.name }, data: { version: 2, state_type: 'cdc', binlog_file: 'mysql-bin.000000', binlog_pos: 4 } }
    await assert.rejects(collect(source.read(cfg, catalog, [stale], runOptions())), (e: Error & { code?: string }) => e.code === 'SLUICE_ERR_CONNECTOR_CONFIG' && /no longer on the server/.test(e.message))
  })
})
