import { randomFillSync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import {
  Bool,
  type Data,
  type DataType,
  DateDay,
  Decimal,
  Field,
  Float64,
  Int64,
  List,
  makeData,
  RecordBatch as ArrowRecordBatch,
  Schema,
  Struct,
  Table as ArrowTable,
  TimeMicrosecond,
  TimestampMicrosecond,
  TimestampMillisecond,
  tableToIPC,
  Utf8,
} from 'apache-arrow'
import * as wasm from 'parquet-wasm/esm'
import type { RecordBatch, RecordChange, RecordValue } from '../protocol/index.js'
import type { ParquetCodec } from './format-config.js'
import { setInt64Words, writeUuidHex } from './byte-writers.js'
import { ColumnConverter, type ColumnValue, columnValues } from './column-converter.js'
import { splitCopyFields, type CopyFields } from './copy-text.js'
import { type CopyDecoder, copyDecoderFor, copyTextColumn, decodeCopyColumn } from './copy-text-columns.js'
import { type ChunkOutput, type EncodeContext, mergeChanges, type RecordEncoder } from './record-encoder.js'
import type { DataColumn } from './stream-columns.js'

/** Parquet writer options (from the `format` object). */
export interface ParquetOptions {
  codec: ParquetCodec
  blockSizeMb: number
  pageSizeKb: number
  dictionaryEncoding: boolean
}

/**
 * The row group being built lives in WebAssembly memory, which never shrinks; capping it keeps
 * peak memory bounded whatever `block_size_mb` says (see docs/parquet-encoders.md).
 */
export const MAX_ROW_GROUP_MB = 4

let wasmReady = false

/** parquet-wasm's ESM build needs its module instantiated once per process. */
function initWasm(): void {
  if (wasmReady) return
  const require = createRequire(import.meta.url)
  wasm.initSync({ module: readFileSync(require.resolve('parquet-wasm/esm/parquet_wasm_bg.wasm')) })
  wasmReady = true
}

const CODECS: Record<ParquetCodec, wasm.Compression> = {
  UNCOMPRESSED: wasm.Compression.UNCOMPRESSED,
  SNAPPY: wasm.Compression.SNAPPY,
  GZIP: wasm.Compression.GZIP,
  ZSTD: wasm.Compression.ZSTD,
}

const CHANGE_TYPE = new Struct([
  new Field('field', new Utf8(), true),
  new Field('change', new Utf8(), true),
  new Field('reason', new Utf8(), true),
])
const META_TYPE = new Struct([
  new Field('sync_id', new Int64(), true),
  new Field('changes', new List(new Field('item', CHANGE_TYPE, true)), true),
])

function arrowType(c: DataColumn): DataType {
  switch (c.kind) {
    case 'integer':
      return new Int64()
    case 'number':
      return new Float64()
    case 'decimal':
      return new Decimal(c.scale ?? 0, c.precision ?? 38, 128)
    case 'boolean':
      return new Bool()
    case 'date':
      return new DateDay()
    case 'timestamp_tz':
      return new TimestampMicrosecond('UTC')
    case 'timestamp':
      return new TimestampMicrosecond()
    case 'time':
      return new TimeMicrosecond()
    case 'string':
    case 'json':
      return new Utf8()
  }
}

/** Validity bitmap with a null count, filled as values are set. */
class Validity {
  readonly bits: Uint8Array
  nulls = 0
  constructor(n: number) {
    this.bits = new Uint8Array((n + 7) >> 3)
  }
  set(i: number): void {
    this.bits[i >> 3]! |= 1 << (i & 7)
  }
}

/** UTF-8 column from strings (nulls allowed), written straight into one buffer. */
function utf8Data(values: readonly (string | null | undefined)[]): Data<Utf8> {
  const n = values.length
  const offsets = new Int32Array(n + 1)
  const valid = new Validity(n)
  let cap = 64 + n * 16
  let buf = Buffer.allocUnsafe(cap)
  let pos = 0
  for (let i = 0; i < n; i++) {
    const v = values[i]
    if (v === null || v === undefined) {
      valid.nulls++
    } else {
      const need = pos + v.length * 3
      if (need > cap) {
        cap = Math.max(cap * 2, need)
        const grown = Buffer.allocUnsafe(cap)
        buf.copy(grown, 0, 0, pos)
        buf = grown
      }
      pos += buf.write(v, pos)
      valid.set(i)
    }
    offsets[i + 1] = pos
  }
  return makeData({ type: new Utf8(), length: n, nullCount: valid.nulls, valueOffsets: offsets, data: buf.subarray(0, pos), nullBitmap: valid.bits })
}

/**
 * `n` random (version 4) UUIDs as one UTF-8 column, written as hex bytes straight from one
 * random buffer: no string per row (`_airbyte_raw_id` would otherwise be 2M short-lived strings).
 */
function uuidData(n: number): Data<Utf8> {
  const random = randomFillSync(Buffer.allocUnsafe(n * 16))
  const bytes = Buffer.allocUnsafe(n * 36)
  const offsets = new Int32Array(n + 1)
  let pos = 0
  for (let i = 0; i < n; i++) {
    pos = writeUuidHex(random, i * 16, bytes, pos)
    offsets[i + 1] = pos
  }
  return makeData({ type: new Utf8(), length: n, nullCount: 0, valueOffsets: offsets, data: bytes })
}


/**
 * 64-bit integer column. Safe-integer numbers are split into two 32-bit words without going
 * through BigInt (a BigInt per value costs more than the rest of the conversion).
 */
function int64Data(
  type: Int64 | TimestampMicrosecond | TimestampMillisecond | TimeMicrosecond,
  values: readonly (number | bigint | undefined)[],
): Data {
  const n = values.length
  const out = new BigInt64Array(n)
  const words = new Uint32Array(out.buffer)
  const valid = new Validity(n)
  for (let i = 0; i < n; i++) {
    const v = values[i]
    if (v === undefined) valid.nulls++
    else {
      if (typeof v === 'number') setInt64Words(words, i, v)
      else out[i] = v
      valid.set(i)
    }
  }
  return makeData({ type, length: n, nullCount: valid.nulls, data: out, nullBitmap: valid.bits } as never)
}

/** A constant 64-bit column (extracted_at, generation id, sync id). */
function constantInt64(type: Int64 | TimestampMillisecond, value: number, n: number): Data {
  // One value converted, then a native fill: no JS array and no per-row conversion.
  const out = new BigInt64Array(n)
  if (n > 0) {
    setInt64Words(new Uint32Array(out.buffer, 0, 2), 0, value)
    out.fill(out[0]!)
  }
  return makeData({ type, length: n, nullCount: 0, data: out } as never)
}

/** Arrow columns of one batch: converts values (ColumnConverter) and builds typed buffers. */
class ArrowColumnBuilder extends ColumnConverter {
  /** A column decoded from COPY bytes; `undefined` values were unconvertible, `null` were NULL. */
  buildFromCopy(c: DataColumn, fields: CopyFields, index: number, decoder: CopyDecoder): Data {
    if (decoder === 'text') {
      const t = copyTextColumn(fields, index)
      return makeData({ type: new Utf8(), length: fields.rows, nullCount: t.nulls, valueOffsets: t.offsets, data: t.bytes, nullBitmap: t.valid })
    }
    const d = decodeCopyColumn(fields, index, decoder, c, (row) => this.fail(row, c.name))
    return makeData({ type: arrowType(c), length: fields.rows, nullCount: d.nulls, data: d.data, nullBitmap: d.valid } as never)
  }

  /** Builds the Arrow column of a kind from already converted values (undefined = null). */
  #typed(c: DataColumn, values: readonly ColumnValue[]): Data {
    const n = values.length
    switch (c.kind) {
      case 'integer':
        return int64Data(new Int64(), values as (number | bigint | undefined)[])
      case 'timestamp_tz':
      case 'timestamp':
        return int64Data(arrowType(c) as TimestampMicrosecond, values as (number | bigint | undefined)[])
      case 'time':
        return int64Data(new TimeMicrosecond(), values as (number | undefined)[])
      case 'number':
        return numberData(new Float64(), values as (number | undefined)[], Float64Array)
      case 'date':
        return numberData(new DateDay(), values as (number | undefined)[], Int32Array)
      case 'boolean': {
        const bits = new Uint8Array((n + 7) >> 3)
        const valid = new Validity(n)
        for (let i = 0; i < n; i++) {
          const v = values[i]
          if (v === undefined) valid.nulls++
          else {
            if (v) bits[i >> 3]! |= 1 << (i & 7)
            valid.set(i)
          }
        }
        return makeData({ type: new Bool(), length: n, nullCount: valid.nulls, data: bits, nullBitmap: valid.bits })
      }
      case 'decimal': {
        const precision = c.precision ?? 38
        const scale = c.scale ?? 0
        const words = new BigInt64Array(n * 2)
        const valid = new Validity(n)
        for (let i = 0; i < n; i++) {
          const v = values[i] as bigint | undefined
          if (v === undefined) valid.nulls++
          else {
            words[i * 2] = BigInt.asIntN(64, v)
            words[i * 2 + 1] = BigInt.asIntN(64, v >> 64n)
            valid.set(i)
          }
        }
        return makeData({ type: new Decimal(scale, precision, 128), length: n, nullCount: valid.nulls, data: new Uint32Array(words.buffer), nullBitmap: valid.bits })
      }
      case 'string':
      case 'json':
        return utf8Data(values as (string | undefined)[])
    }
  }

  build(c: DataColumn, values: readonly RecordValue[]): Data {
    return this.#typed(c, this.convert(c, values))
  }
}

