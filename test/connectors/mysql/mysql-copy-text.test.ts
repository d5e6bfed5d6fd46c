import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import mysql from 'mysql2/promise'
import { MysqlSource } from '../../../src/connectors/mysql/index.js'
import { PostgresDestination } from '../../../src/connectors/postgres/index.js'
import { LocalFilesDestination } from '../../../src/connectors/local-files/index.js'
import { runAttempt } from '../../../src/engine/index.js'
import type { ConfiguredCatalog, Destination, RecordBatch } from '../../../src/protocol/index.js'
import { createTestDatabase, memoryLogger, runOptions, type TestDatabase } from '../../helpers/pg.js'
import { createTestMysqlDatabase, MYSQL_HOST, MYSQL_PORT, type TestMysqlDatabase } from '../../helpers/mysql.js'
import { readParquet } from '../../formats/fixtures.js'
import { collect, configure } from './mysql-test-utils.js'

// The COPY text path (rows encoded from the result-set bytes) against the row-array path:
// the same values, changes, states, and the same rows landed in Postgres, JSONL and Parquet.
let my: TestMysqlDatabase
let pgDb: TestDatabase
let root: string
let cfg: Record<string, unknown>
const small = { batchRows: 3, batchBytes: 1 << 20, checkpointRows: 4 }
const fast = new MysqlSource({ ...small, copyText: true })
const rowPath = new MysqlSource({ ...small, copyText: false })
const longText = `${'a\tb\\c\nd\re'.repeat(8000)}😀`

before(async () => {
  my = await createTestMysqlDatabase('mysql_speed_copy')
  pgDb = await createTestDatabase('mysql_speed_copy')
  root = await mkdtemp(path.join(tmpdir(), 'mysql-speed-copy-'))
  cfg = { ...my.config }
  await my.query(`SET SESSION sql_mode = '';
    CREATE TABLE fast (
      id BIGINT PRIMARY KEY, b TINYINT(1), t8 TINYINT, u8 TINYINT UNSIGNED, i16 SMALLINT, i24 MEDIUMINT, i32 INT,
      u32 INT UNSIGNED, i64 BIGINT, u64 BIGINT UNSIGNED, d DECIMAL(65,30), d0 DECIMAL(30,0), d2 DECIMAL(10,2),
      f FLOAT, db DOUBLE, bit9 BIT(9), y YEAR, dt DATE, dtm DATETIME, dtm3 DATETIME(3), dtm6 DATETIME(6),
      ts TIMESTAMP(6) NULL, j JSON, e ENUM('a','b c'), s SET('x','y'), c CHAR(3), vc VARCHAR(100), tx TEXT,
      mt MEDIUMTEXT, bn BINARY(3), vb VARBINARY(10), bl BLOB);
    INSERT INTO fast VALUES
      (1, 1, -128, 255, -32768, -8388608, -2147483648, 4294967295, -9223372036854775808, 18446744073709551615,
       '12345678901234567890123456789012345.123456789012345678901234567890', 99999999999999999999999999999, -12.34,
       1.5, 0.1, b'100000001', 2155, '2024-02-29', '1000-01-01 00:00:00', '2024-01-01 10:00:00.100', '9999-12-31 23:59:59.999999',
       '2038-01-19 03:14:07.5', '{"a": [1, 2], "é": "😀"}', 'b c', 'x,y', 'ab', 'tab\\tnl\\nbs\\\\\\\\ q" é 😀', 'ünï 🚀',
       NULL, 'abc', x'00ff10', x'deadbeef'),
      (2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.00, -1.5e-7, 1e308, b'0', 1901, '0000-00-00', '0000-00-00 00:00:00',
       '2020-00-10 00:00:00', '2024-02-29 23:59:59', NULL, '[]', 'a', '', '', '', '', '', '', '', ''),
      (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
      (4, 2, 127, 1, 1, 1, 1, 1, 9007199254740993, 9007199254740992, -0.000000000000000000000000000001, -1, 99999999.99,
       -0, -2.2250738585072014e-308, b'111111111', 0, '2000-01-01', '1970-01-01 00:00:00', '1999-12-31 23:59:59.999', '2000-01-01 00:00:00.000001',
       '1970-01-01 00:00:01', '{"t": "\\\\t"}', NULL, 'y', 'a\\tb', '\\\\N', 'cr\\rlf\\r\\n\\\\', ?, x'090a0d', x'5c', x'00'),
      (5, -1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '2024-13-00', NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, '\\\\', '\\t', NULL, NULL, NULL, NULL);
    CREATE TABLE slow (id INT PRIMARY KEY, bit1 BIT(1), tm TIME(3), vc VARCHAR(10));
    INSERT INTO slow VALUES (1, b'1', '-838:59:59.123', 'a\\tb'), (2, b'0', '12:00:00', NULL);
    CREATE TABLE ev (id INT PRIMARY KEY, updated_at DATETIME(6) NOT NULL, dt DATE, note VARCHAR(20));
    INSERT INTO ev VALUES (1, '2024-01-01 00:00:01', '2024-01-01', 'a'), (2, '2024-01-01 00:00:02', '0000-00-00', 'b\\tc'),
      (3, '2024-01-01 00:00:02', '2024-01-03', 'c'), (4, '2024-01-01 00:00:02', '0000-00-00', 'd'),
      (5, '2024-01-01 00:00:03', '2024-01-05', 'e'), (6, '2024-01-01 00:00:04', '0000-00-00', 'f\\nf'),
      (7, '2024-01-01 00:00:04', NULL, 'g'), (8, '2024-01-01 00:00:05', '2024-01-08', 'h'), (9, '2024-01-01 00:00:06', NULL, NULL);
    CREATE TABLE zf (id INT PRIMARY KEY, i INT(5) ZEROFILL, d DECIMAL(6,2) ZEROFILL, f FLOAT(8,2) ZEROFILL, y YEAR);
    INSERT INTO zf VALUES (1, 42, 1.5, 2.25, 0), (2, 0, 0, 0, 2000), (3, 12345, 1234.5, 99999.99, NULL);
    CREATE TABLE binkey (k VARBINARY(8) PRIMARY KEY, v INT);
    INSERT INTO binkey VALUES (x'00', 1), (x'09', 2), (x'0a', 3), (x'5c', 4), (x'ff00', 5), (x'ff01', 6), (x'ffff', 7);
  `, [longText])
})

