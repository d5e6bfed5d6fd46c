import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { AvroEncoder, type AvroEncoderOptions, avroSafeName, decimalBytes } from '../../src/formats/avro-encoder.js'
import type { AvroFormat } from '../../src/formats/format-config.js'
import { dataColumns } from '../../src/formats/stream-columns.js'
import { type JsonSchema, type RecordBatch, type RecordData, rowBatch } from '../../src/protocol/index.js'
import { MIXED_SCHEMA, mixedRows, readAvro, zstdNapi } from './fixtures.js'

const NONE: AvroFormat = { type: 'Avro', codec: 'no compression', compressionLevel: 0, includeChecksum: false }
const EMITTED_AT = 1_714_557_600_123

async function encode(
  batches: RecordBatch[],
  schema: JsonSchema = MIXED_SCHEMA,
  format: AvroFormat = NONE,
  options: AvroEncoderOptions = {},
  stream: { name: string; namespace?: string | null } = { name: 'users', namespace: 'public' },
): Promise<{ bytes: Buffer; chunks: number }> {
  const chunks: Uint8Array[] = []
  const enc = new AvroEncoder(async (c) => void chunks.push(c), { syncId: 41, generationId: 3 }, stream, dataColumns(schema), format, options)
  for (const b of batches) await enc.write(b)
  await enc.end()
  return { bytes: Buffer.concat(chunks), chunks: chunks.length }
}

const batchOf = (rows: RecordData[]): RecordBatch => rowBatch({ name: 'users', namespace: 'public' }, rows, { emittedAt: EMITTED_AT })

/** Every column kind, with the physical values Avro must hold for them. */
const KINDS_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    i: { type: 'integer' },
    n: { type: 'number' },
    d: { type: 'number', precision: 10, scale: 2 },
    b: { type: 'boolean' },
    s: { type: 'string' },
    day: { type: 'string', format: 'date' },
    ts: { type: 'string', format: 'date-time' },
    ts_local: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_without_timezone' },
    t: { type: 'string', format: 'time' },
    obj: { type: 'object', properties: { a: { type: 'integer' } } },
    arr: { type: 'array', items: { type: 'string' } },
    any: {},
  },
}