function numberData(
  type: Float64 | DateDay,
  values: readonly (number | undefined)[],
  ArrayType: Float64ArrayConstructor | Int32ArrayConstructor,
): Data {
  const n = values.length
  const out = new ArrayType(n)
  const valid = new Validity(n)
  for (let i = 0; i < n; i++) {
    const v = values[i]
    if (v === undefined) valid.nulls++
    else {
      out[i] = v
      valid.set(i)
    }
  }
  return makeData({ type, length: n, nullCount: valid.nulls, data: out, nullBitmap: valid.bits } as never)
}

/** `_airbyte_meta` as Airbyte's record {sync_id, changes: [{field, change, reason}]}. */
function metaData(syncId: number, n: number, changes: (i: number) => readonly RecordChange[] | undefined): Data {
  const offsets = new Int32Array(n + 1)
  const field: string[] = []
  const change: string[] = []
  const reason: string[] = []
  for (let i = 0; i < n; i++) {
    for (const c of changes(i) ?? []) {
      field.push(c.field)
      change.push(c.change)
      reason.push(c.reason)
    }
    offsets[i + 1] = field.length
  }
  const items = makeData({ type: CHANGE_TYPE, length: field.length, nullCount: 0, children: [utf8Data(field), utf8Data(change), utf8Data(reason)] })
  const list = makeData({ type: META_TYPE.children[1]!.type as List, length: n, nullCount: 0, valueOffsets: offsets, child: items })
  const ids = constantInt64(new Int64(), syncId, n)
  return makeData({ type: META_TYPE, length: n, nullCount: 0, children: [ids, list] })
}