after(async () => {
  await my.drop()
  await pgDb.drop()
  await rm(root, { recursive: true, force: true })
})

/** Changes of a read as `[row index over the whole read, field]` pairs. */
function changesOf(batches: RecordBatch[]): [number, string][] {
  const out: [number, string][] = []
  let base = 0
  for (const b of batches) {
    for (const [r, list] of b.changes ?? []) for (const c of list) out.push([base + r, `${c.field} ${c.change} ${c.reason}`])
    base += b.count
  }
  return out
}

async function catalogOf(names: string[], opts: { syncMode?: 'incremental'; cursorField?: string[] } = {}): Promise<ConfiguredCatalog> {
  return configure(await fast.discover(cfg, runOptions()), { names, ...opts })
}

describe('the COPY text path gives the values of the row path', () => {
  test('every type with NULLs, edges, escapes, long values and zero dates', async () => {
    const catalog = await catalogOf(['fast'])
    const a = await collect(fast.read(cfg, catalog, [], runOptions()))
    const b = await collect(rowPath.read(cfg, catalog, [], runOptions()))
    assert.ok(a.batches.every((x) => x.pgCopyText !== undefined))
    assert.ok(b.batches.every((x) => x.pgCopyText === undefined))
    assert.deepEqual(a.rows, b.rows)
    assert.deepEqual(a.states, b.states)
    assert.deepEqual(a.order, b.order)
    assert.deepEqual(changesOf(a.batches), changesOf(b.batches))
    assert.deepEqual(
      a.batches.map((x) => x.columns!()),
      b.batches.map((x) => x.columns!()),
    )
    // Spot checks against the documented mapping (not only the other path).
    const [r1, r2, , r4, r5] = a.rows as Record<string, unknown>[]
    assert.equal(r1!.vc, 'tab\tnl\nbs\\\\ q" é 😀')
    assert.equal(r1!.dtm3, '2024-01-01T10:00:00.100000')
    assert.equal(r1!.ts, '2038-01-19T03:14:07.500000Z')
    assert.equal(r1!.u64, '18446744073709551615')
    assert.equal(r1!.bit9, Buffer.from([0x01, 0x01]).toString('base64'))
    assert.equal(r2!.dt, null)
    assert.equal(r2!.dtm, null)
    assert.equal(r2!.dtm3, null)
    assert.equal(r2!.b, false)
    assert.equal(r4!.b, true)
    assert.equal(r4!.i64, '9007199254740993')
    assert.equal(r4!.vc, '\\N')
    assert.equal(r4!.tx, 'cr\rlf\r\n\\')
    assert.equal(r4!.mt, longText)
    assert.equal(r4!.vb, Buffer.from([0x5c]).toString('base64'))
    assert.equal(r5!.b, true)
    assert.equal(r5!.dt, null)
    assert.deepEqual(changesOf(a.batches), [
      [1, 'dt NULLED SOURCE_SERIALIZATION_ERROR'],
      [1, 'dtm NULLED SOURCE_SERIALIZATION_ERROR'],
      [1, 'dtm3 NULLED SOURCE_SERIALIZATION_ERROR'],
      [4, 'dt NULLED SOURCE_SERIALIZATION_ERROR'],
    ])
  })

  test('zero-padded numbers (ZEROFILL, YEAR 0000) lose their padding', async () => {
    const catalog = await catalogOf(['zf'])
    const a = await collect(fast.read(cfg, catalog, [], runOptions()))
    const b = await collect(rowPath.read(cfg, catalog, [], runOptions()))
    assert.ok(a.batches.every((x) => x.pgCopyText !== undefined))
    assert.deepEqual(a.rows, b.rows)
    assert.deepEqual(a.rows[0], { id: 1, i: 42, d: 1.5, f: 2.25, y: 0 })
    assert.equal(a.batches[0]!.pgCopyText!.data.toString('utf8').split('\n')[0], '1\t42\t1.50\t2.25\t0')
  })

  test('a table with BIT(1) or TIME keeps the row path', async () => {
    const { rows, batches } = await collect(fast.read(cfg, await catalogOf(['slow']), [], runOptions()))
    assert.ok(batches.every((x) => x.pgCopyText === undefined))
    assert.deepEqual(rows, [
      { id: 1, bit1: true, tm: '-838:59:59.123000', vc: 'a\tb' },
      { id: 2, bit1: false, tm: '12:00:00.000000', vc: null },
    ])
  })

  test('cursor reads: the same batches, states (never inside a tie) and changes, then resumed', async () => {
    const catalog = await catalogOf(['ev'], { syncMode: 'incremental', cursorField: ['updated_at'] })
    const a = await collect(fast.read(cfg, catalog, [], runOptions()))
    const b = await collect(rowPath.read(cfg, catalog, [], runOptions()))
    assert.ok(a.batches.every((x) => x.pgCopyText !== undefined))
    assert.deepEqual(a.order, b.order)
    assert.deepEqual(a.rows, b.rows)
    assert.deepEqual(a.states, b.states)
    assert.deepEqual(changesOf(a.batches), changesOf(b.batches))
    assert.deepEqual(changesOf(a.batches).map(([r]) => r), [1, 3, 5])
    assert.deepEqual(a.order, ['status:STARTED', 'batch:3', 'batch:1', 'state', 'batch:2', 'batch:2', 'state', 'batch:1', 'state', 'status:COMPLETE'])
    const last = a.states.at(-1)!
    await my.query(`INSERT INTO ev VALUES (10, '2024-01-01 00:00:06', NULL, 'tie'), (11, '2024-01-01 00:00:07', '2024-01-11', 'new')`)
    try {
      const ra = await collect(fast.read(cfg, catalog, [last], runOptions()))
      const rb = await collect(rowPath.read(cfg, catalog, [last], runOptions()))
      assert.deepEqual(ra.rows.map((r) => r.id), [9, 10, 11])
      assert.deepEqual(ra.rows, rb.rows)
      assert.deepEqual(ra.states, rb.states)
    } finally {
      await my.query(`DELETE FROM ev WHERE id >= 10`)
    }
  })

  test('binary keys and cursors are saved as base64 and bound back', async () => {
    const full = await catalogOf(['binkey'])
    const a = await collect(fast.read(cfg, full, [], runOptions()))
    const b = await collect(rowPath.read(cfg, full, [], runOptions()))
    assert.deepEqual(a.states, b.states)
    assert.deepEqual((a.states[0]!.data as { pk_val: string[] }).pk_val, [Buffer.from([0x5c]).toString('base64')])
    const resumed = await collect(fast.read(cfg, full, [a.states[0]!], runOptions()))
    assert.deepEqual(resumed.rows.map((r) => r.v), [5, 6, 7])
    const inc = await catalogOf(['binkey'], { syncMode: 'incremental', cursorField: ['k'] })
    const ia = await collect(fast.read(cfg, inc, [], runOptions()))
    const ib = await collect(rowPath.read(cfg, inc, [], runOptions()))
    assert.deepEqual(ia.states, ib.states)
    assert.deepEqual(ia.rows, ib.rows)
  })
})

