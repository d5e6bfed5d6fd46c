import { configError } from '../errors.js'
import type { JsonSchema } from '../protocol/index.js'
import { zstandardUnavailable } from './zstd-module.js'

export const PARQUET_CODECS = ['UNCOMPRESSED', 'SNAPPY', 'GZIP', 'ZSTD'] as const
export type ParquetCodec = (typeof PARQUET_CODECS)[number]

/** Airbyte's Avro codec names (`compression_codec.codec`), in the spelling of its spec. */
export const AIRBYTE_AVRO_CODECS = ['no compression', 'Deflate', 'bzip2', 'xz', 'zstandard', 'snappy'] as const
/** The Avro codecs sluice writes; bzip2 and xz are refused (why: docs/connectors/s3.md, "Codec libraries"). */
export const AVRO_CODECS = ['no compression', 'Deflate', 'snappy', 'zstandard'] as const
export type AvroCodec = (typeof AVRO_CODECS)[number]

/** Compression level bounds and defaults per Avro codec, as Airbyte's destination-s3 takes them. */
export const AVRO_LEVELS = {
  Deflate: { min: 0, max: 9, default: 0 },
  zstandard: { min: -5, max: 22, default: 3 },
} as const

export const FORMAT_TYPES = ['JSONL', 'CSV', 'Parquet', 'Avro'] as const
export type FormatType = (typeof FORMAT_TYPES)[number]

/** Output format options, normalised from the Airbyte-style `format` object of S3 / Local Files. */
export type FormatConfig =
  | { type: 'JSONL'; gzip: boolean; flatten: boolean }
  | { type: 'CSV'; gzip: boolean; flatten: boolean }
  | { type: 'Parquet'; codec: ParquetCodec; blockSizeMb: number; pageSizeKb: number; dictionaryEncoding: boolean }
  | AvroFormat

/**
 * Avro object container files. `compressionLevel` applies to Deflate and zstandard (0 otherwise);
 * `includeChecksum` to zstandard (a content checksum in each block's frame).
 */
export interface AvroFormat {
  type: 'Avro'
  codec: AvroCodec
  compressionLevel: number
  includeChecksum: boolean
}

/** Matches any letter case of one of `words` (the seed sends "snappy", Airbyte's UI "SNAPPY"). */
function caseInsensitivePattern(words: readonly string[]): string {
  const alt = words.map((w) => [...w].map((c) => (/[a-z]/i.test(c) ? `[${c.toUpperCase()}${c.toLowerCase()}]` : c)).join(''))
  return `^(?:${alt.join('|')})$`
}

const COMPRESSION_SCHEMA: JsonSchema = {
  type: 'object',
  title: 'Compression',
  description: 'Whether the output files are compressed. GZIP adds ".gz" to the file extension.',
  properties: {
    compression_type: { type: 'string', enum: ['No Compression', 'GZIP'], default: 'GZIP' },
  },
}

const FLATTENING_SCHEMA: JsonSchema = {
  type: 'string',
  title: 'Flattening',
  description: 'Whether the record data is kept as one JSON value (_airbyte_data) or its top-level fields become columns.',
  enum: ['No flattening', 'Root level flattening'],
  default: 'No flattening',
}

const PARQUET_CODEC_SCHEMA: JsonSchema = {
  type: 'string',
  title: 'Compression Codec (Parquet)',
  description: 'UNCOMPRESSED, SNAPPY, GZIP or ZSTD (any letter case).',
  pattern: caseInsensitivePattern(PARQUET_CODECS),
  default: 'UNCOMPRESSED',
}

/** Level bounds apply to the codec they belong to (if/then: Ajv then reports "must be <= 9"). */
const levelRule = (codec: keyof typeof AVRO_LEVELS): JsonSchema => ({
  if: { required: ['codec'], properties: { codec: { const: codec } } },
  then: { properties: { compression_level: { minimum: AVRO_LEVELS[codec].min, maximum: AVRO_LEVELS[codec].max } } },
})

