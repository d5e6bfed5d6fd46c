import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ParquetEncoder } from '../../src/formats/parquet-encoder.js'
import { splitCopyFields } from '../../src/formats/copy-text.js'
import { decodeCopyColumn } from '../../src/formats/copy-text-columns.js'
import { toUnscaledDecimal } from '../../src/formats/value-conversions.js'
import { dataColumns } from '../../src/formats/stream-columns.js'
import type { JsonSchema, RecordBatch, RecordData } from '../../src/protocol/index.js'
import { readParquet } from './fixtures.js'

/** Schema as the Postgres source discovers it for these column types. */
const SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    id: { type: 'number', airbyte_type: 'integer' },
    big: { type: 'number', airbyte_type: 'integer' },
    name: { type: 'string' },
    amount: { type: 'number' },
    price: { type: 'number', precision: 12, scale: 2 },
    active: { type: 'boolean' },
    born: { type: 'string', format: 'date' },
    created_at: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' },
    local_at: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_without_timezone' },
    at: { type: 'string', format: 'time', airbyte_type: 'time_without_timezone' },
    doc: { type: 'object' },
    tags: { type: 'array', items: { type: 'number', airbyte_type: 'integer' } },
  },
}
const PG_TYPES = ['integer', 'bigint', 'text', 'double precision', 'numeric(12,2)', 'boolean', 'date', 'timestamp with time zone', 'timestamp without time zone', 'time without time zone', 'jsonb', 'integer[]']

/** COPY text lines and the JSON values the Postgres source decodes from them. */
const LINES = [
  '1\t9007199254740993\tplain\t1.5\t12.34\tt\t2024-02-29\t2024-05-01 10:00:00.123456+00\t2024-05-01 10:00:00\t12:34:56.789\t{"a": 1}\t{1,2}',
  '-2\t-5\ttab\\there\\nnewline \\\\ back\t-0.25\t-0.05\tf\t1970-01-01\t1969-12-31 23:59:59+00\t2000-01-01 00:00:00.5\t00:00:00\t[1, "x"]\t{}',
  '3\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N',
  '4\t0\tüñí©ødé \\342\\202\\254\tNaN\t0\tt\tinfinity\t2024-05-01 12:00:00+02\t2024-05-01 10:00:00\t23:59:59.999999\t{"b": [true]}\t{3}',
  '5\t1\tx\t0\t0\tt\t9999-12-31\t9999-12-31 23:59:59.999999+00\t0001-01-01 00:00:00\t00:00:00\t{}\t{}',
]
const ROWS: RecordData[] = [
  { id: 1, big: '9007199254740993', name: 'plain', amount: 1.5, price: 12.34, active: true, born: '2024-02-29', created_at: '2024-05-01T10:00:00.123456Z', local_at: '2024-05-01T10:00:00', at: '12:34:56.789', doc: { a: 1 }, tags: [1, 2] },
  { id: -2, big: -5, name: 'tab\there\nnewline \\ back', amount: -0.25, price: -0.05, active: false, born: '1970-01-01', created_at: '1969-12-31T23:59:59Z', local_at: '2000-01-01T00:00:00.5', at: '00:00:00', doc: [1, 'x'], tags: [] },
  { id: 3, big: null, name: null, amount: null, price: null, active: null, born: null, created_at: null, local_at: null, at: null, doc: null, tags: null },
  { id: 4, big: 0, name: 'üñí©ødé €', amount: null, price: 0, active: true, born: 'infinity', created_at: '2024-05-01T12:00:00+02', local_at: '2024-05-01T10:00:00', at: '23:59:59.999999', doc: { b: [true] }, tags: [3] },
  { id: 5, big: 1, name: 'x', amount: 0, price: 0, active: true, born: '9999-12-31', created_at: '9999-12-31T23:59:59.999999Z', local_at: '0001-01-01T00:00:00', at: '00:00:00', doc: {}, tags: [] },
]

function batch(withCopy: boolean, reversed = false): RecordBatch {
  const rows = reversed ? [...ROWS].reverse() : ROWS
  const lines = reversed ? [...LINES].reverse() : LINES
  const b: RecordBatch = { type: 'RECORD_BATCH', stream: { name: 't' }, emittedAt: 1_700_000_000_000, count: rows.length, bytes: 1, rows: () => rows }
  if (withCopy) b.pgCopyText = { columns: Object.keys(SCHEMA.properties as object), pgTypes: PG_TYPES, data: Buffer.from(`${lines.join('\n')}\n`) }
  return b
}

