import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { MysqlSource } from '../../../src/connectors/mysql/index.js'
import { validateMysqlSourceConfig } from '../../../src/connectors/mysql/index.js'
import { runOptions } from '../../helpers/pg.js'
import { createTestMysqlDatabase, type TestMysqlDatabase } from '../../helpers/mysql.js'
import { collect, configure } from './mysql-test-utils.js'

let db: TestMysqlDatabase
let cfg: Record<string, unknown>
const source = new MysqlSource({ batchRows: 4, batchBytes: 1 << 20, checkpointRows: 5 })
const user = `sluice_ro_${process.pid}`

before(async () => {
  db = await createTestMysqlDatabase('mysrc')
  cfg = { ...db.config }
  await db.query(`SET SESSION sql_mode = '';
    CREATE TABLE types (
      id INT PRIMARY KEY, b TINYINT(1), t8 TINYINT, u8 TINYINT UNSIGNED, i16 SMALLINT, i24 MEDIUMINT, i32 INT,
      u32 INT UNSIGNED, i64 BIGINT, u64 BIGINT UNSIGNED, d DECIMAL(65,30), d0 DECIMAL(30,0), d2 DECIMAL(10,2),
      f FLOAT, db DOUBLE, bit1 BIT(1), bit9 BIT(9), y YEAR, dt DATE, tm TIME(3), dtm DATETIME, dtm6 DATETIME(6),
      ts TIMESTAMP(6) NULL, j JSON, e ENUM('a','b c'), s SET('x','y'), c CHAR(3), vc VARCHAR(50), tx TEXT,
      bn BINARY(3), vb VARBINARY(10), bl BLOB);
    INSERT INTO types VALUES
      (1, 1, -128, 255, -32768, -8388608, -2147483648, 4294967295, -9223372036854775808, 18446744073709551615,
       '12345678901234567890123456789012345.123456789012345678901234567890', 99999999999999999999999999999, -12.34,
       1.5, 0.1, b'1', b'100000001', 2155, '2024-02-29', '-838:59:59.123', '1000-01-01 00:00:00', '9999-12-31 23:59:59.999999',
       '2038-01-19 03:14:07.5', '{"a": [1, 2], "é": "😀"}', 'b c', 'x,y', 'ab', 'tab\tnl\nbs\\\\ q" é 😀', 'ünï 🚀',
       'abc', x'00ff10', x'deadbeef'),
      (2, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, b'0', NULL, NULL, '0000-00-00', NULL,
       '0000-00-00 00:00:00', NULL, NULL, NULL, NULL, '', NULL, '', NULL, NULL, '', NULL),
      (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    CREATE TABLE \`we\`\`ird Sélect ☃\` (\`order\` INT, \`a\`\`b\` VARCHAR(10), \`ünï\` INT, \`select\` VARCHAR(5), PRIMARY KEY (\`order\`, \`ünï\`));
    INSERT INTO \`we\`\`ird Sélect ☃\` VALUES (1, 'x', 1, 's'), (1, 'y', 2, 't'), (2, 'z', 1, 'u');
    CREATE VIEW v_types AS SELECT id, vc FROM types;
    CREATE TABLE events (id INT PRIMARY KEY, updated_at DATETIME(6) NOT NULL, note VARCHAR(20));
    CREATE TABLE nullcur (id INT PRIMARY KEY, c INT);
    INSERT INTO nullcur VALUES (1, 1), (2, NULL);
    CREATE TABLE nokey (v INT);
    INSERT INTO nokey VALUES (1), (2), (3);
    CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(100));
  `)
  // 20 rows, keys with gaps, for key ranges.
  await db.query(`INSERT INTO big SELECT seq * 3, REPEAT('x', 50) FROM seq_1_to_20`)
  await db.query(`CREATE USER IF NOT EXISTS '${user}'@'%' IDENTIFIED BY 'pw'`)
})

after(async () => {
  await db.query(`DROP USER IF EXISTS '${user}'@'%'`)
  await db.drop()
})

