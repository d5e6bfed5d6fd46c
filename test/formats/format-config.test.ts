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
    assert.ok(!validate({ format_type: 'Avro', compression_codec: 'SNAPPY' }), 'a Parquet codec string is not an Avro codec')
    assert.ok(!validate({ format_type: 'Parquet', compression_codec: { codec: 'snappy' } }), 'an Avro codec object is not a Parquet codec')
    assert.ok(!validate({ format_type: 'ORC' }))
  })

  it('reads block and page sizes and rejects bad values', () => {
    const f = parseFormatConfig({ format_type: 'Parquet', block_size_mb: 16, page_size_kb: 64, dictionary_encoding: false }, fallback)
    assert.deepEqual(f, { type: 'Parquet', codec: 'UNCOMPRESSED', blockSizeMb: 16, pageSizeKb: 64, dictionaryEncoding: false })
    assert.throws(() => parseFormatConfig({ format_type: 'Parquet', block_size_mb: 0 }, fallback), /block_size_mb must be a positive integer/)
    assert.throws(() => parseFormatConfig({ format_type: 'ORC' }, fallback), /Unsupported format_type "ORC"; expected one of JSONL, CSV, Parquet, Avro/)
    assert.throws(
      () => parseFormatConfig({ format_type: 'Parquet', compression_codec: { codec: 'snappy' } }, fallback),
      /format.compression_codec must be a string for Parquet/,
    )
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

  it('reads Avro codecs as Airbyte\'s destination-s3 takes them', () => {
    const avro = (compression_codec?: unknown) => parseFormatConfig({ format_type: 'Avro', compression_codec }, fallback)
    assert.deepEqual(avro(), { type: 'Avro', codec: 'no compression', compressionLevel: 0, includeChecksum: false })
    assert.deepEqual(avro({ codec: 'no compression' }), { type: 'Avro', codec: 'no compression', compressionLevel: 0, includeChecksum: false })
    assert.deepEqual(avro({ codec: 'Deflate' }), { type: 'Avro', codec: 'Deflate', compressionLevel: 0, includeChecksum: false })
    assert.deepEqual(avro({ codec: 'deflate', compression_level: 9 }), { type: 'Avro', codec: 'Deflate', compressionLevel: 9, includeChecksum: false })
    assert.deepEqual(avro({ codec: 'snappy' }), { type: 'Avro', codec: 'snappy', compressionLevel: 0, includeChecksum: false })
    assert.deepEqual(avro({ codec: 'zstandard' }), { type: 'Avro', codec: 'zstandard', compressionLevel: 3, includeChecksum: false })
    assert.deepEqual(avro({ codec: 'zstandard', compression_level: -5, include_checksum: true }), {
      type: 'Avro',
      codec: 'zstandard',
      compressionLevel: -5,
      includeChecksum: true,
    })
    assert.equal(formatExtension(avro({ codec: 'snappy' })), '.avro')
    assert.equal(parseFormatConfig({ format_type: 'avro' }, fallback).type, 'Avro')
  })

  it('refuses Avro codecs sluice does not write and levels out of range, naming the field', () => {
    const avro = (compression_codec: unknown) => () => parseFormatConfig({ format_type: 'Avro', compression_codec }, fallback)
    const writes = /sluice writes "no compression", "Deflate", "snappy", "zstandard"/
    assert.throws(avro({ codec: 'bzip2' }), writes)
    assert.throws(avro({ codec: 'bzip2' }), /Avro codec "bzip2" is not supported by sluice/)
    assert.throws(avro({ codec: 'xz', compression_level: 6 }), /Avro codec "xz" is not supported by sluice/)
    assert.throws(avro({ codec: 'lz4' }), /Unsupported Avro format.compression_codec.codec "lz4"; sluice writes/)
    assert.throws(avro({ codec: 'Deflate', compression_level: 10 }), /compression_level for Deflate must be an integer from 0 to 9; got 10/)
    assert.throws(avro({ codec: 'Deflate', compression_level: -1 }), /from 0 to 9; got -1/)
    assert.throws(avro({ codec: 'Deflate', compression_level: '5' }), /from 0 to 9; got "5"/)
    assert.throws(avro({ codec: 'zstandard', compression_level: 23 }), /compression_level for zstandard must be an integer from -5 to 22; got 23/)
    assert.throws(avro({ codec: 'zstandard', include_checksum: 'yes' }), /include_checksum must be true or false/)
    assert.throws(avro('snappy'), /format.compression_codec must be an object for Avro, such as \{"codec": "snappy"\}/)
    assert.throws(avro({ codec: 5 }), /format.compression_codec.codec must be a string/)
  })

  it('lets the spec check Avro configs at create time (codecs sluice does not write are left to validateConfig, which says why)', () => {
    const validate = new Ajv({ strict: false, allErrors: true }).compile(FORMAT_SPEC)
    const errors = (format: unknown): string[] => {
      validate(format)
      return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`)
    }
    assert.deepEqual(errors({ format_type: 'Avro', compression_codec: { codec: 'snappy' } }), [])
    assert.deepEqual(errors({ format_type: 'Avro', compression_codec: { codec: 'Deflate', compression_level: 9 } }), [])
    assert.deepEqual(errors({ format_type: 'Avro', compression_codec: { codec: 'zstandard', compression_level: -5, include_checksum: true } }), [])
    assert.deepEqual(errors({ format_type: 'Avro' }), [])
    // Airbyte's names in any letter case pass the spec; parseFormatConfig refuses bzip2 and xz with the reason.
    assert.deepEqual(errors({ format_type: 'Avro', compression_codec: { codec: 'deflate' } }), [])
    assert.deepEqual(errors({ format_type: 'Avro', compression_codec: { codec: 'bzip2' } }), [])
    assert.throws(() => parseFormatConfig({ format_type: 'Avro', compression_codec: { codec: 'xz' } }, fallback), /Avro codec "xz" is not supported by sluice/)
    assert.ok(errors({ format_type: 'Avro', compression_codec: { codec: 'lzma' } }).some((e) => e.startsWith('/compression_codec/codec must match pattern')))
    assert.ok(errors({ format_type: 'Avro', compression_codec: { codec: 'Deflate', compression_level: 10 } }).includes('/compression_codec/compression_level must be <= 9'))
    assert.ok(errors({ format_type: 'Avro', compression_codec: { codec: 'zstandard', compression_level: -6 } }).includes('/compression_codec/compression_level must be >= -5'))
    assert.ok(errors({ format_type: 'Avro', compression_codec: {} }).includes("/compression_codec must have required property 'codec'"))
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
