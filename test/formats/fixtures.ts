import { createRequire } from 'node:module'
import type { Duplex } from 'node:stream'
import { crc32, gunzipSync, inflateRaw } from 'node:zlib'
import { parquetReadObjects } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
import { uncompressSync as snappyUncompress } from 'snappy'
import type { RunOptions } from '../../src/protocol/index.js'
import {
  type ConfiguredCatalog,
  type ConfiguredStream,
  type DestinationMessage,
  type JsonSchema,
  type RecordData,
  rowBatch,
  type StateMessage,
} from '../../src/protocol/index.js'

/** Test fixtures shared by the format, Local Files and S3 tests (not a test file itself). */

export const silentLogger = { debug() {}, info() {}, warn() {}, error() {} }

export function runOptions(root: string, signal = new AbortController().signal): RunOptions {
  return { signal, logger: silentLogger, context: { dataDir: root, localFilesRoot: root } }
}

export const MIXED_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: ['null', 'string'] },
    amount: { type: 'number' },
    price: { type: 'number', precision: 10, scale: 2 },
    active: { type: 'boolean' },
    born: { type: 'string', format: 'date' },
    created_at: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' },
    at: { type: 'string', format: 'time', airbyte_type: 'time_without_timezone' },
    tags: { type: 'array', items: { type: 'string' } },
    extra: { type: 'object' },
  },
}

/** Deterministic rows of every JSON type; row 3 carries a value that cannot be an integer. */
export function mixedRows(start: number, n: number): RecordData[] {
  const rows: RecordData[] = []
  for (let i = start; i < start + n; i++) {
    rows.push({
      id: i === 3 ? 'not-a-number' : i,
      name: i % 5 === 0 ? null : `name, "quoted" ${i}\nline`,
      amount: i * 1.5,
      price: `${i}.${String(i % 100).padStart(2, '0')}`,
      active: i % 2 === 0,
      born: `2000-01-${String((i % 28) + 1).padStart(2, '0')}`,
      created_at: `2024-05-01T10:00:00.${String(i % 1000).padStart(3, '0')}123Z`,
      at: '12:34:56.789',
      tags: ['a', String(i)],
      extra: { k: i, nested: { ok: true } },
    })
  }
  return rows
}

export function configuredStream(
  name: string,
  schema: JsonSchema,
  opts: { namespace?: string; mode?: 'overwrite' | 'append'; generationId?: number; syncId?: number } = {},
): ConfiguredStream {
  const generationId = opts.generationId ?? 1
  return {
    stream: { name, namespace: opts.namespace ?? 'public', jsonSchema: schema, supportedSyncModes: ['full_refresh', 'incremental'] },
    syncMode: 'full_refresh',
    destinationSyncMode: opts.mode ?? 'overwrite',
    cursorField: [],
    primaryKey: [],
    syncId: opts.syncId ?? 7,
    generationId,
    minimumGenerationId: (opts.mode ?? 'overwrite') === 'overwrite' ? generationId : 0,
  }
}

/** Batches of `batchSize` rows, a STATE after each batch, then COMPLETE for every stream. */
export async function* messages(
  catalog: ConfiguredCatalog,
  rowsPerStream: number,
  batchSize: number,
  rows: (start: number, n: number) => RecordData[] = mixedRows,
): AsyncGenerator<DestinationMessage> {
  for (const s of catalog.streams) {
    const d = { name: s.stream.name, namespace: s.stream.namespace }
    for (let start = 0; start < rowsPerStream; start += batchSize) {
      yield rowBatch(d, rows(start, Math.min(batchSize, rowsPerStream - start)), { emittedAt: 1_714_557_600_123 })
      yield { type: 'STATE', stream: d, data: { cursor: start + batchSize } }
    }
    yield { type: 'STREAM_STATUS', stream: d, status: 'COMPLETE' }
  }
}

export async function collect(states: AsyncIterable<StateMessage>): Promise<StateMessage[]> {
  const out: StateMessage[] = []
  for await (const s of states) out.push(s)
  return out
}

