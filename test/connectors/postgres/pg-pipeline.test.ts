import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import { parquetReadObjects } from 'hyparquet'
import { runAttempt } from '../../../src/engine/index.js'
import type { ConfiguredCatalog, Destination, Source, StateMessage } from '../../../src/protocol/index.js'
import { PostgresSource } from '../../../src/connectors/postgres/postgres-source.js'
import { PostgresDestination } from '../../../src/connectors/postgres/postgres-destination.js'
import { LocalFilesDestination } from '../../../src/connectors/local-files/index.js'
import { streamKey } from '../../../src/protocol/index.js'
import { createTestDatabase, memoryLogger, type TestDatabase } from '../../helpers/pg.js'
import { configure } from './pg-test-utils.js'

let db: TestDatabase
let srcCfg: Record<string, unknown>
let dstCfg: Record<string, unknown>
let root: string

const TYPES_DDL = `
  CREATE TYPE mood AS ENUM ('happy', 'sad');
  CREATE TABLE types (
    id integer PRIMARY KEY, i2 smallint, i8 bigint, n numeric, n2 numeric(10,2), f4 real, f8 double precision,
    b boolean, t text, vc varchar(10), c char(3), d date, tm time, tmtz timetz, ts timestamp, tstz timestamptz,
    j json, jb jsonb, u uuid, by bytea, ai int[], at text[], e mood, ip inet, m money, iv interval);
  INSERT INTO types VALUES
    (1, 32767, 9223372036854775807, 123456789012345678901234567890.123456789, -12.34, 1.5, 0.1, true,
     E'tab\\tnl\\n bs\\\\ q" é 😀', 'x', 'ab', '2024-02-29', '23:59:59.999999', '10:00:00+02', '2024-01-01 10:00:00.123456',
     '2024-01-01 10:00:00+02', '{"a": [1, 2]}', '{"b": null}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
     '\\xdeadbeef', '{1,NULL,-3}', '{"a b","c,d",NULL,"e\\"f"}', 'sad', '192.168.0.1/24', 1234.56, '1 day 02:03:04'),
    (2, -32768, -9223372036854775808, -0.000000000000000000001, 0, -1e30, 1e308, false, '', '', '', '0001-01-01',
     '00:00:00', '00:00:00-12', '1970-01-01 00:00:00', '2262-04-11 23:47:16.854775+00', 'null', '[]',
     '00000000-0000-0000-0000-000000000000', '\\x', '{}', '{}', 'happy', '::1', -0.01, '-1 years'),
    (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
`

before(async () => {
  db = await createTestDatabase('pgpipe')
  srcCfg = { ...db.config, replication_method: { method: 'Standard' } }
  dstCfg = { ...db.config, schema: 'dw' }
  root = await mkdtemp(path.join(tmpdir(), 'sluice-pg-pipe-'))
  await db.query(TYPES_DDL)
})
after(async () => {
  await db.drop()
  await rm(root, { recursive: true, force: true })
})

interface Sync {
  states: StateMessage[]
  committed: StateMessage[]
}

/** Runs one attempt into the destination's default schema, keeping committed state per stream. */
async function sync(
  source: Source,
  destination: Destination,
  destinationConfig: Record<string, unknown>,
  catalog: ConfiguredCatalog,
  prior: StateMessage[],
  signal?: AbortSignal,
): Promise<Sync> {
  const committed: StateMessage[] = []
  await runAttempt({
    source,
    sourceConfig: srcCfg,
    destination,
    destinationConfig,
    catalog,
    mapping: { namespaceDefinition: 'destination' },
    state: prior,
    options: { signal: signal ?? new AbortController().signal, logger: memoryLogger(), context: { dataDir: root, localFilesRoot: root } },
    async onStateCommitted(states) {
      committed.push(...states)
    },
  })
  return { states: latest(prior, committed), committed }
}

function latest(prior: StateMessage[], committed: StateMessage[]): StateMessage[] {
  const m = new Map(prior.map((s) => [streamKey(s.stream), s]))
  for (const s of committed) m.set(streamKey(s.stream), s)
  return [...m.values()]
}

