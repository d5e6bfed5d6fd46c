import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { ConfiguredCatalog, Source, SourceMessage } from '../../../src/protocol/index.js'
import { LocalFilesDestination } from '../../../src/connectors/local-files/index.js'
import { postgresSourceDefinition } from '../../../src/connectors/postgres/index.js'
import { runAttempt } from '../../../src/engine/index.js'
import { parseFormatConfig } from '../../../src/formats/index.js'
import { encodableInThread, usesEncoderThreads } from '../../../src/formats/encoder-pool.js'
import { readAvro, readJsonl, readParquet, runOptions } from '../../formats/fixtures.js'
import { createTestDatabase, type TestDatabase } from '../../helpers/pg.js'

/**
 * The headline pipeline's encoding: the Postgres source hands Parquet its COPY text bytes; the
 * values decoded from those bytes must equal the ones decoded from the source's own rows.
 */
describe('Postgres -> Parquet and JSONL from COPY text', () => {
  let db: TestDatabase
  let root: string
  before(async () => {
    db = await createTestDatabase('d_pgparquet')
    root = await mkdtemp(path.join(os.tmpdir(), 'sluice-pgparquet-'))
    await db.query(`CREATE TABLE mixed (
      id integer PRIMARY KEY, big bigint, small smallint, name text, label varchar(20), code char(3),
      amount double precision, ratio real, price numeric(12,2), whole numeric(10,0), loose numeric,
      active boolean, born date, created_at timestamptz, local_at timestamp, at time, doc jsonb,
      tags integer[], uid uuid)`)
    await db.query(`INSERT INTO mixed VALUES
      (1, 9007199254740993, 7, 'plain', 'x', 'abc', 1.5, 0.25, 12.34, 42, 3.14159265358979323846,
       true, '2024-02-29', '2024-05-01 10:00:00.123456+00', '2024-05-01 10:00:00', '12:34:56.789',
       '{"a": [1, "two"]}', '{1,2}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
      (2, -5, -1, E'tab\\there\\nnew line \\\\ back "q"', 'ü€', 'z', 'NaN', '-Infinity', -0.05, 0, 0,
       false, '1970-01-01', '1969-12-31 23:59:59+00', '2000-01-01 00:00:00.5', '00:00:00',
       'null', '{}', NULL),
      (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
      (4, 0, 0, '', '', '', 0, 0, 0, 0, 0, true, 'infinity', '2024-05-01 12:00:00+02', '2024-05-01 10:00:00', '23:59:59.999999',
       '[]', '{3}', '00000000-0000-0000-0000-000000000000')`)
    // Only types with a byte rule: its batches are encoded in encoder threads.
    await db.query(`CREATE TABLE plain AS SELECT id, big, small, name, label, code, amount, ratio, price, whole, loose, active, born, created_at, local_at, uid FROM mixed`)
    await db.query(`INSERT INTO plain (id, big, name, amount, ratio, price, whole, loose, active, created_at) VALUES
      (5, 9007199254740991, 'x', 1e20, 1e-7, 12.50, 3, -0.00, true, '2024-05-01 10:00:00+05:30'),
      (6, -9223372036854775808, 'y', -0.0, 123456.75, -3.00, -7, 0.0000001, false, '0001-01-01 00:00:00+00'),
      (7, 1, 'z', 0.1, 3.4028235e38, 0.01, 100, 1000000000000000000000, true, NULL)`)
    await db.query(`INSERT INTO plain (id, name, loose) SELECT g, md5(g::text), g / 7.0 FROM generate_series(100, 3099) g`)
  })
  after(async () => {
    await rm(root, { recursive: true, force: true })
    await db.drop()
  })

  /** The Postgres source with COPY text and columns hidden: the rows() path. */
  const rowsOnly: Source = {
    ...postgresSourceDefinition.source,
    spec: postgresSourceDefinition.source.spec,
    check: (c, o) => postgresSourceDefinition.source.check(c, o),
    discover: (c, o) => postgresSourceDefinition.source.discover(c, o),
    async *read(config, catalog, state, opts): AsyncIterable<SourceMessage> {
      for await (const m of postgresSourceDefinition.source.read(config, catalog, state, opts)) {
        if (m.type !== 'RECORD_BATCH') yield m
        else yield { type: 'RECORD_BATCH', stream: m.stream, emittedAt: m.emittedAt, count: m.count, bytes: m.bytes, rows: () => m.rows() }
      }
    },
  }

  async function sync(source: Source, dir: string, format?: Record<string, unknown>, table = 'mixed'): Promise<Record<string, unknown>[]> {
    const config = { ...db.config, schemas: ['public'], replication_method: { method: 'Standard' } }
    const opts = runOptions(root)
    const discovered = await source.discover(config, opts)
    const catalog: ConfiguredCatalog = {
      streams: discovered.streams.filter((s) => s.name === table).map((stream) => ({
        stream,
        syncMode: 'full_refresh',
        destinationSyncMode: 'overwrite',
        cursorField: [],
        primaryKey: [['id']],
        syncId: 1,
        generationId: 1,
        minimumGenerationId: 1,
      })),
    }
    await runAttempt({
      source,
      sourceConfig: config,
      destination: new LocalFilesDestination(),
      destinationConfig: { destination_path: dir, path_format: '${STREAM_NAME}/', format },
      catalog,
      mapping: { namespaceDefinition: 'source' },
      state: [],
      options: opts,
      onStateCommitted: async () => {},
    })
    const files = (await readdir(path.join(root, dir, table))).filter((f) => !f.startsWith('.'))
    assert.equal(files.length, 1)
    const bytes = await readFile(path.join(root, dir, table, files[0]!))
    const rows = format?.format_type === 'Avro' ? (await readAvro(bytes)).records : format ? readJsonl(bytes, false) : await readParquet(bytes)
    const key = (r: Record<string, unknown>): number => Number(r.id ?? (r._airbyte_data as { id: number }).id)
    return rows.map(({ _airbyte_raw_id, _airbyte_extracted_at, ...rest }) => rest).sort((a, b) => key(a) - key(b))
  }

  it('gives the same Parquet values from COPY bytes as from decoded rows', async () => {
    const fromCopy = await sync(postgresSourceDefinition.source, 'copy')
    const fromRows = await sync(rowsOnly, 'rows')
    assert.equal(fromCopy.length, 4)
    assert.deepEqual(fromCopy, fromRows)
    const [one, two, three, four] = fromCopy
    assert.equal(one!.big, 9_007_199_254_740_993n)
    assert.equal(one!.price, 12.34)
    assert.equal((one!.created_at as Date).toISOString(), '2024-05-01T10:00:00.123Z')
    assert.equal(two!.name, 'tab\there\nnew line \\ back "q"')
    assert.equal(two!.label, 'ü€')
    assert.equal(three!.name, null)
    assert.equal((four!.created_at as Date).toISOString(), '2024-05-01T10:00:00.000Z')
    assert.equal(four!.born, null)
    assert.deepEqual((four!._airbyte_meta as { changes: { field: string }[] }).changes.map((c) => c.field), ['born'])
  })
  it('gives the same Avro values from a COPY text batch as from decoded rows', async () => {
    const format = { format_type: 'Avro', compression_codec: { codec: 'snappy' } }
    const fromCopy = await sync(postgresSourceDefinition.source, 'avro-copy', format)
    const fromRows = await sync(rowsOnly, 'avro-rows', format)
    assert.equal(fromCopy.length, 4)
    assert.deepEqual(fromCopy, fromRows)
    const [one, two, three, four] = fromCopy
    assert.equal(one!.big, 9_007_199_254_740_993n)
    assert.equal(one!.small, 7)
    // numeric(12,2) is discovered as a JSON number: a double, as Airbyte writes it.
    assert.equal(one!.price, 12.34)
    assert.equal(one!.created_at, 1_714_557_600_123_456)
    assert.equal(one!.local_at, 1_714_557_600_000_000)
    assert.equal(one!.born, 19_782)
    assert.equal(one!.at, 45_296_789_000)
    assert.deepEqual(JSON.parse(one!.doc as string), { a: [1, 'two'] })
    assert.equal(one!.tags, '[1,2]')
    assert.equal(one!.uid, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')
    assert.equal(two!.name, 'tab\there\nnew line \\ back "q"')
    assert.equal(two!.label, 'ü€')
    // The source hands NaN and infinities over as null (JSON has neither), as for JSONL.
    assert.equal(two!.amount, null)
    assert.equal(two!.ratio, null)
    assert.equal(three!.name, null)
    assert.equal(three!.big, null)
    assert.equal(four!.created_at, 1_714_557_600_000_000)
    assert.equal(four!.born, null)
    assert.equal(four!.at, 86_399_999_999)
    assert.deepEqual((four!._airbyte_meta as { changes: { field: string }[] }).changes.map((c) => c.field), ['born'])
  })

  for (const flattening of ['No flattening', 'Root level flattening']) {
    it(`gives the same JSONL from COPY bytes as from decoded rows (${flattening})`, async () => {
      const format = { format_type: 'JSONL', compression: { compression_type: 'No Compression' }, flattening }
      const tag = flattening.startsWith('No') ? 'nested' : 'flat'
      const fromCopy = await sync(postgresSourceDefinition.source, `jsonl-copy-${tag}`, format)
      const fromRows = await sync(rowsOnly, `jsonl-rows-${tag}`, format)
      assert.equal(fromCopy.length, 4)
      assert.deepEqual(fromCopy, fromRows)
      const data = (r: Record<string, unknown>): Record<string, unknown> => (flattening.startsWith('No') ? (r._airbyte_data as Record<string, unknown>) : r)
      assert.equal(data(fromCopy[0]!).big, '9007199254740993')
      assert.equal(data(fromCopy[0]!).created_at, '2024-05-01T10:00:00.123456Z')
      assert.equal(data(fromCopy[1]!).name, 'tab\there\nnew line \\ back "q"')
      assert.equal(data(fromCopy[1]!).amount, null)
      assert.deepEqual(data(fromCopy[0]!).tags, [1, 2])
    })
  }

  it('encodes a table of byte-rule types in encoder threads, with the same values as the rows path', async () => {
    const config = { ...db.config, schemas: ['public'], replication_method: { method: 'Standard' } }
    const opts = runOptions(root)
    const stream = (await postgresSourceDefinition.source.discover(config, opts)).streams.find((s) => s.name === 'plain')!
    const catalog: ConfiguredCatalog = {
      streams: [{ stream, syncMode: 'full_refresh', destinationSyncMode: 'overwrite', cursorField: [], primaryKey: [['id']], syncId: 1, generationId: 1, minimumGenerationId: 1 }],
    }
    for await (const m of postgresSourceDefinition.source.read(config, catalog, [], opts)) {
      if (m.type !== 'RECORD_BATCH') continue
      for (const format of [parseFormatConfig({ format_type: 'Parquet' }, { type: 'JSONL', gzip: false, flatten: false }), parseFormatConfig({ format_type: 'JSONL' }, { type: 'JSONL', gzip: false, flatten: false })]) {
        assert.equal(encodableInThread(format, m), true, format.type)
      }
      assert.equal(encodableInThread(parseFormatConfig({ format_type: 'CSV' }, { type: 'JSONL', gzip: false, flatten: false }), m), false)
      // Avro stays on the main thread, even for batches every other format could send over.
      const avro = parseFormatConfig({ format_type: 'Avro', compression_codec: { codec: 'snappy' } }, { type: 'JSONL', gzip: false, flatten: false })
      assert.equal(encodableInThread(avro, m), false)
      assert.equal(usesEncoderThreads(avro), false)
    }
    const fromCopy = await sync(postgresSourceDefinition.source, 'plain-copy', undefined, 'plain')
    const fromRows = await sync(rowsOnly, 'plain-rows', undefined, 'plain')
    assert.equal(fromCopy.length, 3007)
    assert.deepEqual(fromCopy, fromRows)
    assert.equal(fromCopy[1]!.name, 'tab\there\nnew line \\ back "q"')
    assert.equal(fromCopy[5]!.big, -9_223_372_036_854_775_808n)
    assert.equal(fromCopy[4]!.price, 12.5)
    for (const flattening of ['No flattening', 'Root level flattening']) {
      const format = { format_type: 'JSONL', compression: { compression_type: 'No Compression' }, flattening }
      const tag = flattening.startsWith('No') ? 'nested' : 'flat'
      const jsonCopy = await sync(postgresSourceDefinition.source, `plain-jsonl-copy-${tag}`, format, 'plain')
      const jsonRows = await sync(rowsOnly, `plain-jsonl-rows-${tag}`, format, 'plain')
      assert.equal(jsonCopy.length, 3007)
      assert.deepEqual(jsonCopy, jsonRows)
      const data = (r: Record<string, unknown>): Record<string, unknown> => (flattening.startsWith('No') ? (r._airbyte_data as Record<string, unknown>) : r)
      assert.equal(data(jsonCopy[4]!).price, 12.5)
      assert.equal(data(jsonCopy[5]!).price, -3)
      assert.equal(data(jsonCopy[4]!).loose, 0)
      assert.equal(data(jsonCopy[5]!).loose, 1e-7)
    }
  })
})