describe('AvroEncoder', () => {
  it('writes the Airbyte columns and Airbyte\'s JSON schema -> Avro types into the header', async () => {
    const { bytes } = await encode([batchOf(mixedRows(0, 2))], KINDS_SCHEMA)
    const file = await readAvro(bytes)
    assert.equal(file.codec, 'null')
    assert.equal(file.schema.name, 'users')
    assert.equal(file.schema.namespace, 'public')
    const types = Object.fromEntries(file.schema.fields.map((f) => [f.name, f.type]))
    assert.deepEqual(Object.keys(types), [
      '_airbyte_raw_id', '_airbyte_extracted_at', '_airbyte_meta', '_airbyte_generation_id',
      'i', 'n', 'd', 'b', 's', 'day', 'ts', 'ts_local', 't', 'obj', 'arr', 'any',
    ])
    assert.deepEqual(types._airbyte_raw_id, { type: 'string', logicalType: 'uuid' })
    assert.deepEqual(types._airbyte_extracted_at, { type: 'long', logicalType: 'timestamp-millis' })
    assert.equal(types._airbyte_generation_id, 'long')
    const meta = types._airbyte_meta as { name: string; namespace: string; fields: { name: string; type: unknown }[] }
    assert.deepEqual([meta.name, meta.namespace], ['_airbyte_meta', 'users.public'])
    assert.deepEqual(meta.fields, [
      { name: 'sync_id', type: 'long' },
      {
        name: 'changes',
        type: {
          type: 'array',
          items: {
            type: 'record',
            name: 'items',
            namespace: 'changes._airbyte_meta.users.public',
            fields: [
              { name: 'field', type: 'string' },
              { name: 'change', type: 'string' },
              { name: 'reason', type: 'string' },
            ],
          },
        },
      },
    ])
    assert.deepEqual(types.i, ['null', 'long'])
    assert.deepEqual(types.n, ['null', 'double'])
    assert.deepEqual(types.d, ['null', { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 }])
    assert.deepEqual(types.b, ['null', 'boolean'])
    assert.deepEqual(types.s, ['null', 'string'])
    assert.deepEqual(types.day, ['null', { type: 'int', logicalType: 'date' }])
    assert.deepEqual(types.ts, ['null', { type: 'long', logicalType: 'timestamp-micros' }])
    assert.deepEqual(types.ts_local, ['null', { type: 'long', logicalType: 'timestamp-micros' }])
    assert.deepEqual(types.t, ['null', { type: 'long', logicalType: 'time-micros' }])
    for (const json of ['obj', 'arr', 'any']) assert.deepEqual(types[json], ['null', 'string'])
    assert.ok(file.schema.fields.slice(4).every((f) => f.default === null))
  })

  it('converts every column kind, nulls included, to its Avro value', async () => {
    const rows: RecordData[] = [
      {
        i: 42,
        n: 1.5,
        d: '123.45',
        b: true,
        s: 'héllo',
        day: '2000-01-01',
        ts: '2024-05-01T10:00:00.123456Z',
        ts_local: '2024-05-01 10:00:00',
        t: '12:34:56.789',
        obj: { a: 1, nested: [1, { x: null }] },
        arr: ['x', 'y'],
        any: 7,
      },
      { i: '9007199254740993', n: -0.25, d: '-2.00', b: false, s: 12, day: '9999-12-31', ts: '9999-12-31T23:59:59.999999Z', ts_local: '0001-01-01T00:00:00', t: '23:59:59.999999', obj: {}, arr: [], any: 'text' },
      { i: null, n: null, d: null, b: null, s: null, day: null, ts: null, ts_local: null, t: null, obj: null, arr: null, any: null },
      {},
    ]
    const { bytes } = await encode([batchOf(rows)], KINDS_SCHEMA)
    const [a, b, nulls, missing] = (await readAvro(bytes)).records
    assert.equal(a!.i, 42)
    assert.equal(a!.n, 1.5)
    assert.deepEqual(a!.d, Buffer.from([0x30, 0x39])) // 12345
    assert.equal(a!.b, true)
    assert.equal(a!.s, 'héllo')
    assert.equal(a!.day, 10_957)
    assert.equal(a!.ts, 1_714_557_600_123_456)
    assert.equal(a!.ts_local, 1_714_557_600_000_000)
    assert.equal(a!.t, 45_296_789_000)
    assert.deepEqual(JSON.parse(a!.obj as string), { a: 1, nested: [1, { x: null }] })
    assert.equal(a!.arr, '["x","y"]')
    assert.equal(a!.any, '7')
    // Beyond 2^53: int64 text and the 9999-12-31 / 0001-01-01 sentinels keep their exact value.
    assert.equal(b!.i, 9_007_199_254_740_993n)
    assert.equal(b!.n, -0.25)
    assert.deepEqual(b!.d, Buffer.from([0xff, 0x38])) // -200
    assert.equal(b!.b, false)
    assert.equal(b!.s, '12')
    assert.equal(b!.day, 2_932_896)
    assert.equal(b!.ts, 253_402_300_799_999_999n)
    assert.equal(b!.ts_local, -62_135_596_800_000_000n)
    assert.equal(b!.t, 86_399_999_999)
    assert.equal(b!.obj, '{}')
    assert.equal(b!.arr, '[]')
    assert.equal(b!.any, '"text"')
    for (const r of [nulls!, missing!]) {
      for (const k of Object.keys(KINDS_SCHEMA.properties as object)) assert.equal(r[k], null, k)
      assert.deepEqual(r._airbyte_meta, { sync_id: 41, changes: [] })
    }
    assert.equal(a!._airbyte_extracted_at, EMITTED_AT)
    assert.equal(a!._airbyte_generation_id, 3)
    assert.match(String(a!._airbyte_raw_id), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    assert.notEqual(a!._airbyte_raw_id, b!._airbyte_raw_id)
  })

  it('nulls unconvertible values and records them in _airbyte_meta.changes after source-side changes', async () => {
    const rows: RecordData[] = [
      { i: 'not-a-number', n: 'abc', d: '123456789.123', b: 'yes', day: '2024-13-40', ts: 'yesterday', t: '25:00', s: 'ok' },
      { i: 1, s: 'fine' },
    ]
    const batch = { ...batchOf(rows), changes: new Map([[0, [{ field: 's', change: 'TRUNCATED' as const, reason: 'SOURCE_FIELD_SIZE_LIMITATION' }]]]) }
    const [bad, good] = (await readAvro((await encode([batch], KINDS_SCHEMA)).bytes)).records
    for (const k of ['i', 'n', 'd', 'b', 'day', 'ts', 't']) assert.equal(bad![k], null, k)
    assert.equal(bad!.s, 'ok')
    const meta = bad!._airbyte_meta as { sync_id: number; changes: { field: string; change: string; reason: string }[] }
    assert.equal(meta.sync_id, 41)
    assert.deepEqual(meta.changes[0], { field: 's', change: 'TRUNCATED', reason: 'SOURCE_FIELD_SIZE_LIMITATION' })
    assert.deepEqual(
      meta.changes.slice(1).map((c) => `${c.field}:${c.change}:${c.reason}`),
      ['i', 'n', 'd', 'b', 'day', 'ts', 't'].map((f) => `${f}:NULLED:DESTINATION_SERIALIZATION_ERROR`),
    )
    assert.deepEqual(good!._airbyte_meta, { sync_id: 41, changes: [] })
    assert.equal(good!.i, 1)
  })

  it('makes record and field names Avro-safe without letting two columns share a field', async () => {
    const schema: JsonSchema = {
      properties: {
        'first name': { type: 'string' },
        '1st': { type: 'integer' },
        'café': { type: 'string' },
        'a-b': { type: 'string' },
        a_b: { type: 'string' },
        _airbyte_meta: { type: 'string' },
      },
    }
    const row = { 'first name': 'Ada', '1st': 1, 'café': 'noir', 'a-b': 'dash', a_b: 'underscore', _airbyte_meta: 'mine' }
    const { bytes } = await encode([batchOf([row])], schema, NONE, {}, { name: '2024 sales', namespace: 'my-db.9x' })
    const file = await readAvro(bytes)
    assert.equal(file.schema.name, '_2024_sales')
    assert.equal(file.schema.namespace, 'my_db._9x')
    assert.deepEqual(file.schema.fields.slice(4).map((f) => f.name), ['first_name', '_1st', 'cafe', 'a_b', 'a_b_1', '_airbyte_meta_1'])
    const [r] = file.records
    assert.deepEqual(
      [r!.first_name, r!._1st, r!.cafe, r!.a_b, r!.a_b_1, r!._airbyte_meta_1],
      ['Ada', 1, 'noir', 'dash', 'underscore', 'mine'],
    )
    assert.deepEqual(r!._airbyte_meta, { sync_id: 41, changes: [] })
    assert.equal(avroSafeName('Ünïcödé  spaces\ttab'), 'Unicode_spaces_tab')
    assert.equal(avroSafeName(''), '_')
  })

  it('names a stream _airbyte_meta without clashing with the metadata record', async () => {
    const { bytes } = await encode([batchOf([{ id: 1 }])], { properties: { id: { type: 'integer' } } }, NONE, {}, { name: '_airbyte_meta', namespace: 'public' })
    const file = await readAvro(bytes)
    assert.equal(file.schema.name, '_airbyte_meta')
    assert.equal(file.records[0]!.id, 1)
  })

  it('uses Airbyte\'s "default" namespace for a stream without one', async () => {
    const { bytes } = await encode([batchOf([{ id: 1 }])], { properties: { id: { type: 'integer' } } }, NONE, {}, { name: 'x', namespace: null })
    assert.equal((await readAvro(bytes)).schema.namespace, 'default')
  })

  it('keeps the whole record as _airbyte_data when the schema has no properties', async () => {
    const { bytes } = await encode([batchOf([{ a: 1, b: { c: 'x' } }, { z: [true] }])], { type: 'object' })
    const file = await readAvro(bytes)
    assert.deepEqual(file.schema.fields.map((f) => f.name).slice(4), ['_airbyte_data'])
    assert.deepEqual(file.records.map((r) => JSON.parse(r._airbyte_data as string)), [{ a: 1, b: { c: 'x' } }, { z: [true] }])
  })

  it('splits a file into blocks of bounded size, one output chunk each, rows in order', async () => {
    const batches = Array.from({ length: 4 }, (_, i) => batchOf(mixedRows(i * 500, 500)))
    const { bytes, chunks } = await encode(batches, MIXED_SCHEMA, NONE, { blockBytes: 16 * 1024 })
    const file = await readAvro(bytes)
    assert.ok(file.blocks >= 10, `expected many blocks, got ${file.blocks}`)
    assert.equal(chunks, file.blocks + 1) // the header, then one chunk per block
    assert.equal(file.records.length, 2000)
    const source = mixedRows(0, 2000)
    assert.deepEqual(file.records.map((r) => r.amount), source.map((r) => r.amount))
    assert.deepEqual(file.records.map((r) => r.name), source.map((r) => r.name))
    assert.equal(new Set(file.records.map((r) => r._airbyte_raw_id)).size, 2000)
  })

  it('writes a record larger than a block in a block of its own', async () => {
    const big = 'x'.repeat(100_000)
    const rows = [{ s: 'a' }, { s: big }, { s: 'b' }]
    const { bytes } = await encode([batchOf(rows)], { properties: { s: { type: 'string' } } }, NONE, { blockBytes: 1024 })
    const file = await readAvro(bytes)
    assert.deepEqual(file.records.map((r) => r.s), ['a', big, 'b'])
    assert.equal(file.blocks, 3)
  })

  it('waits for the output between blocks (backpressure) and never hands over two blocks at once', async () => {
    let pending = 0
    let maxPending = 0
    let calls = 0
    const chunks: Uint8Array[] = []
    const output = async (c: Uint8Array): Promise<void> => {
      pending++
      calls++
      maxPending = Math.max(maxPending, pending)
      await new Promise((resolve) => setTimeout(resolve, 2))
      chunks.push(c)
      pending--
    }
    const enc = new AvroEncoder(output, { syncId: 1, generationId: 1 }, { name: 's' }, dataColumns(MIXED_SCHEMA), NONE, { blockBytes: 8 * 1024 })
    await enc.write(batchOf(mixedRows(0, 1000)))
    // Full blocks went out while write() ran: at most the last full one is still in flight, plus the partial one.
    const beforeEnd = calls
    await enc.end()
    assert.equal(maxPending, 1)
    assert.ok(beforeEnd > 10, `${beforeEnd} chunks before end`)
    assert.ok(calls - beforeEnd >= 1 && calls - beforeEnd <= 2, `${calls - beforeEnd} chunks at end`)
    assert.equal(pending, 0)
    const file = await readAvro(Buffer.concat(chunks))
    assert.equal(file.records.length, 1000)
    assert.equal(file.blocks, calls - 1)
  })

  it('reads columns() when a batch has it', async () => {
    const rows = mixedRows(0, 20)
    const names = Object.keys(rows[0]!)
    const batch: RecordBatch = {
      ...batchOf(rows),
      rows: () => {
        throw new Error('rows() must not be called')
      },
      columns: () => ({ names, columns: names.map((n) => rows.map((r) => r[n])) }),
    }
    const file = await readAvro((await encode([batch])).bytes)
    assert.deepEqual(file.records.map((r) => r.name), rows.map((r) => r.name))
  })

  const codecCases: { format: AvroFormat; codec: string }[] = [
    { format: NONE, codec: 'null' },
    { format: { ...NONE, codec: 'Deflate', compressionLevel: 0 }, codec: 'deflate' },
    { format: { ...NONE, codec: 'Deflate', compressionLevel: 9 }, codec: 'deflate' },
    { format: { ...NONE, codec: 'snappy' }, codec: 'snappy' },
    { format: { ...NONE, codec: 'zstandard', compressionLevel: 3 }, codec: 'zstandard' },
    { format: { ...NONE, codec: 'zstandard', compressionLevel: 19, includeChecksum: true }, codec: 'zstandard' },
  ]
  for (const { format, codec } of codecCases) {
    const label = `${format.codec} level ${format.compressionLevel}${format.includeChecksum ? ' with checksum' : ''}`
    it(`round-trips several blocks with ${label}`, { skip: codec === 'zstandard' && !zstdNapi ? 'zstd-napi not installed' : false }, async () => {
      const source = mixedRows(0, 3000)
      const batches = [batchOf(source.slice(0, 1500)), batchOf(source.slice(1500))]
      const { bytes } = await encode(batches, MIXED_SCHEMA, format, { blockBytes: 64 * 1024 })
      const plain = await encode(batches, MIXED_SCHEMA, NONE, { blockBytes: 64 * 1024 })
      const file = await readAvro(bytes)
      assert.equal(file.codec, codec)
      assert.ok(file.blocks > 1, `${file.blocks} blocks`)
      assert.equal(file.records.length, 3000)
      assert.deepEqual(file.records.map((r) => r.created_at), source.map((_, i) => 1_714_557_600_000_123 + (i % 1000) * 1000))
      assert.deepEqual(file.records.map((r) => r.extra), source.map((r) => JSON.stringify(r.extra)))
      // Deflate level 0 stores (slightly larger than plain); every other codec compresses.
      if (format.codec === 'Deflate' && format.compressionLevel === 0) assert.ok(bytes.length > plain.bytes.length)
      else if (format.codec !== 'no compression') assert.ok(bytes.length < plain.bytes.length * 0.5, `${bytes.length} vs ${plain.bytes.length}`)
      if (format.includeChecksum) {
        // Frame header descriptor (after the 4-byte magic) has the content-checksum flag (bit 2).
        const firstBlock = bytes.indexOf(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))
        assert.ok(firstBlock > 0)
        assert.equal(bytes[firstBlock + 4]! & 0x04, 0x04)
      }
    })
  }

  it('encodes decimals as minimal big-endian two\'s complement', () => {
    assert.deepEqual(decimalBytes(0n), Buffer.from([0]))
    assert.deepEqual(decimalBytes(127n), Buffer.from([0x7f]))
    assert.deepEqual(decimalBytes(128n), Buffer.from([0x00, 0x80]))
    assert.deepEqual(decimalBytes(-128n), Buffer.from([0x80]))
    assert.deepEqual(decimalBytes(-129n), Buffer.from([0xff, 0x7f]))
    assert.deepEqual(decimalBytes(10n ** 38n - 1n).length, 16)
  })

  it('fails the part when the output fails, at the next block or at end', async () => {
    let n = 0
    const output = async (): Promise<void> => {
      if (++n === 3) throw new Error('disk full')
    }
    const enc = new AvroEncoder(output, { syncId: 1, generationId: 1 }, { name: 's' }, dataColumns(MIXED_SCHEMA), { ...NONE, codec: 'Deflate', compressionLevel: 1 }, { blockBytes: 4096 })
    await assert.rejects(async () => {
      await enc.write(batchOf(mixedRows(0, 500)))
      await enc.end()
    }, /disk full/)
  })

  it('refuses writes after destroy', async () => {
    const enc = new AvroEncoder(async () => undefined, { syncId: 1, generationId: 1 }, { name: 's' }, [], NONE)
    enc.destroy()
    await assert.rejects(enc.write(batchOf([{ a: 1 }])), /aborted/)
  })
})