/** Decodes a JSONL file (gzipped or not) into objects. */
export function readJsonl(bytes: Buffer, gzip: boolean): Record<string, unknown>[] {
  const text = (gzip ? gunzipSync(bytes) : bytes).toString('utf8')
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

/** A small RFC 4180 parser (quoted fields, doubled quotes, newlines inside quotes). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"'
        i++
      } else if (c === '"') quoted = false
      else field += c
    } else if (c === '"') quoted = true
    else if (c === ',') {
      row.push(field)
      field = ''
    } else if (c === '\n') {
      row.push(field)
      rows.push(row)
      row = []
      field = ''
    } else field += c
  }
  if (field !== '' || row.length > 0) rows.push([...row, field])
  return rows
}

export function readCsv(bytes: Buffer, gzip: boolean): Record<string, string>[] {
  const [header, ...rows] = parseCsv((gzip ? gunzipSync(bytes) : bytes).toString('utf8'))
  return rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i] ?? ''])))
}

/** Reads a Parquet file with hyparquet (an independent reader) and every codec. */
export async function readParquet(bytes: Buffer): Promise<Record<string, unknown>[]> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
  return (await parquetReadObjects({ file, compressors })) as Record<string, unknown>[]
}

/** The part of avro-js (Apache Avro's JavaScript implementation) the tests use; it ships no types. */
type AvroJsCodec = (data: Buffer, cb: (err: Error | null, out?: Buffer) => void) => void
interface AvroJsFiles {
  streams: {
    BlockDecoder: new (opts: { codecs: Record<string, AvroJsCodec>; parseOpts: { typeHook: (attrs: unknown) => unknown } }) => Duplex
  }
}
interface AvroJsSchemas {
  types: { LongType: { using(methods: Record<string, (...args: never[]) => unknown>): unknown } }
}

const requireCjs = createRequire(import.meta.url)
// lib/index.js also loads a deprecated validator that needs an undeclared package (underscore).
const avroJsFiles = requireCjs('avro-js/lib/files.js') as AvroJsFiles
const avroJsSchemas = requireCjs('avro-js/lib/schemas.js') as AvroJsSchemas

/** avro-js's long refuses values beyond 2^53; this one reads numbers while safe, BigInts beyond. */
const AVRO_JS_LONG = avroJsSchemas.types.LongType.using({
  fromBuffer: (buf: Buffer) => {
    const v = buf.readBigInt64LE(0)
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v
  },
  toBuffer: (v: number | bigint) => {
    const buf = Buffer.alloc(8)
    buf.writeBigInt64LE(BigInt(v))
    return buf
  },
  fromJSON: (v: number) => v,
  toJSON: (v: number | bigint) => Number(v),
  isValid: (v: unknown) => typeof v === 'number' || typeof v === 'bigint',
  compare: (a: number | bigint, b: number | bigint) => (a < b ? -1 : a > b ? 1 : 0),
})

function avroJsLongHook(attrs: unknown): unknown {
  const isLong = attrs === 'long' || (typeof attrs === 'object' && attrs !== null && (attrs as { type?: unknown }).type === 'long')
  return isLong ? AVRO_JS_LONG : undefined
}

/** The part of zstd-napi the tests use (an optional dependency). */
interface ZstdNapi {
  decompress(data: Uint8Array): Buffer
}
export const zstdNapi: ZstdNapi | undefined = (() => {
  try {
    return requireCjs('zstd-napi') as ZstdNapi
  } catch {
    return undefined
  }
})()

/** Decoded Avro values as plain objects (avro-js returns record class instances). */
function plainAvro(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || Buffer.isBuffer(v)) return v
  if (Array.isArray(v)) return v.map(plainAvro)
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainAvro(x)]))
}

export interface AvroFile {
  /** The writer schema from the header, as JSON. */
  schema: { name: string; namespace?: string; fields: { name: string; type: unknown; default?: unknown }[] }
  codec: string
  /** Blocks in the file (counted as the decoder decompresses them). */
  blocks: number
  /** Records with union values unwrapped (avro-js wraps them as {long: 5}). */
  records: Record<string, unknown>[]
}

