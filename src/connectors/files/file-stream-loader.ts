import { finished } from 'node:stream/promises'
import type { Writable } from 'node:stream'
import { createGzip, type Gzip } from 'node:zlib'
import type { ConfiguredStream, RecordBatch, RunOptions, StreamLoader } from '../../protocol/index.js'
import { streamLabel } from '../../protocol/index.js'
import { AvroEncoder } from '../../formats/avro-encoder.js'
import { CsvEncoder } from '../../formats/csv-encoder.js'
import { encodableInThread, type EncoderPool, sharedEncoderPool, usesEncoderThreads } from '../../formats/encoder-pool.js'
import { formatExtension } from '../../formats/format-config.js'
import { JsonlEncoder } from '../../formats/jsonl-encoder.js'
import { ParquetEncoder } from '../../formats/parquet-encoder.js'
import {
  constantPrefix,
  expandFileName,
  expandPathFormat,
  joinKey,
  keyPattern,
  pathVariables,
  withCollisionSuffix,
} from './path-format.js'
import type { ChunkOutput, EncodeContext, RecordEncoder } from '../../formats/record-encoder.js'
import { type DataColumn, dataColumns } from '../../formats/stream-columns.js'
import { DEFAULT_FILE_LIMITS, type FileWriteSettings } from './file-write-settings.js'
import type { ObjectSink, ObjectStore } from './object-store.js'

interface OpenPart {
  seq: number
  key: string
  sink: ObjectSink
  encoder: RecordEncoder
  gzip: Gzip | undefined
  /** The encoder runs in an encoder thread (takes only COPY text batches). */
  threaded: boolean
  rows: number
  /** Bytes written to the object so far (after compression). */
  counter: { bytes: number }
}

/** Writes, then waits for `drain` when needed; fails instead of hanging when the stream errors or closes. */
async function writeWithBackpressure(target: Writable, chunk: Uint8Array): Promise<void> {
  if (target.destroyed) throw target.errored ?? new Error('The output stream is closed.')
  if (target.write(chunk)) return
  await new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      target.off('drain', onDrain).off('error', onError).off('close', onClose)
    }
    const onDrain = (): void => {
      cleanup()
      resolve()
    }
    const onError = (e: Error): void => {
      cleanup()
      reject(e)
    }
    const onClose = (): void => {
      cleanup()
      reject(target.errored ?? new Error('The output stream is closed.'))
    }
    target.on('drain', onDrain).on('error', onError).on('close', onClose)
  })
}

/** Stream errors surface through writes and `finished()`; this keeps them from being unhandled. */
const ignoreError = (): void => undefined

/**
 * One stream's files for one sync (the files family's stream loader): batches go into bounded
 * parts; the records of a part are durable once the part is committed (parts commit in
 * sequence order, so a position is a part's sequence number); COMPLETE completes the open
 * parts and then drops older generations; on failure every open part is discarded, so no
 * partial file shows.
 */
export class FileStreamLoader implements StreamLoader {
  readonly #store: ObjectStore
  readonly #settings: FileWriteSettings
  readonly #configured: ConfiguredStream
  readonly #opts: RunOptions
  readonly #vars: Record<string, string>
  readonly #extension: string
  readonly #pattern: RegExp
  readonly #columns: DataColumn[]
  readonly #pool: EncoderPool | undefined
  readonly #written = new Set<string>()
  #existing: Set<string> | undefined
  #nextPart = 0
  #seq = 0
  /** Open parts, oldest first: more than one only while encoder threads share a large stream. */
  readonly #parts: OpenPart[] = []
  /** Rotated parts still completing (upload finishing), with their completion. */
  readonly #closing = new Map<OpenPart, Promise<void>>()
  #closeError: unknown
  /** COPY bytes this stream has sent to encoder threads (a second part opens only past a threshold). */
  #threadedBytes = 0

  constructor(store: ObjectStore, settings: FileWriteSettings, configured: ConfiguredStream, syncStart: Date, opts: RunOptions) {
    this.#store = store
    this.#settings = settings
    this.#configured = configured
    this.#opts = opts
    this.#vars = pathVariables(configured.stream, syncStart)
    this.#extension = formatExtension(settings.format)
    this.#pattern = keyPattern(settings.pathFormat, settings.fileNamePattern, this.#vars, this.#extension)
    this.#columns = dataColumns(configured.stream.jsonSchema)
    this.#pool = settings.encodeInThreads === false || !usesEncoderThreads(settings.format) ? undefined : sharedEncoderPool()
  }

  #relative(key: string): string | undefined {
    const base = joinKey(this.#settings.basePath, '')
    if (base === '' || base === '/') return key
    return key.startsWith(base) ? key.slice(base.length) : undefined
  }