/** Each column as text in UTC, `to_jsonb` for arrays (the destination stores arrays as jsonb). */
async function textRows(sql: string): Promise<unknown[]> {
  const c = await db.client()
  try {
    await c.query(`SET TimeZone TO 'UTC'`)
    return (await c.query({ text: sql, rowMode: 'array' })).rows
  } finally {
    await c.end()
  }
}

describe('Postgres -> Postgres', () => {
  test('type round trip keeps every value exactly', async () => {
    const source = new PostgresSource()
    const catalog = configure(await source.discover(srcCfg, { signal: new AbortController().signal, logger: memoryLogger(), context: { dataDir: root, localFilesRoot: root } }), { names: ['types'] })
    await sync(source, new PostgresDestination(), dstCfg, catalog, [])
    const cols = 'i2, i8, n, n2, t, vc, c, d, tm, tmtz, ts, tstz, j, jb, u, by, e, ip, iv'
    // format('%s') applies the type's output function, like COPY (char padding, inet without /128).
    const out = (c: string): string => `CASE WHEN ${c} IS NULL THEN NULL ELSE format('%s', ${c}) END`
    const expected = await textRows(
      `SELECT id::bigint::text, ${cols.split(', ').map(out).join(', ')}, b::text, f4::numeric::text, f8::text::numeric::text,
              to_jsonb(ai)::text, to_jsonb(at)::text, m::numeric::text FROM public.types ORDER BY id`,
    )
    const actual = await textRows(
      `SELECT id::text, ${cols.split(', ').map((c) => `${c}::text`).join(', ')}, b::text, f4::text, f8::text, ai::text, at::text, m::text
       FROM dw.types ORDER BY id`,
    )
    assert.deepEqual(actual, expected)
    const meta = await textRows(`SELECT _airbyte_meta::text, _airbyte_generation_id FROM dw.types ORDER BY id`)
    assert.deepEqual(meta[0], ['{"changes": [], "sync_id": 7}', '0'])
  })

  test('the direct COPY path keeps values exactly and falls back to safe casts per batch', async () => {
    await db.query(`
      CREATE TABLE plain (id integer PRIMARY KEY, f double precision, r real, n0 numeric(30,0), n numeric, ts timestamp,
        tz timestamptz, d date, t time, b boolean, s text, jb jsonb, u uuid);
      INSERT INTO plain VALUES
        (1, 'NaN', '-Infinity', 1, 1e-30, '2024-01-01 00:00:00.000001', 'infinity', '-infinity', '24:00:00', true,
         E'\\N \\t', '{"k": [1]}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
        (2, 1e-310, 3.4e38, 9223372036854775807, -1, '4713-01-01 00:00:00 BC', '294276-12-31 23:59:59.999999+00',
         '5874897-12-31', '00:00:00', false, '', '"str"', NULL);
      CREATE TABLE plain_overflow (id integer PRIMARY KEY, n0 numeric(30,0));
      INSERT INTO plain_overflow VALUES (1, 5), (2, 99999999999999999999);`)
    const source = new PostgresSource()
    const ctx = { signal: new AbortController().signal, logger: memoryLogger(), context: { dataDir: root, localFilesRoot: root } }
    const catalog = configure(await source.discover(srcCfg, ctx), { names: ['plain', 'plain_overflow'], destinationSyncMode: 'append' })
    await sync(source, new PostgresDestination(), dstCfg, catalog, [])
    const cols = ['f', 'r', 'n0', 'n', 'ts', 'tz', 'd', 't', 'b', 's', 'jb', 'u']
    const expected = await textRows(`SELECT id::bigint::text, ${cols.map((c) => `${c}::text`).join(', ')} FROM public.plain ORDER BY id`)
    const actual = await textRows(`SELECT id::text, ${cols.map((c) => `${c}::text`).join(', ')} FROM dw.plain ORDER BY id`)
    // Floats land in numeric columns: compare them as numeric text.
    const asNumeric = await textRows(`SELECT f::text::numeric::text, r::text::numeric::text FROM public.plain ORDER BY id`)
    expected.forEach((row, i) => {
      const r = row as unknown[]
      const [f, rr] = asNumeric[i] as unknown[]
      r[1] = f
      r[2] = rr
    })
    assert.deepEqual(actual, expected)
    // A bigint overflow cannot be COPYed as is: that batch is typed with safe casts instead.
    const overflow = await textRows(`SELECT id::text, n0::text, _airbyte_meta->'changes' FROM dw.plain_overflow ORDER BY id`)
    assert.deepEqual(overflow, [
      ['1', '5', []],
      ['2', null, [{ field: 'n0', change: 'NULLED', reason: 'DESTINATION_TYPECAST_ERROR' }]],
    ])
  })

  test('incremental append_dedup over three syncs with updates, ties and deletes', async () => {
    await db.query(`
      CREATE TABLE orders (id integer PRIMARY KEY, status text, updated_at timestamptz NOT NULL);
      INSERT INTO orders SELECT g, 'new', '2024-01-01'::timestamptz + (g / 3) * interval '1 hour' FROM generate_series(1, 30) g;`)
    const source = new PostgresSource({ batchBytes: 200, checkpointRows: 4 })
    const dest = new PostgresDestination()
    const discovered = await source.discover(srcCfg, { signal: new AbortController().signal, logger: memoryLogger(), context: { dataDir: root, localFilesRoot: root } })
    const catalog = configure(discovered, { names: ['orders'], syncMode: 'incremental', destinationSyncMode: 'append_dedup', cursorField: ['updated_at'] })
    const compare = async (): Promise<void> => {
      const src = await textRows(`SELECT id::bigint::text, status, updated_at::text FROM public.orders ORDER BY id`)
      const dst = await textRows(`SELECT id::text, status, updated_at::text FROM dw.orders ORDER BY id`)
      assert.deepEqual(dst, src)
    }
    let s = await sync(source, dest, dstCfg, catalog, [])
    assert.ok(s.committed.length > 2, 'intermediate checkpoints committed')
    await compare()
    // Updates move the cursor forward; a new row ties with the saved boundary value.
    await db.query(`UPDATE orders SET status = 'paid', updated_at = '2024-02-01' WHERE id IN (3, 7);
                    INSERT INTO orders VALUES (31, 'late', '2024-01-02 10:00:00+00')`)
    s = await sync(source, dest, dstCfg, catalog, s.states)
    await compare()
    const t0 = Date.now()
    const third = await sync(source, dest, dstCfg, catalog, s.states)
    assert.ok(Date.now() - t0 < 2000, 'a sync with nothing new takes well under 2 s')
    await compare()
    assert.equal((await textRows(`SELECT count(*) FROM dw.orders`))[0]!.toString(), '31')
    assert.ok(third.committed.length >= 1)
  })

  test('a sync killed mid-way resumes without loss or duplicates', async () => {
    await db.query(`
      CREATE TABLE ledger (id integer PRIMARY KEY, seq integer NOT NULL, v text);
      INSERT INTO ledger SELECT g, g / 2, repeat('v', 50) FROM generate_series(1, 3000) g;`)
    const source = new PostgresSource({ batchBytes: 4096, checkpointRows: 200 })
    const ctx = { signal: new AbortController().signal, logger: memoryLogger(), context: { dataDir: root, localFilesRoot: root } }
    const catalog = configure(await source.discover(srcCfg, ctx), { names: ['ledger'], syncMode: 'incremental', destinationSyncMode: 'append', cursorField: ['seq'] })
    // The destination dies after some committed checkpoints (like a killed worker).
    const real = new PostgresDestination()
    let batches = 0
    const dying: Destination = {
      spec: real.spec,
      capabilities: real.capabilities,
      check: (c, o) => real.check(c, o),
      write(c, cat, input, o) {
        async function* counted() {
          for await (const m of input) {
            if (m.type === 'RECORD_BATCH' && ++batches === 6) throw new Error('worker killed')
            yield m
          }
        }
        return real.write(c, cat, counted(), o)
      },
    }
    const committed: StateMessage[] = []
    await assert.rejects(
      runAttempt({
        source,
        sourceConfig: srcCfg,
        destination: dying,
        destinationConfig: dstCfg,
        catalog,
        mapping: { namespaceDefinition: 'destination' },
        state: [],
        options: ctx,
        async onStateCommitted(states) {
          committed.push(...states)
        },
      }),
    )
    assert.ok(committed.length > 0, 'some states were committed before the kill')
    const partial = Number((await textRows(`SELECT count(*) FROM dw.ledger`))[0])
    assert.ok(partial > 0 && partial < 3000, `partial rows ${partial}`)
    await sync(source, real, dstCfg, catalog, latest([], committed))
    const rows = await textRows(`SELECT count(*), count(DISTINCT id), min(id), max(id) FROM dw.ledger`)
    assert.deepEqual(rows[0], ['3000', '3000', '1', '3000'])
  })
})