const AVRO_CODEC_SCHEMA: JsonSchema = {
  type: 'object',
  title: 'Compression Codec (Avro)',
  description:
    'Codec of the Avro blocks. sluice writes "no compression", "Deflate", "snappy" and "zstandard"; Airbyte\'s "bzip2" and "xz" are refused.',
  required: ['codec'],
  properties: {
    // Airbyte's six names in any letter case; the two sluice does not write get a 422 saying so.
    codec: { type: 'string', title: 'Codec', pattern: caseInsensitivePattern(AIRBYTE_AVRO_CODECS), default: 'no compression' },
    compression_level: {
      type: 'integer',
      title: 'Compression Level',
      description: 'Deflate: 0 (stored, fastest) to 9 (smallest), default 0. zstandard: -5 to 22, default 3.',
    },
    include_checksum: { type: 'boolean', title: 'Include Checksum (zstandard)', description: 'A content checksum in every zstandard frame.', default: false },
  },
  allOf: [levelRule('Deflate'), levelRule('zstandard')],
}

/** Applies `then` when format_type names `format` (in any letter case). */
const whenFormat = (format: FormatType, then: JsonSchema): JsonSchema => ({
  if: { required: ['format_type'], properties: { format_type: { pattern: caseInsensitivePattern([format]) } } },
  then,
})

/**
 * JSON Schema of the `format` object shared by the S3 and Local Files destinations.
 * `compression_codec` is a string for Parquet and an object for Avro, as in Airbyte's
 * destination-s3; the conditionals check the shape that goes with `format_type`.
 */
export const FORMAT_SPEC: JsonSchema = {
  type: 'object',
  title: 'Output Format',
  description: 'Format of the data files: JSONL, CSV, Parquet or Avro.',
  required: ['format_type'],
  properties: {
    format_type: { type: 'string', title: 'Format Type', pattern: caseInsensitivePattern(FORMAT_TYPES), default: 'Parquet' },
    compression_codec: {
      type: ['string', 'object'],
      title: 'Compression Codec',
      description:
        'Parquet: UNCOMPRESSED, SNAPPY, GZIP or ZSTD. Avro: an object {"codec": "no compression" | "Deflate" | "snappy" | "zstandard", "compression_level", "include_checksum"}.',
    },
    block_size_mb: { type: 'integer', title: 'Block (row group) size in MB (Parquet)', minimum: 1, default: 128 },
    page_size_kb: { type: 'integer', title: 'Page size in KB (Parquet)', minimum: 1, default: 1024 },
    max_padding_size_mb: { type: 'integer', title: 'Max padding size in MB (Parquet, accepted for compatibility)', default: 8 },
    dictionary_page_size_kb: { type: 'integer', title: 'Dictionary page size in KB (Parquet, accepted for compatibility)', default: 1024 },
    dictionary_encoding: { type: 'boolean', title: 'Dictionary encoding (Parquet)', default: true },
    flattening: FLATTENING_SCHEMA,
    compression: COMPRESSION_SCHEMA,
  },
  allOf: [
    whenFormat('Parquet', { properties: { compression_codec: PARQUET_CODEC_SCHEMA } }),
    whenFormat('Avro', { properties: { compression_codec: AVRO_CODEC_SCHEMA } }),
  ],
}

function pick<T extends string>(value: string, allowed: readonly T[], what: string): T {
  const found = allowed.find((a) => a.toLowerCase() === value.toLowerCase())
  if (!found) throw configError(`Unsupported ${what} "${value}"; expected one of ${allowed.join(', ')}.`)
  return found
}

function positiveInt(value: unknown, fallback: number, what: string): number {
  if (value === undefined || value === null) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw configError(`${what} must be a positive integer.`)
  return value
}

/**
 * Normalises a `format` object. Parquet codecs and format types are case-insensitive;
 * a missing format means `defaultFormat` (Local Files: Parquet/snappy).
 */