async function encode(withCopy: boolean, batches: RecordBatch[] = [batch(withCopy)]): Promise<Record<string, unknown>[]> {
  const chunks: Uint8Array[] = []
  const enc = new ParquetEncoder(async (c) => void chunks.push(c), { syncId: 1, generationId: 1 }, dataColumns(SCHEMA), {
    codec: 'SNAPPY',
    blockSizeMb: 8,
    pageSizeKb: 64,
    dictionaryEncoding: true,
  })
  for (const b of batches) await enc.write(b)
  await enc.end()
  // jsonb text keeps Postgres's spacing: compare JSON documents by value.
  return (await readParquet(Buffer.concat(chunks))).map(({ _airbyte_raw_id, doc, ...rest }) => ({ ...rest, doc: typeof doc === 'string' ? JSON.parse(doc) : doc }))
}

describe('Parquet straight from Postgres COPY text', () => {
  it('splits fields and refuses a malformed buffer', () => {
    const fields = splitCopyFields(Buffer.from('a\tb\n\\N\td\n'), 2, 2)
    assert.deepEqual([...fields!.starts], [0, 2, 4, 7])
    assert.equal(splitCopyFields(Buffer.from('a\tb\nc\n'), 2, 2), undefined)
  })

  it('decodes every type exactly as the row path does (escapes, NULLs, UTF-8, big ints, zones)', async () => {
    const fromCopy = await encode(true)
    const fromRows = await encode(false)
    assert.deepEqual(fromCopy, fromRows)
  })

  it('keeps each batch intact when the next one is built in the same reused column memory', async () => {
    const fromCopy = await encode(true, [batch(true), batch(true, true), batch(true)])
    const fromRows = await encode(false, [batch(false), batch(false, true), batch(false)])
    assert.equal(fromCopy.length, 3 * ROWS.length)
    assert.deepEqual(fromCopy, fromRows)
  })

  it('produces the expected values and records unconvertible ones in _airbyte_meta', async () => {
    const rows = await encode(true)
    assert.equal(rows[0]!.big, 9_007_199_254_740_993n)
    assert.equal(rows[1]!.name, 'tab\there\nnewline \\ back')
    assert.equal(rows[3]!.name, 'üñí©ødé €')
    assert.equal(rows[0]!.price, 12.34)
    assert.equal((rows[0]!.created_at as Date).getTime(), Date.parse('2024-05-01T10:00:00.123Z'))
    assert.equal((rows[3]!.created_at as Date).getTime(), Date.parse('2024-05-01T10:00:00Z'))
    assert.deepEqual(rows[0]!.doc, { a: 1 })
    assert.equal(rows[3]!.amount, null)
    assert.equal(rows[0]!.tags, '[1,2]')
    assert.equal(rows[2]!.id, 3n)
    assert.ok(Object.entries(rows[2]!).every(([k, v]) => k === 'id' || k.startsWith('_airbyte') || v === null))
    assert.equal(rows[3]!.born, null)
    const meta = rows[3]!._airbyte_meta as { changes: { field: string; change: string }[] }
    assert.deepEqual(meta.changes.map((c) => [c.field, c.change]), [['born', 'NULLED']])
    // The usual "forever" sentinels are far outside 2^53 microseconds and keep their value.
    assert.equal((rows[4]!.created_at as Date).toISOString(), '9999-12-31T23:59:59.999Z')
    assert.equal((rows[4]!.local_at as Date).toISOString(), '0001-01-01T00:00:00.000Z')
    assert.deepEqual((rows[4]!._airbyte_meta as { changes: unknown[] }).changes, [])
  })

  it('decodes decimals from bytes exactly as the general conversion (fast path, rounding, overflow, junk)', () => {
    const literals = ['0', '-0', '0.00', '-0.00', '12.34', '-12.34', '12.345', '12.3', '12.', '.5', '-.5', '+7.1', '999999999999.99',
      '1000000000000.00', '99999999999999999999.99', '123456789012345678', '1e5', 'NaN', '-', '.', '0.005', '-0.005', '42', '00012.10', '1234567890123.4']
    const data = Buffer.from(`${literals.join('\n')}\n`)
    for (const [precision, scale] of [[12, 2], [10, 0], [38, 9], [5, 3], [18, 4]] as const) {
      const fields = splitCopyFields(data, 1, literals.length)!
      const failed: number[] = []
      const d = decodeCopyColumn(fields, 0, 'decimal', { name: 'x', kind: 'decimal', precision, scale }, (r) => failed.push(r))
      const words = new BigInt64Array(d.data.buffer, d.data.byteOffset, d.data.length / 2)
      literals.forEach((literal, r) => {
        const expected = toUnscaledDecimal(literal, precision, scale)
        const valid = ((d.valid[r >> 3]! >> (r & 7)) & 1) === 1
        const got = valid ? BigInt.asIntN(128, BigInt.asUintN(64, words[r * 2]!) | (words[r * 2 + 1]! << 64n)) : undefined
        assert.equal(got, expected, `${literal} as decimal(${precision},${scale})`)
        assert.equal(failed.includes(r), expected === undefined)
      })
    }
  })
})