/**
 * Reads an Avro object container file with avro-js (Apache's implementation, independent of the
 * avsc writer). avro-js decodes null and deflate itself; snappy and zstandard blocks are decoded
 * here with the codec libraries (snappy: the block minus its 4-byte CRC, which is checked).
 */
export async function readAvro(bytes: Buffer): Promise<AvroFile> {
  let blocks = 0
  const counted =
    (decode: (data: Buffer) => Buffer): AvroJsCodec =>
    (data, cb) => {
      blocks++
      try {
        cb(null, decode(data))
      } catch (e) {
        cb(e as Error)
      }
    }
  const codecs: Record<string, AvroJsCodec> = {
    null: counted((data) => data),
    deflate: (data, cb) => {
      blocks++
      inflateRaw(data, cb)
    },
    snappy: counted((data) => {
      const out = snappyUncompress(data.subarray(0, data.length - 4)) as Buffer
      if (crc32(out) !== data.readUInt32BE(data.length - 4)) throw new Error('snappy block CRC mismatch')
      return out
    }),
    zstandard: counted((data) => {
      if (!zstdNapi) throw new Error('zstd-napi is not installed')
      return zstdNapi.decompress(data)
    }),
  }
  const decoder = new avroJsFiles.streams.BlockDecoder({ codecs, parseOpts: { typeHook: avroJsLongHook } })
  let header: { codec: string; schema: AvroFile['schema'] } | undefined
  decoder.on('metadata', (_type: unknown, codec: string, h: { meta: Record<string, Buffer> }) => {
    header = { codec, schema: JSON.parse(h.meta['avro.schema']!.toString()) as AvroFile['schema'] }
  })
  decoder.end(bytes)
  const records: Record<string, unknown>[] = []
  for await (const r of decoder) records.push(plainAvro(r) as Record<string, unknown>)
  if (!header) throw new Error('no Avro header')
  const unions = header.schema.fields.filter((f) => Array.isArray(f.type)).map((f) => f.name)
  for (const r of records) {
    for (const name of unions) if (r[name] !== null) r[name] = Object.values(r[name] as object)[0]
  }
  return { ...header, blocks, records }
}

/** An Avro decimal's bytes (big-endian two's complement) as the unscaled integer. */
export function unscaledFromAvroBytes(bytes: Buffer): bigint {
  if (bytes.length === 0) return 0n
  const unsigned = BigInt(`0x${bytes.toString('hex')}`)
  return bytes[0]! & 0x80 ? unsigned - (1n << BigInt(bytes.length * 8)) : unsigned
}

/**
 * The Avro values a mixedRows row must read back as (decimals as unscaled integers through
 * unscaledFromAvroBytes): row 3's id is not an integer, so it is null.
 */
export function mixedRowAsAvro(r: RecordData): Record<string, unknown> {
  const createdAt = r.created_at as string
  const [whole, cents] = (r.price as string).split('.')
  return {
    id: typeof r.id === 'number' ? r.id : null,
    name: r.name,
    amount: r.amount,
    price: BigInt(whole!) * 100n + BigInt(cents!),
    active: r.active,
    born: Date.UTC(2000, 0, Number((r.born as string).slice(8))) / 86_400_000,
    created_at: Date.parse(createdAt.slice(0, 23) + 'Z') * 1000 + Number(createdAt.slice(23, 26)),
    at: 45_296_789_000,
    tags: JSON.stringify(r.tags),
    extra: JSON.stringify(r.extra),
  }
}

/** The data fields of a record read by readAvro, decimals decoded, for comparison with mixedRowAsAvro. */
export function mixedAvroFields(record: Record<string, unknown>): Record<string, unknown> {
  const { _airbyte_raw_id, _airbyte_extracted_at, _airbyte_meta, _airbyte_generation_id, ...data } = record
  return { ...data, price: data.price === null ? null : unscaledFromAvroBytes(data.price as Buffer) }
}