export function parseFormatConfig(raw: unknown, defaultFormat: FormatConfig): FormatConfig {
  if (raw === undefined || raw === null) return defaultFormat
  if (typeof raw !== 'object' || Array.isArray(raw)) throw configError('format must be an object with a format_type.')
  const f = raw as Record<string, unknown>
  const type = pick(String(f.format_type ?? ''), FORMAT_TYPES, 'format_type')
  if (type === 'Avro') return parseAvroFormat(f.compression_codec)
  if (type === 'Parquet') {
    if (f.compression_codec !== undefined && f.compression_codec !== null && typeof f.compression_codec !== 'string') {
      throw configError(`format.compression_codec must be a string for Parquet (${PARQUET_CODECS.join(', ')}); an object is Avro's form.`)
    }
    return {
      type,
      codec: pick(String(f.compression_codec ?? 'UNCOMPRESSED'), PARQUET_CODECS, 'Parquet compression_codec'),
      blockSizeMb: positiveInt(f.block_size_mb, 128, 'block_size_mb'),
      pageSizeKb: positiveInt(f.page_size_kb, 1024, 'page_size_kb'),
      dictionaryEncoding: f.dictionary_encoding !== false,
    }
  }
  const compression = f.compression as Record<string, unknown> | undefined
  const compressionType = String(compression?.compression_type ?? 'GZIP')
  const gzip = pick(compressionType, ['GZIP', 'No Compression'] as const, 'compression_type') === 'GZIP'
  const flattening = pick(String(f.flattening ?? 'No flattening'), ['No flattening', 'Root level flattening'] as const, 'flattening')
  return { type, gzip, flatten: flattening === 'Root level flattening' }
}

/**
 * Avro's `compression_codec` object. As in Airbyte, the codec name is matched in any letter case
 * and a missing object or codec means no compression; unlike Airbyte, a level of the wrong type is
 * refused instead of silently replaced by the default.
 */
function parseAvroFormat(raw: unknown): AvroFormat {
  if (raw === undefined || raw === null) return { type: 'Avro', codec: 'no compression', compressionLevel: 0, includeChecksum: false }
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw configError(
      `format.compression_codec must be an object for Avro, such as {"codec": "snappy"}; got ${JSON.stringify(raw)} (a string codec is Parquet's form).`,
    )
  }
  const c = raw as Record<string, unknown>
  const name = c.codec ?? 'no compression'
  if (typeof name !== 'string') throw configError('format.compression_codec.codec must be a string.')
  const airbyte = AIRBYTE_AVRO_CODECS.find((a) => a.toLowerCase() === name.toLowerCase())
  const written = `sluice writes ${AVRO_CODECS.map((a) => `"${a}"`).join(', ')}`
  if (!airbyte) throw configError(`Unsupported Avro format.compression_codec.codec "${name}"; ${written}.`)
  const codec = AVRO_CODECS.find((a) => a === airbyte)
  if (!codec) throw configError(`Avro codec "${airbyte}" is not supported by sluice; ${written}.`)
  if (codec === 'zstandard') {
    const why = zstandardUnavailable()
    if (why) throw configError(`Avro codec "zstandard" is not available here: ${why}. Use "snappy" or "Deflate".`)
  }
  const levels = codec === 'Deflate' || codec === 'zstandard' ? AVRO_LEVELS[codec] : undefined
  let compressionLevel = 0
  if (levels) {
    const level = c.compression_level ?? levels.default
    if (typeof level !== 'number' || !Number.isInteger(level) || level < levels.min || level > levels.max) {
      throw configError(
        `format.compression_codec.compression_level for ${codec} must be an integer from ${levels.min} to ${levels.max}; got ${JSON.stringify(level)}.`,
      )
    }
    compressionLevel = level
  }
  const checksum = c.include_checksum ?? false
  if (typeof checksum !== 'boolean') throw configError('format.compression_codec.include_checksum must be true or false.')
  return { type: 'Avro', codec, compressionLevel, includeChecksum: codec === 'zstandard' && checksum }
}

/** File extension of a format, with `.gz` when gzipped (Airbyte's `{format_extension}`). */
export function formatExtension(format: FormatConfig): string {
  switch (format.type) {
    case 'Parquet':
      return '.parquet'
    case 'Avro':
      return '.avro'
    case 'CSV':
      return format.gzip ? '.csv.gz' : '.csv'
    case 'JSONL':
      return format.gzip ? '.jsonl.gz' : '.jsonl'
  }
}
