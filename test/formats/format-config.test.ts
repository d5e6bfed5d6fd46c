import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Ajv } from 'ajv'
import { FORMAT_SPEC, formatExtension, parseFormatConfig } from '../../src/formats/format-config.js'
import { columnKind, dataColumns } from '../../src/formats/stream-columns.js'

const fallback = { type: 'Parquet', codec: 'SNAPPY', blockSizeMb: 128, pageSizeKb: 1024, dictionaryEncoding: true } as const

describe('format config', () => {
  it('accepts Parquet codecs in any letter case (the seed sends "snappy")', () => {
    for (const codec of ['snappy', 'SNAPPY', 'Snappy']) {
      assert.deepEqual(parseFormatConfig({ format_type: 'Parquet', compression_codec: codec }, fallback), { ...fallback, codec: 'SNAPPY' })
    }
    assert.equal((parseFormatConfig({ format_type: 'parquet' }, fallback) as { codec: string }).codec, 'UNCOMPRESSED')
    const validate = new Ajv({ strict: false }).compile(FORMAT_SPEC)
    assert.ok(validate({ format_type: 'Parquet', compression_codec: 'snappy' }))
    assert.ok(validate({ format_type: 'JSONL', compression: { compression_type: 'GZIP' } }))
    assert.ok(!validate({ format_type: 'Parquet', compression_codec: 'LZO' }))
    assert.ok(!validate({ format_type: 'Avro' }))
  })

  it('reads block and page sizes and rejects bad values', () => {
    const f = parseFormatConfig({ format_type: 'Parquet', block_size_mb: 16, page_size_kb: 64, dictionary_encoding: false }, fallback)
    assert.deepEqual(f, { type: 'Parquet', codec: 'UNCOMPRESSED', blockSizeMb: 16, pageSizeKb: 64, dictionaryEncoding: false })
    assert.throws(() => parseFormatConfig({ format_type: 'Parquet', block_size_mb: 0 }, fallback), /block_size_mb must be a positive integer/)
    assert.throws(() => parseFormatConfig({ format_type: 'Avro' }, fallback), /Unsupported format_type "Avro"/)
    assert.throws(() => parseFormatConfig({ format_type: 'Parquet', compression_codec: 'BROTLI' }, fallback), /Unsupported Parquet compression_codec/)
    assert.throws(() => parseFormatConfig('Parquet', fallback), /format must be an object/)
  })

  it('defaults JSONL and CSV to GZIP without flattening, as Airbyte does', () => {
    const jsonl = parseFormatConfig({ format_type: 'JSONL' }, fallback)
    assert.deepEqual(jsonl, { type: 'JSONL', gzip: true, flatten: false })
    assert.equal(formatExtension(jsonl), '.jsonl.gz')
    const csv = parseFormatConfig({ format_type: 'CSV', flattening: 'Root level flattening', compression: { compression_type: 'No Compression' } }, fallback)
    assert.deepEqual(csv, { type: 'CSV', gzip: false, flatten: true })
    assert.equal(formatExtension(csv), '.csv')
    assert.equal(parseFormatConfig(undefined, fallback), fallback)
  })

  it('types columns from JSON schema the way Airbyte maps JSON schema to Avro/Parquet', () => {
    assert.deepEqual(columnKind({ type: ['null', 'integer'] }), { kind: 'integer' })
    assert.deepEqual(columnKind({ type: 'number', airbyte_type: 'integer' }), { kind: 'integer' })
    assert.deepEqual(columnKind({ type: 'number' }), { kind: 'number' })
    assert.deepEqual(columnKind({ type: 'number', precision: 12, scale: 2 }), { kind: 'decimal', precision: 12, scale: 2 })
    assert.deepEqual(columnKind({ type: 'number', precision: 50, scale: 2 }), { kind: 'number' })
    assert.deepEqual(columnKind({ type: 'string', format: 'date' }), { kind: 'date' })
    assert.deepEqual(columnKind({ type: 'string', format: 'date-time' }), { kind: 'timestamp_tz' })
    assert.deepEqual(columnKind({ type: 'string', format: 'date-time', airbyte_type: 'timestamp_without_timezone' }), { kind: 'timestamp' })
    assert.deepEqual(columnKind({ type: 'string', format: 'time' }), { kind: 'time' })
    assert.deepEqual(columnKind({ type: 'object', properties: { a: { type: 'string' } } }), { kind: 'json' })
    assert.deepEqual(columnKind({ type: 'array', items: { type: 'string' } }), { kind: 'json' })
    assert.deepEqual(columnKind({ oneOf: [{ type: 'string' }, { type: 'integer' }] }), { kind: 'json' })
    assert.deepEqual(columnKind({ anyOf: [{ type: 'null' }, { type: 'boolean' }] }), { kind: 'boolean' })
    assert.deepEqual(columnKind({}), { kind: 'json' })
    assert.deepEqual(dataColumns({ type: 'object' }), [])
    assert.deepEqual(dataColumns({ properties: { b: { type: 'boolean' }, a: { type: 'string' } } }).map((c) => c.name), ['b', 'a'])
  })
})