/**
 * Turns record batches of one stream into Arrow IPC messages of the file's schema (the Airbyte
 * columns plus the typed data columns). Pure JS: an encoder thread's writer can take the bytes
 * while this runs on the main thread for the next batch.
 */
export class ParquetBatchBuilder {
  readonly #ctx: EncodeContext
  readonly #columns: DataColumn[]
  readonly #schema: Schema
  readonly #wholeRecord: boolean

  constructor(ctx: EncodeContext, columns: readonly DataColumn[]) {
    this.#ctx = ctx
    // A schema without properties still keeps the record, as JSON text.
    this.#wholeRecord = columns.length === 0
    this.#columns = this.#wholeRecord ? [{ name: '_airbyte_data', kind: 'json' }] : [...columns]
    this.#schema = new Schema([
      new Field('_airbyte_raw_id', new Utf8(), false),
      new Field('_airbyte_extracted_at', new TimestampMillisecond('UTC'), false),
      new Field('_airbyte_meta', META_TYPE, false),
      new Field('_airbyte_generation_id', new Int64(), false),
      ...this.#columns.map((c) => new Field(c.name, arrowType(c), true)),
    ])
  }

  /** One batch as an Arrow IPC stream (schema + one record batch). */
  build(batch: RecordBatch): Uint8Array {
    const n = batch.count
    const converter = new ArrowColumnBuilder()
    const data = this.#buildColumns(batch, converter)
    const meta = metaData(this.#ctx.syncId, n, (i) => mergeChanges(batch.changes?.get(i), converter.changes.get(i)))
    const children = [
      uuidData(n),
      constantInt64(new TimestampMillisecond('UTC'), batch.emittedAt, n),
      meta,
      constantInt64(new Int64(), this.#ctx.generationId, n),
      ...data,
    ]
    const struct = makeData({ type: new Struct(this.#schema.fields), length: n, nullCount: 0, children })
    return tableToIPC(new ArrowTable([new ArrowRecordBatch(this.#schema, struct)]), 'stream')
  }

  /**
   * The data columns of a batch: straight from COPY text bytes where the column's Postgres type
   * has a byte decoder, else from `columns()` or `rows()`.
   */
  #buildColumns(batch: RecordBatch, converter: ArrowColumnBuilder): Data[] {
    const copy = this.#wholeRecord ? undefined : batch.pgCopyText
    const fields = copy ? splitCopyFields(copy.data, copy.columns.length, batch.count) : undefined
    let values: RecordValue[][] | undefined
    return this.#columns.map((c, i) => {
      if (copy && fields) {
        const index = copy.columns.indexOf(c.name)
        const decoder = index >= 0 ? copyDecoderFor(c, copy.pgTypes[index] ?? '') : undefined
        if (decoder) return converter.buildFromCopy(c, fields, index, decoder)
      }
      values ??= this.#columnValues(batch)
      return converter.build(c, values[i]!)
    })
  }

  /** One value array per data column (the whole record when the schema has no properties). */
  #columnValues(batch: RecordBatch): RecordValue[][] {
    return this.#wholeRecord ? [batch.rows()] : columnValues(batch, this.#columns)
  }
}

/**
 * Parquet through parquet-wasm (arrow-rs compiled to WebAssembly): each batch becomes Arrow
 * columns built directly in typed buffers (ParquetBatchBuilder), handed over as Arrow IPC, and the
 * writer streams row groups out as they fill (bounded by `block_size_mb`). See
 * docs/parquet-encoders.md for why.
 */
export class ParquetEncoder implements RecordEncoder {
  readonly backlog = 0
  readonly #builder: ParquetBatchBuilder
  readonly #output: Promise<void>
  #controller!: ReadableStreamDefaultController<wasm.RecordBatch>
  #pullWaiter: (() => void) | undefined
  #wantsMore = false
  #failed: unknown

  constructor(output: ChunkOutput, ctx: EncodeContext, columns: readonly DataColumn[], options: ParquetOptions) {
    initWasm()
    this.#builder = new ParquetBatchBuilder(ctx, columns)
    const input = new ReadableStream<wasm.RecordBatch>(
      {
        start: (controller) => {
          this.#controller = controller
        },
        pull: () => {
          this.#wantsMore = true
          this.#pullWaiter?.()
        },
      },
      { highWaterMark: 0 },
    )
    const props = new wasm.WriterPropertiesBuilder()
      .setCompression(CODECS[options.codec])
      .setMaxRowGroupBytes(Math.min(options.blockSizeMb, MAX_ROW_GROUP_MB) * 1024 * 1024)
      .setDataPageSizeLimit(options.pageSizeKb * 1024)
      .setDictionaryEnabled(options.dictionaryEncoding)
      // A small dictionary page limit: low-cardinality columns keep their dictionary, the others
      // fall back to plain encoding early. At arrow-rs's 1 MB default, high-cardinality columns
      // were encoded twice per row group: +47% CPU and +11% file size on the bench table; 16 KB
      // took the writer 20-25% less time than 64 KB, with files 2.5% smaller (a dictionary of up
      // to 16 KB still holds thousands of short codes, dates or amounts per row group).
      .setDictionaryPageSizeLimit(16 * 1024)
      // Raw ids never repeat: a dictionary attempt there is pure cost.
      .setColumnDictionaryEnabled('_airbyte_raw_id', false)
      // Column-chunk min/max is what readers prune with; page-level statistics cost more than they give here.
      .setStatisticsEnabled(wasm.EnabledStatistics.Chunk)
      .setCreatedBy('sluice')
      .build()
    this.#output = (async () => {
      const reader = (await wasm.transformParquetStream(input, props)).getReader()
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return
        await output(value as Uint8Array)
      }
    })()
    // Surface encoder/output failures to the next write instead of an unhandled rejection.
    this.#output.catch((e: unknown) => {
      this.#failed = e
      this.#pullWaiter?.()
    })
  }

  async write(batch: RecordBatch): Promise<void> {
    if (batch.count === 0) return
    await this.writeIpc(this.#builder.build(batch))
  }

  /** Writes a batch already built as Arrow IPC by a ParquetBatchBuilder of the same stream. */
  async writeIpc(ipc: Uint8Array): Promise<void> {
    const table = wasm.Table.fromIPCStream(ipc)
    for (const rb of table.recordBatches()) await this.#enqueue(rb)
    table.free()
  }

  /** Waits until the Parquet writer asks for the next batch (backpressure of one batch). */
  async #enqueue(rb: wasm.RecordBatch): Promise<void> {
    while (!this.#wantsMore && this.#failed === undefined) {
      await new Promise<void>((resolve) => {
        this.#pullWaiter = resolve
      })
    }
    this.#pullWaiter = undefined
    if (this.#failed !== undefined) throw this.#failed
    this.#wantsMore = false
    this.#controller.enqueue(rb)
  }

  async end(): Promise<void> {
    this.#controller.close()
    await this.#output
  }

  destroy(): void {
    try {
      this.#controller.error(new Error('part aborted'))
    } catch {
      // already closed or errored
    }
    this.#output.catch(() => undefined)
  }
}