  /** Part numbers continue after the highest one already under the stream's directory. */
  async #scanExisting(directory: string): Promise<Set<string>> {
    const existing = new Set<string>()
    for await (const key of this.#store.list(directory)) {
      existing.add(key)
      const m = this.#pattern.exec(this.#relative(key) ?? '')
      if (m?.[1] !== undefined) this.#nextPart = Math.max(this.#nextPart, Number(m[1]) + 1)
    }
    return existing
  }

  async #open(threaded: boolean): Promise<OpenPart> {
    const prefix = joinKey(this.#settings.basePath, expandPathFormat(this.#settings.pathFormat, this.#vars))
    this.#existing ??= await this.#scanExisting(prefix.slice(0, prefix.lastIndexOf('/') + 1))
    const name = expandFileName(this.#settings.fileNamePattern, {
      partNumber: this.#nextPart++,
      syncId: this.#configured.syncId,
      extension: this.#extension,
      now: new Date(),
    })
    let key = joinKey(prefix + name)
    for (let n = 1; this.#existing.has(key) || this.#written.has(key); n++) key = joinKey(prefix + withCollisionSuffix(name, this.#extension, n))
    this.#written.add(key)
    const sink = await this.#store.create(key, this.#configured.generationId)
    try {
      return { seq: ++this.#seq, key, sink, rows: 0, threaded, ...this.#encoderFor(sink, threaded) }
    } catch (e) {
      await sink.abort()
      throw e
    }
  }

  /** The encoder of the configured format, writing (through gzip when asked) into the sink. */
  #encoderFor(sink: ObjectSink, threaded: boolean): Pick<OpenPart, 'encoder' | 'gzip' | 'counter'> {
    const format = this.#settings.format
    const gzip = (format.type === 'JSONL' || format.type === 'CSV') && format.gzip ? createGzip() : undefined
    const counter = { bytes: 0 }
    sink.stream.on('error', ignoreError)
    let target: Writable = sink.stream
    if (gzip) {
      gzip.on('error', ignoreError)
      gzip.on('data', (c: Buffer) => {
        counter.bytes += c.length
      })
      sink.stream.on('error', (e) => gzip.destroy(e))
      gzip.pipe(sink.stream, { end: false })
      target = gzip
    }
    const output = async (chunk: Uint8Array): Promise<void> => {
      if (!gzip) counter.bytes += chunk.length
      await writeWithBackpressure(target, chunk)
    }
    const ctx = { syncId: this.#configured.syncId, generationId: this.#configured.generationId }
    const columns = this.#columns
    if (threaded && this.#pool) return { encoder: this.#pool.open(output, ctx, columns, format), gzip, counter }
    return { encoder: this.#mainThreadEncoder(output, ctx), gzip, counter }
  }

  /** The encoder of the configured format on this thread. */
  #mainThreadEncoder(output: ChunkOutput, ctx: EncodeContext): RecordEncoder {
    const format = this.#settings.format
    const columns = this.#columns
    switch (format.type) {
      case 'JSONL':
        return new JsonlEncoder(output, ctx, format.flatten)
      case 'CSV':
        return new CsvEncoder(output, ctx, format.flatten, columns)
      case 'Parquet':
        return new ParquetEncoder(output, ctx, columns, format)
      case 'Avro':
        return new AvroEncoder(output, ctx, this.#configured.stream, columns, format)
    }
  }

  /** Nothing to prepare: parts open with the first batch. */
  async start(): Promise<void> {}

  async accept(batch: RecordBatch): Promise<void> {
    if (this.#closeError !== undefined) throw this.#closeError
    const threaded = this.#pool !== undefined && encodableInThread(this.#settings.format, batch)
    // A thread only receives COPY text: a batch it cannot take starts a new part on this thread.
    if (!threaded && this.#parts.some((p) => p.threaded)) await this.flush()
    const part = await this.#partFor(threaded, batch.bytes)
    await part.encoder.write(batch)
    part.rows += batch.count
    if (part.counter.bytes >= this.#settings.maxPartBytes || part.rows >= this.#settings.maxPartRows) await this.#closeInBackground(part)
  }

  /**
   * Rotation: the full part completes (trailer, upload completion: ~0.7 s per 200 MB object on
   * the bench's S3 server) while the next part is already being written. One part per stream
   * completes in the background at a time; its STATEs wait for it as for an open part.
   */
  async #closeInBackground(part: OpenPart): Promise<void> {
    await this.#drainClosing()
    this.#parts.splice(this.#parts.indexOf(part), 1)
    const done = this.#completePart(part).then(
      () => {
        this.#closing.delete(part)
      },
      (e: unknown) => {
        this.#closeError ??= e
      },
    )
    this.#closing.set(part, done)
  }

  /** Waits for the parts completing in the background; rethrows the first failure. */
  async #drainClosing(): Promise<void> {
    await Promise.all(this.#closing.values())
    if (this.#closeError !== undefined) throw this.#closeError
  }

  /**
   * The part a batch goes to. On this thread there is one. With encoder threads, a large stream
   * gets up to one part per thread, so two threads encode two files of it at once; each batch
   * goes to the part with the fewest batches waiting. Rows of a stream are then spread over its
   * concurrent files (no order across files, as with rotation).
   */
  async #partFor(threaded: boolean, bytes: number): Promise<OpenPart> {
    if (!threaded || !this.#pool) {
      const open = this.#parts[0] ?? (await this.#open(false))
      if (this.#parts.length === 0) this.#parts.push(open)
      return open
    }
    this.#threadedBytes += bytes
    const least = this.#parts.reduce<OpenPart | undefined>((a, b) => (a === undefined || b.encoder.backlog < a.encoder.backlog ? b : a), undefined)
    const widen = this.#parts.length < this.#pool.size && this.#threadedBytes >= (this.#settings.parallelPartsAfterBytes ?? DEFAULT_FILE_LIMITS.parallelPartsAfterBytes!) && (least?.encoder.backlog ?? 1) > 0
    if (least && !widen) return least
    const opened = await this.#open(true)
    this.#parts.push(opened)
    return opened
  }

  /** Completes every open part and waits for those completing in the background. */
  async flush(): Promise<void> {
    while (this.#parts[0]) {
      const part = this.#parts[0]
      await this.#completePart(part)
      this.#parts.splice(this.#parts.indexOf(part), 1)
    }
    await this.#drainClosing()
  }

  /** Sequence number of the newest part not yet complete; 0 when there is none. */
  checkpoint(): number {
    let newest = this.#parts.at(-1)?.seq ?? 0
    for (const p of this.#closing.keys()) newest = Math.max(newest, p.seq)
    return newest
  }

  /** Whether every part up to `seq` is complete (parts open in sequence order). */
  isDurable(seq: number): boolean {
    if (seq === 0) return true
    if (this.#parts.some((p) => p.seq <= seq)) return false
    for (const p of this.#closing.keys()) if (p.seq <= seq) return false
    return true
  }

  /** Completes one part (footer, gzip trailer, durable commit). */
  async #completePart(part: OpenPart): Promise<void> {
    await part.encoder.end()
    if (part.gzip) {
      part.gzip.end()
      await finished(part.gzip)
    }
    await part.sink.commit()
    this.#opts.logger.info(`Wrote ${part.key} (${part.rows} records, ${part.counter.bytes} bytes).`)
  }

  /** After a failure: discards the open parts and those still completing. */
  async close(succeeded: boolean): Promise<void> {
    if (succeeded) return
    const closing = [...this.#closing.keys()]
    this.#closing.clear()
    for (const part of [...this.#parts.splice(0), ...closing]) {
      part.encoder.destroy()
      part.gzip?.destroy()
      await part.sink.abort()
    }
  }

  /** COMPLETE: completes the open parts, then drops older generations. */
  async finish(): Promise<void> {
    await this.flush()
    await this.#dropOlderGenerations()
  }

  /**
   * After the stream completed: deletes the stream's objects of generations older than the
   * minimum generation (overwrite). Append streams have minimum generation 0: nothing goes.
   */
  async #dropOlderGenerations(): Promise<void> {
    const minimum = this.#configured.minimumGenerationId
    if (minimum <= 0) return
    const prefix = joinKey(this.#settings.basePath, constantPrefix(this.#settings.pathFormat, this.#vars))
    const candidates: string[] = []
    for await (const key of this.#store.list(prefix)) {
      if (this.#written.has(key)) continue
      const rel = this.#relative(key)
      if (rel !== undefined && this.#pattern.test(rel)) candidates.push(key)
    }
    // Generations are per-object metadata (one HEAD each on S3): ask 16 at a time.
    const doomed: string[] = []
    for (let i = 0; i < candidates.length; i += 16) {
      const slice = candidates.slice(i, i + 16)
      const generations = await Promise.all(slice.map((key) => this.#store.generationOf(key)))
      slice.forEach((key, j) => {
        if (generations[j]! < minimum) doomed.push(key)
      })
    }
    for (let i = 0; i < doomed.length; i += 1000) await this.#store.delete(doomed.slice(i, i + 1000))
    if (doomed.length > 0) this.#opts.logger.info(`Removed ${doomed.length} file(s) of older generations of ${streamLabel(this.#configured.stream)}.`)
  }
}
