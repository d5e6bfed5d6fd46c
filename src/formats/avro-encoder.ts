import { randomBytes, randomUUID } from 'node:crypto'
import avsc from 'avsc'
import type { RecordBatch, RecordChange, RecordValue, StreamDescriptor } from '../protocol/index.js'
import { avroCodecName, type BlockCompressor, blockCompressor } from './avro-codecs.js'
import { ColumnConverter, type ColumnValue, columnValues } from './column-converter.js'
import type { AvroFormat } from './format-config.js'
import { type ChunkOutput, type EncodeContext, mergeChanges, type RecordEncoder } from './record-encoder.js'
import { AIRBYTE_COLUMNS, type DataColumn } from './stream-columns.js'

/** An Avro schema as JSON (what goes into the file header). */
export type AvroSchema = string | { [key: string]: unknown } | AvroSchema[]

/**
 * A block is written once its uncompressed bytes reach this size. Readers decode a block at a
 * time; Avro's Java writer defaults to 64 KB, larger blocks give the codecs more to work with, and
 * the encoder holds at most two of them.
 */
export const AVRO_BLOCK_BYTES = 1 << 20

const MAGIC = Buffer.from('Obj\u0001', 'latin1')

/** The container file header, per the Avro specification ("Object Container Files"). */
const HEADER_TYPE = avsc.Type.forSchema({
  type: 'record',
  name: 'org.apache.avro.file.Header',
  fields: [
    { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
    { name: 'meta', type: { type: 'map', values: 'bytes' } },
    { name: 'sync', type: { type: 'fixed', name: 'Sync', size: 16 } },
  ],
})

/** Bytes of one long, scratch space for the long type below (consumed synchronously). */
const LONG_SCRATCH = Buffer.alloc(8)
const TWO_32 = 2 ** 32
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER)
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

/**
 * Avro long that takes numbers and BigInts: timestamps beyond 2^53 µs (9999-12-31) and int64
 * values beyond 2^53 arrive as BigInt from the value conversions, and avsc's own long refuses them.
 */
const LONG_TYPE = avsc.types.LongType.__with({
  fromBuffer: (buf: Buffer): number | bigint => {
    const v = buf.readBigInt64LE(0)
    return v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : v
  },
  toBuffer: (v: number | bigint): Buffer => {
    if (typeof v === 'bigint') {
      LONG_SCRATCH.writeBigInt64LE(v)
    } else {
      // Two 32-bit words without a BigInt per value (safe integers only: see isValid).
      const high = Math.floor(v / TWO_32)
      LONG_SCRATCH.writeUInt32LE(v - high * TWO_32, 0)
      LONG_SCRATCH.writeInt32LE(high, 4)
    }
    return LONG_SCRATCH
  },
  fromJSON: (v: unknown): number | bigint => (typeof v === 'bigint' || typeof v === 'number' ? v : BigInt(String(v))),
  toJSON: (v: number | bigint): number | string => (typeof v === 'number' ? v : v.toString()),
  isValid: (v: unknown): boolean => (typeof v === 'number' ? Number.isSafeInteger(v) : typeof v === 'bigint' && BigInt.asIntN(64, v) === v),
  compare: (a: number | bigint, b: number | bigint): number => (a < b ? -1 : a > b ? 1 : 0),
})

/** Every `long`, with or without a logical type, becomes LONG_TYPE (avsc's registry misses `{type: 'long'}`). */
function longHook(schema: unknown): avsc.Type | undefined {
  if (schema === 'long') return LONG_TYPE
  if (schema && typeof schema === 'object' && !Array.isArray(schema) && (schema as { type?: unknown }).type === 'long') return LONG_TYPE
  return undefined
}

/**
 * An Avro name from any text, as Airbyte's S3 destination makes them: accents dropped (NFKD),
 * anything but ASCII letters, digits and `_` becomes `_`, and a leading digit gets a `_` prefix.
 */
export function avroSafeName(name: string): string {
  const safe = name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/\s+/g, '_')
    .replace(/[^A-Za-z0-9_]/g, '_')
  return /^[A-Za-z_]/.test(safe) ? safe : `_${safe}`
}

/** Dotted namespace with each part Avro-safe; a stream without namespace gets Airbyte's "default". */
function avroNamespace(namespace: string | null | undefined): string {
  const parts = (namespace || 'default').split('.').filter((p) => p !== '')
  return parts.length > 0 ? parts.map(avroSafeName).join('.') : 'default'
}

/** The Avro type of a data column (always nullable, default null). */
function columnType(c: DataColumn): AvroSchema {
  switch (c.kind) {
    case 'integer':
      return 'long'
    case 'number':
      return 'double'
    case 'decimal':
      return { type: 'bytes', logicalType: 'decimal', precision: c.precision ?? 38, scale: c.scale ?? 0 }
    case 'boolean':
      return 'boolean'
    case 'date':
      return { type: 'int', logicalType: 'date' }
    case 'timestamp_tz':
    case 'timestamp':
      return { type: 'long', logicalType: 'timestamp-micros' }
    case 'time':
      return { type: 'long', logicalType: 'time-micros' }
    case 'string':
    case 'json':
      return 'string'
  }
}