describe('check', () => {
  test('succeeds with the test server', async () => {
    assert.deepEqual(await source.check(cfg, runOptions()), { status: 'succeeded', message: 'Connected.' })
  })

  test('names a wrong password', async () => {
    const r = await source.check({ ...cfg, username: user, password: 'wrong' }, runOptions())
    assert.equal(r.status, 'failed')
    assert.match(r.message, new RegExp(`Authentication failed for user "${user}"`))
    assert.doesNotMatch(r.message, /wrong/)
  })

  test('names an unknown database', async () => {
    const r = await source.check({ ...cfg, database: 'sluice_nope_db' }, runOptions())
    assert.equal(r.status, 'failed')
    assert.match(r.message, /Database "sluice_nope_db" does not exist/)
  })

  test('says when the host does not answer', async () => {
    const r = await source.check({ ...cfg, port: 1 }, runOptions())
    assert.equal(r.status, 'failed')
    assert.match(r.message, /Connection refused \(server 127\.0\.0\.1:1\)/)
  })

  test('says when the user has no privilege on the database', async () => {
    const r = await source.check({ ...cfg, username: user, password: 'pw' }, runOptions())
    assert.equal(r.status, 'failed')
    assert.match(r.message, /Access denied/)
    assert.match(r.message, new RegExp(user))
  })

  test('CDC: names the missing replication privileges', async () => {
    await db.query(`GRANT SELECT ON \`${db.name}\`.* TO '${user}'@'%'`)
    const r = await source.check({ ...cfg, username: user, password: 'pw', replication_method: { method: 'CDC' } }, runOptions())
    assert.equal(r.status, 'failed')
    assert.match(r.message, /REPLICATION SLAVE and REPLICATION CLIENT privileges on \*\.\*/)
    await db.query(`GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO '${user}'@'%'`)
    const ok = await source.check({ ...cfg, username: user, password: 'pw', replication_method: { method: 'CDC' } }, runOptions())
    assert.deepEqual(ok, { status: 'succeeded', message: 'Connected.' })
  })

  test('SSH tunnels are a 422 naming the field', () => {
    assert.throws(
      () => validateMysqlSourceConfig({ ...db.config, tunnel_method: { tunnel_method: 'SSH_KEY_AUTH' } } as never),
      (e: Error & { code?: string }) => e.code === 'SLUICE_ERR_INVALID_CONFIG' && /tunnel_method SSH_KEY_AUTH/.test(e.message),
    )
  })
})