/** One sync of `names` from `source` into `destination`, through the engine. */
async function sync(source: MysqlSource, destination: Destination, destinationConfig: Record<string, unknown>, names: string[]): Promise<void> {
  const catalog = await catalogOf(names)
  await runAttempt({
    source,
    sourceConfig: cfg,
    destination,
    destinationConfig,
    catalog,
    mapping: { namespaceDefinition: 'destination' },
    state: [],
    options: { signal: new AbortController().signal, logger: memoryLogger(), context: { dataDir: root, localFilesRoot: root } },
    onStateCommitted: async () => undefined,
  })
}

async function files(dir: string, suffix: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith(suffix)) out.push(path.join(e.parentPath, e.name))
  }
  return out
}

function withoutIds(row: Record<string, unknown>): Record<string, unknown> {
  const { _airbyte_raw_id: _id, _airbyte_extracted_at: _at, ...rest } = row
  return rest
}

describe('destinations land the same rows from both paths', () => {
  test('Postgres (direct COPY of the batches, and the zero-date rows with their changes)', async () => {
    await sync(fast, new PostgresDestination(), { ...pgDb.config, schema: 'mysql_speed_new' }, ['fast', 'ev', 'zf'])
    await sync(rowPath, new PostgresDestination(), { ...pgDb.config, schema: 'mysql_speed_old' }, ['fast', 'ev', 'zf'])
    for (const table of ['fast', 'ev', 'zf']) {
      const cols = await pgDb.query<{ column_name: string; data_type: string }>(
        `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'mysql_speed_new' AND table_name = $1 AND column_name NOT IN ('_airbyte_raw_id', '_airbyte_extracted_at') ORDER BY ordinal_position`,
        [table],
      )
      const old = await pgDb.query<{ column_name: string; data_type: string }>(
        `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'mysql_speed_old' AND table_name = $1 AND column_name NOT IN ('_airbyte_raw_id', '_airbyte_extracted_at') ORDER BY ordinal_position`,
        [table],
      )
      assert.deepEqual(cols.rows, old.rows)
      // DECIMAL values go as the server's text, so numeric keeps their scale (1.50 where the
      // row path wrote 1.5): the same number, compared without trailing zeros.
      const list = cols.rows.map((c) => (c.data_type === 'numeric' ? `trim_scale("${c.column_name}")::text` : `"${c.column_name}"::text`)).join(', ')
      const a = await pgDb.query(`SELECT ${list} FROM mysql_speed_new."${table}" ORDER BY id`)
      const b = await pgDb.query(`SELECT ${list} FROM mysql_speed_old."${table}" ORDER BY id`)
      assert.ok(a.rows.length > 0)
      assert.deepEqual(a.rows, b.rows)
    }
    const r4 = (await pgDb.query(`SELECT vc, tx, mt, b, dtm3::text, ts::text, _airbyte_meta FROM mysql_speed_new.fast WHERE id = 4`)).rows[0]!
    assert.equal(r4.vc, '\\N')
    assert.equal(r4.tx, 'cr\rlf\r\n\\')
    assert.equal(r4.mt, longText)
    assert.equal(r4.b, true)
    assert.equal(r4.dtm3, '1999-12-31 23:59:59.999')
    assert.equal(r4.ts, '1970-01-01 00:00:01+00')
    const r2 = (await pgDb.query(`SELECT _airbyte_meta FROM mysql_speed_new.fast WHERE id = 2`)).rows[0]!
    assert.deepEqual(
      (r2._airbyte_meta.changes as { field: string }[]).map((c) => c.field).sort(),
      ['dt', 'dtm', 'dtm3'],
    )
  })

  test('JSONL and Parquet', async () => {
    for (const [name, source] of [['new', fast], ['old', rowPath]] as const) {
      await sync(source, new LocalFilesDestination(), { destination_path: `jsonl-${name}`, format: { format_type: 'JSONL' } }, ['fast', 'ev', 'zf'])
      await sync(source, new LocalFilesDestination(), { destination_path: `pq-${name}`, format: { format_type: 'Parquet' } }, ['fast', 'ev', 'zf'])
    }
    const jsonl = async (dir: string): Promise<unknown[]> => {
      const out: unknown[] = []
      for (const f of (await files(path.join(root, dir), '.gz')).sort()) {
        for (const line of gunzipSync(await readFile(f)).toString('utf8').trim().split('\n')) out.push(withoutIds(JSON.parse(line) as Record<string, unknown>))
      }
      return out
    }
    const newLines = await jsonl('jsonl-new')
    assert.equal(newLines.length, 17)
    assert.deepEqual(newLines, await jsonl('jsonl-old'))
    const parquet = async (dir: string): Promise<unknown[]> => {
      const out: unknown[] = []
      for (const f of (await files(path.join(root, dir), '.parquet')).sort()) for (const r of await readParquet(await readFile(f))) out.push(withoutIds(r))
      return out
    }
    const newRows = await parquet('pq-new')
    assert.equal(newRows.length, 17)
    assert.deepEqual(newRows, await parquet('pq-old'))
  })
})