/** The file schema of a stream and the Avro name of each data column (in column order). */
export interface AvroFileSchema {
  schema: { [key: string]: unknown }
  fieldNames: string[]
}

/**
 * The record schema of a stream's files: the Airbyte columns (semantics §5.4), then one nullable
 * field per data column with an Avro-safe name. Names that collide after the mangling (or with an
 * Airbyte column) get `_1`, `_2`, ... so every column keeps its own field.
 */
export function avroFileSchema(stream: StreamDescriptor, columns: readonly DataColumn[]): AvroFileSchema {
  const used = new Set<string>(AIRBYTE_COLUMNS)
  const fieldNames = columns.map((c) => {
    const base = avroSafeName(c.name)
    let name = base
    for (let n = 1; used.has(name); n++) name = `${base}_${n}`
    used.add(name)
    return name
  })
  const name = avroSafeName(stream.name)
  const namespace = avroNamespace(stream.namespace)
  // Nested records are named by their path, reversed, as Airbyte names them: full names stay unique.
  const metaNamespace = `${name}.${namespace}`
  const schema = {
    type: 'record',
    name,
    namespace,
    fields: [
      { name: '_airbyte_raw_id', type: { type: 'string', logicalType: 'uuid' } },
      { name: '_airbyte_extracted_at', type: { type: 'long', logicalType: 'timestamp-millis' } },
      {
        name: '_airbyte_meta',
        type: {
          type: 'record',
          name: '_airbyte_meta',
          namespace: metaNamespace,
          fields: [
            { name: 'sync_id', type: 'long' },
            {
              name: 'changes',
              type: {
                type: 'array',
                items: {
                  type: 'record',
                  name: 'items',
                  namespace: `changes._airbyte_meta.${metaNamespace}`,
                  fields: [
                    { name: 'field', type: 'string' },
                    { name: 'change', type: 'string' },
                    { name: 'reason', type: 'string' },
                  ],
                },
              },
            },
          ],
        },
      },
      { name: '_airbyte_generation_id', type: 'long' },
      ...columns.map((c, i) => ({ name: fieldNames[i]!, type: ['null', columnType(c)], default: null })),
    ],
  }
  return { schema, fieldNames }
}

/** A decimal's unscaled value as Avro's decimal bytes: minimal two's complement, big-endian. */
export function decimalBytes(unscaled: bigint): Buffer {
  let bytes = 1
  while (unscaled >= 1n << BigInt(bytes * 8 - 1) || unscaled < -(1n << BigInt(bytes * 8 - 1))) bytes++
  const hex = BigInt.asUintN(bytes * 8, unscaled).toString(16).padStart(bytes * 2, '0')
  return Buffer.from(hex, 'hex')
}

/** Block counts and sizes: plain Avro longs. */
const BLOCK_LONG = avsc.Type.forSchema('long')

/** Encoder options beyond the `format` object (tests use small blocks). */
export interface AvroEncoderOptions {
  /** Uncompressed bytes after which a block is written (default AVRO_BLOCK_BYTES). */
  blockBytes?: number
}

/**
 * Avro object container files through avsc: a header (schema, codec, sync marker), then blocks
 * of about `blockBytes` uncompressed bytes, each compressed and handed to `output` as soon as it
 * is full (so a part never sits in memory whole). Rows are written as Airbyte's S3 destination
 * writes them, with the types of docs/connectors/s3.md ("Avro").
 */
export class AvroEncoder implements RecordEncoder {
  readonly backlog = 0
  readonly #output: ChunkOutput
  readonly #ctx: EncodeContext
  readonly #columns: DataColumn[]
  readonly #wholeRecord: boolean
  readonly #fieldNames: string[]
  readonly #schema: AvroFileSchema['schema']
  readonly #type: avsc.Type
  readonly #codecName: string
  readonly #compress: BlockCompressor
  readonly #blockBytes: number
  readonly #sync = randomBytes(16)
  /** The block being filled: `#pos` bytes holding `#count` records. */
  #block: Buffer
  #pos = 0
  #count = 0
  /** The block handed over before: compressing and going out while `#block` fills. */
  #inFlight: Promise<void> | undefined
  /** The buffer of the block in flight, filled next once that block is out. */
  #spare: Buffer | undefined
  #headerWritten = false
  #destroyed = false