describe('discover', () => {
  test('tables and views, namespace = database, keys, Airbyte types', async () => {
    const catalog = await source.discover(cfg, runOptions())
    const names = catalog.streams.map((s) => s.name)
    assert.deepEqual(names, ['big', 'events', 'nokey', 'nullcur', 'types', 'v_types', 'we`ird Sélect ☃'])
    const types = catalog.streams.find((s) => s.name === 'types')!
    assert.equal(types.namespace, db.name)
    assert.deepEqual(types.sourceDefinedPrimaryKey, [['id']])
    assert.equal(types.isResumable, true)
    const p = types.jsonSchema.properties as Record<string, Record<string, unknown>>
    assert.deepEqual(p.b, { type: 'boolean' })
    assert.deepEqual(p.bit1, { type: 'boolean' })
    assert.deepEqual(p.bit9, { type: 'string', contentEncoding: 'base64' })
    assert.deepEqual(p.u64, { type: 'number', airbyte_type: 'integer' })
    assert.deepEqual(p.d0, { type: 'number', airbyte_type: 'integer' })
    assert.deepEqual(p.d, { type: 'number' })
    assert.deepEqual(p.y, { type: 'number', airbyte_type: 'integer' })
    assert.deepEqual(p.tm, { type: 'string', format: 'time', airbyte_type: 'time_without_timezone' })
    assert.deepEqual(p.dtm6, { type: 'string', format: 'date-time', airbyte_type: 'timestamp_without_timezone' })
    assert.deepEqual(p.ts, { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' })
    assert.deepEqual(p.j, { type: 'string' })
    assert.deepEqual(p.e, { type: 'string' })
    assert.deepEqual(p.vb, { type: 'string', contentEncoding: 'base64' })
    const weird = catalog.streams.find((s) => s.name === 'we`ird Sélect ☃')!
    assert.deepEqual(weird.sourceDefinedPrimaryKey, [['order'], ['ünï']])
    assert.deepEqual(catalog.streams.find((s) => s.name === 'v_types')!.sourceDefinedPrimaryKey, [])
  })
})

describe('full refresh', () => {
  test('every type, NULLs, edges, emoji; zero dates null with a note', async () => {
    const catalog = configure(await source.discover(cfg, runOptions()), { names: ['types'] })
    const { rows, batches } = await collect(source.read(cfg, catalog, [], runOptions()))
    assert.equal(rows.length, 3)
    assert.deepEqual(rows[0], {
      id: 1, b: true, t8: -128, u8: 255, i16: -32768, i24: -8388608, i32: -2147483648, u32: 4294967295,
      i64: '-9223372036854775808', u64: '18446744073709551615',
      d: '12345678901234567890123456789012345.123456789012345678901234567890', d0: '99999999999999999999999999999', d2: -12.34,
      f: 1.5, db: 0.1, bit1: true, bit9: Buffer.from([0x01, 0x01]).toString('base64'), y: 2155, dt: '2024-02-29',
      tm: '-838:59:59.123000', dtm: '1000-01-01T00:00:00.000000', dtm6: '9999-12-31T23:59:59.999999',
      ts: '2038-01-19T03:14:07.500000Z', j: '{"a": [1, 2], "é": "😀"}', e: 'b c', s: 'x,y', c: 'ab',
      vc: 'tab\tnl\nbs\\ q" é 😀', tx: 'ünï 🚀', bn: Buffer.from('abc').toString('base64'),
      vb: Buffer.from([0, 0xff, 0x10]).toString('base64'), bl: Buffer.from([0xde, 0xad, 0xbe, 0xef]).toString('base64'),
    })
    assert.equal(rows[1]!.dt, null)
    assert.equal(rows[1]!.dtm, null)
    assert.equal(rows[1]!.b, false)
    assert.equal(rows[1]!.bit1, false)
    assert.equal(rows[1]!.s, '')
    assert.equal(rows[1]!.vb, '')
    assert.ok(Object.entries(rows[2]!).every(([k, v]) => k === 'id' || v === null))
    const withChanges = batches.find((b) => b.changes)!
    const changes = [...withChanges.changes!.values()].flat()
    assert.deepEqual(changes.map((c) => c.field).sort(), ['dt', 'dtm'])
    assert.ok(changes.every((c) => c.change === 'NULLED' && c.reason === 'SOURCE_SERIALIZATION_ERROR'))
    // Columnar view: the same values, column-major.
    const cols = batches[0]!.columns!()
    assert.equal(cols.columns[cols.names.indexOf('vc')]![0], 'tab\tnl\nbs\\ q" é 😀')
  })

  test('primary-key ranges: a STATE per range, resumable from it', async () => {
    const catalog = configure(await source.discover(cfg, runOptions()), { names: ['big'] })
    const first = await collect(source.read(cfg, catalog, [], runOptions()))
    assert.equal(first.rows.length, 20)
    assert.deepEqual(first.rows.map((r) => r.id), Array.from({ length: 20 }, (_, i) => (i + 1) * 3))
    assert.deepEqual(first.states.map((s) => (s.data as { pk_val: string[] }).pk_val), [['15'], ['30'], ['45'], ['60']])
    assert.ok(first.batches.every((b) => b.count <= 4))
    const resumed = await collect(source.read(cfg, catalog, [first.states[1]!], runOptions()))
    assert.deepEqual(resumed.rows.map((r) => r.id), [33, 36, 39, 42, 45, 48, 51, 54, 57, 60])
  })

  test('hostile identifiers: backticks, unicode, reserved words, composite key ranges', async () => {
    const catalog = configure(await source.discover(cfg, runOptions()), { names: ['we`ird Sélect ☃'] })
    const small = new MysqlSource({ batchRows: 1, batchBytes: 1 << 20, checkpointRows: 1 })
    const { rows, states } = await collect(small.read(cfg, catalog, [], runOptions()))
    assert.deepEqual(rows, [
      { order: 1, 'a`b': 'x', ünï: 1, select: 's' },
      { order: 1, 'a`b': 'y', ünï: 2, select: 't' },
      { order: 2, 'a`b': 'z', ünï: 1, select: 'u' },
    ])
    assert.deepEqual((states[0]!.data as { pk_val: string[] }).pk_val, ['1', '1'])
    const resumed = await collect(small.read(cfg, catalog, [states[0]!], runOptions()))
    assert.deepEqual(resumed.rows.map((r) => [r.order, r.ünï]), [[1, 2], [2, 1]])
  })

  test('views and tables without a key: one query, no state', async () => {
    const catalog = configure(await source.discover(cfg, runOptions()), { names: ['nokey', 'v_types'] })
    const { rows, states } = await collect(source.read(cfg, catalog, [], runOptions()))
    assert.equal(rows.length, 6)
    assert.equal(states.length, 0)
  })
})

describe('cursor incremental', () => {
  test('ties at the cursor: > when the count is unchanged, >= when a row joined the tie', async () => {
    await db.query(`INSERT INTO events VALUES (1, '2024-01-01 00:00:01', 'a'), (2, '2024-01-01 00:00:02', 'b'), (3, '2024-01-01 00:00:02', 'c')`)
    const catalog = configure(await source.discover(cfg, runOptions()), { names: ['events'], syncMode: 'incremental', cursorField: ['updated_at'] })
    const first = await collect(source.read(cfg, catalog, [], runOptions()))
    assert.deepEqual(first.rows.map((r) => r.id), [1, 2, 3])
    const last = first.states.at(-1)!
    assert.equal((last.data as { cursor: string }).cursor, '2024-01-01 00:00:02.000000')
    assert.equal((last.data as { cursor_record_count: number }).cursor_record_count, 2)
    const again = await collect(source.read(cfg, catalog, [last], runOptions()))
    assert.deepEqual(again.rows, [])
    await db.query(`INSERT INTO events VALUES (4, '2024-01-01 00:00:02', 'tie'), (5, '2024-01-01 00:00:03', 'd')`)
    const third = await collect(source.read(cfg, catalog, [last], runOptions()))
    assert.deepEqual(third.rows.map((r) => r.id), [2, 3, 4, 5])
    assert.equal((third.states.at(-1)!.data as { cursor_record_count: number }).cursor_record_count, 1)
  })

  test('checkpoints never split a tie', async () => {
    await db.query(`CREATE TABLE ties (id INT PRIMARY KEY, k INT NOT NULL); INSERT INTO ties SELECT seq, seq DIV 7 FROM seq_1_to_30`)
    const catalog = configure(await source.discover(cfg, runOptions()), { names: ['ties'], syncMode: 'incremental', cursorField: ['k'] })
    const { rows, states } = await collect(source.read(cfg, catalog, [], runOptions()))
    assert.equal(rows.length, 30)
    for (const s of states.slice(0, -1)) {
      const d = s.data as { cursor: string; cursor_record_count: number }
      const upTo = rows.filter((r) => (r.k as number) <= Number(d.cursor)).length
      assert.equal(d.cursor_record_count, rows.filter((r) => String(r.k) === d.cursor).length)
      assert.ok(upTo > 0)
    }
  })

  test('a NULL in the cursor column is a config error', async () => {
    const catalog = configure(await source.discover(cfg, runOptions()), { names: ['nullcur'], syncMode: 'incremental', cursorField: ['c'] })
    await assert.rejects(collect(source.read(cfg, catalog, [], runOptions())), (e: Error & { code?: string }) => e.code === 'SLUICE_ERR_CONNECTOR_CONFIG' && /contains NULL/.test(e.message))
  })
})

describe('failures', () => {
  test('abort stops the read promptly with a cancelled error', async () => {
    const ac = new AbortController()
    const catalog = configure(await source.discover(cfg, runOptions()), { names: ['big'] })
    await assert.rejects(
      (async () => {
        for await (const m of source.read(cfg, catalog, [], runOptions(ac.signal))) if (m.type === 'RECORD_BATCH') ac.abort()
      })(),
      (e: Error & { code?: string }) => e.code === 'SLUICE_ERR_CANCELLED',
    )
  })
})