describe('failures and backpressure on the COPY text path', () => {
  test('a connection killed mid-read is a transient error', async () => {
    await my.query(`CREATE TABLE killme (id INT PRIMARY KEY, pad VARCHAR(200)); INSERT INTO killme SELECT seq, REPEAT('k', 200) FROM seq_1_to_50000`)
    const slow = new MysqlSource({ batchRows: 100, batchBytes: 1 << 20, checkpointRows: 1_000_000 })
    const catalog = await catalogOf(['killme'])
    const admin = await mysql.createConnection({ host: MYSQL_HOST, port: MYSQL_PORT, user: 'root' })
    try {
      let seen = 0
      await assert.rejects(
        (async () => {
          for await (const m of slow.read(cfg, catalog, [], runOptions())) {
            if (m.type !== 'RECORD_BATCH') continue
            assert.ok(m.pgCopyText)
            seen += m.count
            if (seen === 100) {
              const [procs] = await admin.query(`SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID() AND INFO LIKE 'SELECT%killme%'`, [my.name])
              for (const p of procs as { ID: number }[]) await admin.query(`KILL ${p.ID}`)
            }
          }
        })(),
        (e: Error & { code?: string }) => e.code === 'SLUICE_ERR_CONNECTOR_TRANSIENT' && /connection|lost|closed|killed/i.test(e.message),
      )
      assert.ok(seen < 50000)
    } finally {
      await admin.end()
    }
  })

  test('a slow consumer: the server stops sending while a batch waits (socket paused)', async () => {
    await my.query(`CREATE TABLE flood (v VARCHAR(400)); INSERT INTO flood SELECT REPEAT('f', 400) FROM seq_1_to_200000`)
    const src = new MysqlSource({ batchRows: 100, batchBytes: 1 << 20, checkpointRows: 1_000_000 })
    const catalog = await catalogOf(['flood'])
    const admin = await mysql.createConnection({ host: MYSQL_HOST, port: MYSQL_PORT, user: 'root' })
    const reader = src.read(cfg, catalog, [], runOptions())[Symbol.asyncIterator]()
    try {
      let first: RecordBatch | undefined
      while (!first) {
        const m = await reader.next()
        assert.ok(!m.done)
        if (m.value.type === 'RECORD_BATCH') first = m.value
      }
      assert.ok(first.pgCopyText)
      // Holding the batch: the rows the server has read stop growing (it blocks writing to the
      // full socket buffers) far below the 80 MB result, and the query is still running.
      const sent = async (): Promise<number | undefined> => {
        const [rows] = await admin.query(`SELECT EXAMINED_ROWS AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND INFO LIKE 'SELECT%flood%' AND ID <> CONNECTION_ID()`, [my.name])
        const r = (rows as { n: number }[])[0]
        return r === undefined ? undefined : Number(r.n)
      }
      let before = -1
      let now = await sent()
      while (now !== before) {
        before = now ?? -1
        await new Promise((resolve) => setTimeout(resolve, 200))
        now = await sent()
      }
      assert.notEqual(now, undefined)
      assert.ok(now! < 100_000, `the server read ${now} rows for a consumer holding one batch`)
      let total = first.count
      for (;;) {
        const m = await reader.next()
        if (m.done) break
        if (m.value.type === 'RECORD_BATCH') {
          assert.ok(m.value.count <= 100)
          total += m.value.count
        }
      }
      assert.equal(total, 200_000)
    } finally {
      await reader.return?.(undefined)
      await admin.end()
    }
  })
})