  constructor(
    output: ChunkOutput,
    ctx: EncodeContext,
    stream: StreamDescriptor,
    columns: readonly DataColumn[],
    format: AvroFormat,
    options: AvroEncoderOptions = {},
  ) {
    this.#output = output
    this.#ctx = ctx
    // A schema without properties still keeps the record, as JSON text (as for Parquet).
    this.#wholeRecord = columns.length === 0
    this.#columns = this.#wholeRecord ? [{ name: '_airbyte_data', kind: 'json' }] : [...columns]
    const { schema, fieldNames } = avroFileSchema(stream, this.#columns)
    this.#schema = schema
    this.#fieldNames = fieldNames
    this.#type = avsc.Type.forSchema(schema as avsc.schema.AvroSchema, { typeHook: longHook, wrapUnions: 'never' })
    this.#codecName = avroCodecName(format)
    this.#compress = blockCompressor(format)
    this.#blockBytes = options.blockBytes ?? AVRO_BLOCK_BYTES
    this.#block = Buffer.allocUnsafe(this.#blockBytes + 64 * 1024)
  }

  /** The schema written into the file header. */
  get schema(): AvroFileSchema['schema'] {
    return this.#schema
  }

  async write(batch: RecordBatch): Promise<void> {
    if (this.#destroyed) throw new Error('The Avro part was aborted.')
    if (batch.count === 0) return
    await this.#writeHeader()
    const converter = new ColumnConverter()
    const raw: RecordValue[][] = this.#wholeRecord ? [batch.rows()] : columnValues(batch, this.#columns)
    const values: (ColumnValue | Buffer)[][] = this.#columns.map((c, i) => {
      const converted = converter.convert(c, raw[i]!)
      return c.kind === 'decimal' ? converted.map((v) => (typeof v === 'bigint' ? decimalBytes(v) : undefined)) : converted
    })
    const syncId = this.#ctx.syncId
    const plainMeta = { sync_id: syncId, changes: [] as RecordChange[] }
    // One record object, refilled per row: avsc encodes it before the next row overwrites it.
    const record: Record<string, unknown> = {
      _airbyte_raw_id: '',
      _airbyte_extracted_at: batch.emittedAt,
      _airbyte_meta: plainMeta,
      _airbyte_generation_id: this.#ctx.generationId,
    }
    const names = this.#fieldNames
    for (const name of names) record[name] = null
    for (let row = 0; row < batch.count; row++) {
      record._airbyte_raw_id = randomUUID()
      const changes = mergeChanges(batch.changes?.get(row), converter.changes.get(row))
      record._airbyte_meta = changes ? { sync_id: syncId, changes } : plainMeta
      for (let j = 0; j < names.length; j++) record[names[j]!] = values[j]![row] ?? null
      // Awaits only when a block is written (no promise per row).
      if (!this.#encode(record)) {
        await this.#flush()
        this.#encode(record)
      }
      if (this.#pos >= this.#blockBytes) await this.#flush()
    }
  }

  /**
   * Encodes one record into the block. False when it does not fit after other records (the block
   * must be written first); a record larger than an empty block grows the buffer.
   */
  #encode(record: Record<string, unknown>): boolean {
    let end = this.#type.encode(record, this.#block, this.#pos)
    if (end < 0) {
      if (this.#count > 0) return false
      this.#block = Buffer.allocUnsafe(this.#block.length - end)
      end = this.#type.encode(record, this.#block, 0)
    }
    this.#pos = end
    this.#count++
    return true
  }

  async #writeHeader(): Promise<void> {
    if (this.#headerWritten) return
    this.#headerWritten = true
    const meta = { 'avro.schema': Buffer.from(JSON.stringify(this.#schema)), 'avro.codec': Buffer.from(this.#codecName) }
    await this.#output(HEADER_TYPE.toBuffer({ magic: MAGIC, meta, sync: this.#sync }))
  }

  /**
   * Hands the filled block over and continues in the other buffer: the block is compressed and
   * written while the next one fills (Deflate compresses on zlib's thread pool meanwhile). At most
   * one block is in flight, so waiting for it here is the backpressure.
   */
  async #flush(): Promise<void> {
    if (this.#count === 0) return
    await this.#drain()
    const data = this.#block.subarray(0, this.#pos)
    const count = this.#count
    const filled = this.#block
    const normal = this.#blockBytes + 64 * 1024
    this.#block = this.#spare ?? Buffer.allocUnsafe(normal)
    // A buffer grown for one huge record is not kept.
    this.#spare = filled.length > 4 * normal ? undefined : filled
    this.#pos = 0
    this.#count = 0
    const sending = this.#send(data, count)
    // A failure surfaces at the next #drain (next block or end), not as an unhandled rejection.
    sending.catch(() => undefined)
    this.#inFlight = sending
  }

  /** Writes one block: record count, byte size, compressed records, sync marker, as one chunk. */
  async #send(data: Buffer, count: number): Promise<void> {
    const pieces = await this.#compress(data)
    const size = pieces.reduce((n, p) => n + p.byteLength, 0)
    await this.#output(Buffer.concat([BLOCK_LONG.toBuffer(count), BLOCK_LONG.toBuffer(size), ...pieces, this.#sync]))
  }

  /** Waits for the block in flight (rethrows its failure). */
  async #drain(): Promise<void> {
    const inFlight = this.#inFlight
    this.#inFlight = undefined
    await inFlight
  }

  async end(): Promise<void> {
    if (this.#destroyed) throw new Error('The Avro part was aborted.')
    await this.#writeHeader()
    await this.#flush()
    await this.#drain()
  }

  destroy(): void {
    this.#destroyed = true
    this.#inFlight = undefined
    this.#block = Buffer.alloc(0)
    this.#spare = undefined
    this.#pos = 0
    this.#count = 0
  }
}
