import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parquetMetadata } from 'hyparquet'
import { ParquetEncoder } from '../../src/formats/parquet-encoder.js'
import { dataColumns } from '../../src/formats/stream-columns.js'
import { type RecordBatch, rowBatch } from '../../src/protocol/index.js'
import { MIXED_SCHEMA, mixedRows, readParquet } from './fixtures.js'

const options = { codec: 'ZSTD', blockSizeMb: 1, pageSizeKb: 64, dictionaryEncoding: true } as const

async function encode(batches: RecordBatch[], schema = MIXED_SCHEMA): Promise<Buffer> {
  const chunks: Uint8Array[] = []
  const enc = new ParquetEncoder(async (c) => void chunks.push(c), { syncId: 1, generationId: 2 }, dataColumns(schema), options)
  for (const b of batches) await enc.write(b)
  await enc.end()
  return Buffer.concat(chunks)
}

describe('ParquetEncoder', () => {
  it('streams several row groups and reads back in order', async () => {
    const batches = Array.from({ length: 10 }, (_, i) => rowBatch({ name: 's' }, mixedRows(i * 6000, 6000)))
    const bytes = await encode(batches)
    const meta = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer)
    assert.ok(meta.row_groups.length > 1, `expected several row groups, got ${meta.row_groups.length}`)
    const encodings = (column: string): string[] =>
      meta.row_groups[0]!.columns.find((c) => c.meta_data?.path_in_schema.join('.') === column)?.meta_data?.encodings ?? []
    // Low-cardinality columns keep a dictionary; unique raw ids never get one.
    assert.ok(encodings('born').includes('RLE_DICTIONARY'), String(encodings('born')))
    assert.ok(!encodings('_airbyte_raw_id').includes('RLE_DICTIONARY'), String(encodings('_airbyte_raw_id')))
    const rows = await readParquet(bytes)
    assert.equal(rows.length, 60_000)
    assert.deepEqual(rows.map((r) => r.amount), mixedRows(0, 60_000).map((r) => r.amount))
    assert.equal(new Set(rows.map((r) => r._airbyte_raw_id)).size, 60_000)
    assert.ok(rows.every((r) => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(String(r._airbyte_raw_id))))
  })

  it('runs several encoders at once in the one wasm instance', async () => {
    const [a, b] = await Promise.all([
      encode(Array.from({ length: 5 }, (_, i) => rowBatch({ name: 'a' }, mixedRows(i * 1000, 1000)))),
      encode(Array.from({ length: 5 }, (_, i) => rowBatch({ name: 'b' }, mixedRows(100_000 + i * 1000, 1000)))),
    ])
    assert.deepEqual((await readParquet(a!)).map((r) => r.amount), mixedRows(0, 5000).map((r) => r.amount))
    assert.deepEqual((await readParquet(b!)).map((r) => r.amount), mixedRows(100_000, 5000).map((r) => r.amount))
  })

  it('uses columns() when a batch has it', async () => {
    const rows = mixedRows(0, 50)
    const names = Object.keys(rows[0]!)
    const batch: RecordBatch = {
      ...rowBatch({ name: 'c' }, rows),
      rows: () => {
        throw new Error('rows() must not be called')
      },
      columns: () => ({ names, columns: names.map((n) => rows.map((r) => r[n])) }),
    }
    const out = await readParquet(await encode([batch]))
    assert.deepEqual(out.map((r) => r.name), rows.map((r) => r.name))
  })

  it('keeps the whole record as _airbyte_data when the schema has no properties', async () => {
    const out = await readParquet(await encode([rowBatch({ name: 'd' }, [{ a: 1, b: { c: 'x' } }])], { type: 'object' }))
    assert.deepEqual(JSON.parse(out[0]!._airbyte_data as string), { a: 1, b: { c: 'x' } })
    assert.equal(out[0]!._airbyte_generation_id, 2n)
  })

  it('carries source-side changes into _airbyte_meta beside conversion changes', async () => {
    const batch = { ...rowBatch({ name: 'e' }, mixedRows(3, 1)), changes: new Map([[0, [{ field: 'name', change: 'TRUNCATED' as const, reason: 'SOURCE_FIELD_SIZE_LIMITATION' }]]]) }
    const [row] = await readParquet(await encode([batch]))
    const meta = row!._airbyte_meta as { changes: { field: string; change: string }[] }
    assert.deepEqual(meta.changes.map((c) => `${c.field}:${c.change}`), ['name:TRUNCATED', 'id:NULLED'])
  })
})
