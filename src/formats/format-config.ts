import { configError } from '../errors.js'
import type { JsonSchema } from '../protocol/index.js'

export const PARQUET_CODECS = ['UNCOMPRESSED', 'SNAPPY', 'GZIP', 'ZSTD'] as const
export type ParquetCodec = (typeof PARQUET_CODECS)[number]

export const FORMAT_TYPES = ['JSONL', 'CSV', 'Parquet'] as const
export type FormatType = (typeof FORMAT_TYPES)[number]

/** Output format options, normalised from the Airbyte-style `format` object of S3 / Local Files. */
export type FormatConfig =
  | { type: 'JSONL'; gzip: boolean; flatten: boolean }
  | { type: 'CSV'; gzip: boolean; flatten: boolean }
  | { type: 'Parquet'; codec: ParquetCodec; blockSizeMb: number; pageSizeKb: number; dictionaryEncoding: boolean }

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

/** JSON Schema of the `format` object shared by the S3 and Local Files destinations. */
export const FORMAT_SPEC: JsonSchema = {
  type: 'object',
  title: 'Output Format',
  description: 'Format of the data files: JSONL, CSV or Parquet.',
  required: ['format_type'],
  properties: {
    format_type: { type: 'string', title: 'Format Type', pattern: caseInsensitivePattern(FORMAT_TYPES), default: 'Parquet' },
    compression_codec: {
      type: 'string',
      title: 'Compression Codec (Parquet)',
      description: 'UNCOMPRESSED, SNAPPY, GZIP or ZSTD (any letter case).',
      pattern: caseInsensitivePattern(PARQUET_CODECS),
      default: 'UNCOMPRESSED',
    },
    block_size_mb: { type: 'integer', title: 'Block (row group) size in MB (Parquet)', minimum: 1, default: 128 },
    page_size_kb: { type: 'integer', title: 'Page size in KB (Parquet)', minimum: 1, default: 1024 },
    max_padding_size_mb: { type: 'integer', title: 'Max padding size in MB (Parquet, accepted for compatibility)', default: 8 },
    dictionary_page_size_kb: { type: 'integer', title: 'Dictionary page size in KB (Parquet, accepted for compatibility)', default: 1024 },
    dictionary_encoding: { type: 'boolean', title: 'Dictionary encoding (Parquet)', default: true },
    flattening: FLATTENING_SCHEMA,
    compression: COMPRESSION_SCHEMA,
  },
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
  if (type === 'Parquet') {
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

/** File extension of a format, with `.gz` when gzipped (Airbyte's `{format_extension}`). */
export function formatExtension(format: FormatConfig): string {
  switch (format.type) {
    case 'Parquet':
      return '.parquet'
    case 'CSV':
      return format.gzip ? '.csv.gz' : '.csv'
    case 'JSONL':
      return format.gzip ? '.jsonl.gz' : '.jsonl'
  }
}