describe('Postgres -> Local Files', () => {
  test('JSONL output carries the source values exactly', async () => {
    const source = new PostgresSource()
    const ctx = { signal: new AbortController().signal, logger: memoryLogger(), context: { dataDir: root, localFilesRoot: root } }
    const catalog = configure(await source.discover(srcCfg, ctx), { names: ['types'] })
    await sync(source, new LocalFilesDestination(), { destination_path: 'lf', format: { format_type: 'JSONL' } }, catalog, [])
    const files: string[] = []
    const walk = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        if (e.isDirectory()) await walk(path.join(dir, e.name))
        else files.push(path.join(dir, e.name))
      }
    }
    await walk(path.join(root, 'lf'))
    const data_files = files.filter((f) => !path.basename(f).startsWith('.'))
    assert.equal(data_files.length, 1)
    const text = gunzipSync(await readFile(data_files[0]!)).toString('utf8')
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as { _airbyte_data: Record<string, unknown> })
    const data = lines.map((l) => l._airbyte_data).sort((a, b) => (a.id as number) - (b.id as number))
    assert.deepEqual(data[0], {
      id: 1, i2: 32767, i8: '9223372036854775807', n: '123456789012345678901234567890.123456789', n2: -12.34, f4: 1.5, f8: 0.1,
      b: true, t: 'tab\tnl\n bs\\ q" é 😀', vc: 'x', c: 'ab ', d: '2024-02-29', tm: '23:59:59.999999', tmtz: '10:00:00+02',
      ts: '2024-01-01T10:00:00.123456', tstz: '2024-01-01T08:00:00Z', j: '{"a": [1, 2]}', jb: '{"b": null}',
      u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', by: '\\xdeadbeef', ai: [1, null, -3], at: ['a b', 'c,d', null, 'e"f'],
      e: 'sad', ip: '192.168.0.1/24', m: 1234.56, iv: '1 day 02:03:04',
    })
    assert.equal(data[1]!.i8, '-9223372036854775808')
    assert.equal(data[1]!.n, -1e-21)
    assert.equal(data[1]!.f8, 1e308)
    assert.equal(data[1]!.tstz, '2262-04-11T23:47:16.854775Z')
    assert.ok(Object.values(data[2]!).slice(1).every((v) => v === null))
  })

  test('Parquet output keeps integers, floats, text and instants exactly', async () => {
    const source = new PostgresSource()
    const ctx = { signal: new AbortController().signal, logger: memoryLogger(), context: { dataDir: root, localFilesRoot: root } }
    const catalog = configure(await source.discover(srcCfg, ctx), { names: ['types'] })
    await sync(source, new LocalFilesDestination(), { destination_path: 'pq', format: { format_type: 'Parquet' } }, catalog, [])
    const files: string[] = []
    const walk = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        if (e.isDirectory()) await walk(path.join(dir, e.name))
        else if (e.name.endsWith('.parquet')) files.push(path.join(dir, e.name))
      }
    }
    await walk(path.join(root, 'pq'))
    assert.equal(files.length, 1)
    const bytes = await readFile(files[0]!)
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
    const rows = ((await parquetReadObjects({ file })) as Record<string, unknown>[]).sort((a, b) => Number(a.id) - Number(b.id))
    assert.equal(rows.length, 3)
    const [a, b, c] = rows as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>]
    assert.equal(a.i8, 9223372036854775807n)
    assert.equal(b.i8, -9223372036854775808n)
    assert.equal(a.f8, 0.1)
    assert.equal(b.f8, 1e308)
    assert.equal(a.b, true)
    assert.equal(a.t, 'tab\tnl\n bs\\ q" é 😀')
    assert.equal((a.tstz as Date).toISOString(), '2024-01-01T08:00:00.000Z')
    assert.equal(c.i8, null)
    assert.equal(c.t, null)
  })
})
