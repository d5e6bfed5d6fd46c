import { availableParallelism } from 'node:os'
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { systemError } from '../errors.js'
import type { RecordBatch } from '../protocol/index.js'
import { jsonRuleFor } from './copy-text-jsonl.js'
import type { EncoderRequest, EncoderResponse } from './encoder-worker.js'
import type { FormatConfig } from './format-config.js'
import { ParquetBatchBuilder } from './parquet-encoder.js'
import type { ChunkOutput, EncodeContext, RecordEncoder } from './record-encoder.js'
import type { DataColumn } from './stream-columns.js'

/**
 * Batches a part may have sent to its thread and not yet seen written: bounds the COPY bytes in
 * flight per part (2 MB batches from the Postgres source) while keeping the thread busy.
 */
const MAX_IN_FLIGHT = 2

/**
 * Whether a format may use encoder threads at all: Parquet and JSONL. CSV and Avro always encode
 * on the main thread (Avro: avsc's row encoding is the work, and it would need every row sent over).
 */
export function usesEncoderThreads(format: FormatConfig): boolean {
  return format.type === 'Parquet' || format.type === 'JSONL'
}

/**
 * Whether a batch can be encoded in an encoder thread. Parquet: always (this thread builds the
 * Arrow columns, the thread runs the wasm writer). JSONL: only the COPY text bytes travel, so
 * every column needs a byte rule and no row may carry source-side changes. CSV and Avro: never.
 */
export function encodableInThread(format: FormatConfig, batch: RecordBatch): boolean {
  if (format.type === 'Parquet') return true
  const copy = batch.pgCopyText
  if (format.type !== 'JSONL' || !copy || batch.changes?.size) return false
  return copy.pgTypes.every((t) => jsonRuleFor(t) !== 'value')
}

/** A freshly built buffer moves to the thread without a copy; a view of a larger one is copied. */
function movable(bytes: Uint8Array): Uint8Array {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
  return whole ? bytes : new Uint8Array(bytes)
}

/**
 * A thread's young generation: its garbage is mostly per-batch typed arrays, and V8's default
 * let each thread hold tens of MB of it between collections (peak RSS is the target here).
 */
const YOUNG_GENERATION_MB = 8

/**
 * Running from TypeScript sources (tests, benches under tsx): tsx's loader hooks do not reach
 * worker threads on Node 20, so the thread registers them itself before importing its module.
 */
function tsBootstrap(url: URL): string {
  const api = import.meta.resolve('tsx/esm/api')
  return `import(${JSON.stringify(api)}).then((tsx) => tsx.register()).then(() => import(${JSON.stringify(url.href)}))`
}

interface PartChannel {
  onMessage(m: EncoderResponse): void
  onCrash(e: Error): void
}

/** One encoder thread and the parts it hosts. */
class EncoderThread {
  readonly worker: Worker
  readonly parts = new Map<number, PartChannel>()
  dead = false
  readonly #onDead: (t: EncoderThread) => void
  readonly #idleMs: number
  #idleTimer: NodeJS.Timeout | undefined

  constructor(url: URL, idleMs: number, onDead: (t: EncoderThread) => void) {
    this.#onDead = onDead
    this.#idleMs = idleMs
    const options = { resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } }
    this.worker = url.pathname.endsWith('.ts') ? new Worker(tsBootstrap(url), { ...options, eval: true }) : new Worker(url, options)
    this.worker.unref()
    this.worker.on('message', (m: EncoderResponse) => this.parts.get(m.part)?.onMessage(m))
    const fail = (e: Error): void => {
      if (this.dead) return
      this.dead = true
      onDead(this)
      for (const p of this.parts.values()) p.onCrash(e)
      this.parts.clear()
    }
    this.worker.on('error', fail)
    this.worker.on('exit', (code) => fail(new Error(`encoder thread exited (${code})`)))
  }

  attach(id: number, channel: PartChannel): void {
    clearTimeout(this.#idleTimer)
    if (this.parts.size === 0) this.worker.ref()
    this.parts.set(id, channel)
  }

  detach(id: number): void {
    if (!this.parts.delete(id) || this.parts.size > 0) return
    this.worker.unref()
    // An idle thread still holds its heap and wasm memory (which never shrinks): a long-running
    // server gives them back once syncs stop.
    this.#idleTimer = setTimeout(() => this.#retire(), this.#idleMs)
    this.#idleTimer.unref()
  }

  #retire(): void {
    if (this.dead || this.parts.size > 0) return
    this.dead = true
    this.#onDead(this)
    void this.worker.terminate()
  }
}

/**
 * A small pool of `worker_threads` running the Parquet and JSONL encoders, so reading the
 * source, encoding and uploading overlap and parts of different streams (or consecutive parts of
 * one stream) encode on different cores. Threads start on first use and never keep the process
 * alive while idle.
 */
export class EncoderPool {
  readonly size: number
  readonly #idleMs: number
  readonly #url: URL
  readonly #threads: EncoderThread[] = []
  #nextPart = 1

  /** `idleMs`: a thread without parts for this long ends (started again on demand). */
  constructor(size: number, idleMs = 30_000) {
    this.size = Math.max(1, size)
    this.#idleMs = idleMs
    const self = fileURLToPath(import.meta.url)
    // Same extension as this module: `.ts` under tsx, `.js` once compiled.
    this.#url = new URL(`./encoder-worker${extname(self)}`, import.meta.url)
  }

  /** The least busy thread, starting a new one while below `size`. */
  #pick(): EncoderThread {
    const idle = this.#threads.find((t) => t.parts.size === 0)
    if (idle) return idle
    if (this.#threads.length < this.size) {
      const t = new EncoderThread(this.#url, this.#idleMs, (dead) => this.#threads.splice(this.#threads.indexOf(dead), 1))
      this.#threads.push(t)
      return t
    }
    return this.#threads.reduce((a, b) => (b.parts.size < a.parts.size ? b : a))
  }

  /** Threads currently running. */
  get threadCount(): number {
    return this.#threads.length
  }

  /** Opens an encoder for one part in a thread; its bytes come back through `output` in order. */
  open(output: ChunkOutput, ctx: EncodeContext, columns: readonly DataColumn[], format: FormatConfig): RecordEncoder {
    return new ThreadEncoder(this.#pick(), this.#nextPart++, output, ctx, columns, format)
  }
}

/**
 * A part's encoder living in an encoder thread. `write` returns as soon as the batch is handed
 * over (at most MAX_IN_FLIGHT unwritten batches); bytes are written to `output` on this thread in
 * order with its backpressure; `end` resolves once the whole file has gone through `output`.
 */
class ThreadEncoder implements RecordEncoder {
  readonly #thread: EncoderThread
  readonly #id: number
  readonly #output: ChunkOutput
  /** Parquet: the Arrow columns are built here, the thread only runs the writer. */
  readonly #builder: ParquetBatchBuilder | undefined
  /** Output writes, in message order. */
  #chain: Promise<void> = Promise.resolve()
  #inFlight = 0
  #failed: Error | undefined
  #wake: (() => void) | undefined
  #ended: { resolve: () => void; reject: (e: Error) => void } | undefined

  constructor(thread: EncoderThread, id: number, output: ChunkOutput, ctx: EncodeContext, columns: readonly DataColumn[], format: FormatConfig) {
    this.#thread = thread
    this.#id = id
    this.#output = output
    this.#builder = format.type === 'Parquet' ? new ParquetBatchBuilder(ctx, columns) : undefined
    thread.attach(id, { onMessage: (m) => this.#onMessage(m), onCrash: (e) => this.#fail(e) })
    this.#post({ op: 'open', part: id, format, ctx, columns: [...columns] })
  }

  #post(m: EncoderRequest, transfer: ArrayBuffer[] = []): void {
    this.#thread.worker.postMessage(m, transfer)
  }

  #fail(e: Error): void {
    this.#failed ??= systemError(`Encoding failed: ${e.message}`, e)
    this.#thread.detach(this.#id)
    this.#wake?.()
    this.#ended?.reject(this.#failed)
  }

  #onMessage(m: EncoderResponse): void {
    switch (m.op) {
      case 'chunk': {
        const bytes = m.bytes
        this.#chain = this.#chain.then(() => (this.#failed ? undefined : this.#output(bytes)))
        break
      }
      case 'written':
        this.#chain = this.#chain.then(() => {
          this.#inFlight--
          this.#wake?.()
        })
        break
      case 'ended':
        this.#chain = this.#chain.then(() => {
          this.#thread.detach(this.#id)
          this.#ended?.resolve()
        })
        break
      case 'error':
        this.#fail(new Error(m.message))
        return
    }
    this.#chain = this.#chain.catch((e: unknown) => this.#fail(e instanceof Error ? e : new Error(String(e))))
  }

  get backlog(): number {
    return this.#inFlight
  }

  async write(batch: RecordBatch): Promise<void> {
    if (batch.count === 0) return
    const copy = batch.pgCopyText
    if (!this.#builder && !copy) throw systemError('A JSONL encoder thread only takes COPY text batches.')
    while (this.#inFlight >= MAX_IN_FLIGHT && !this.#failed) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve
      })
    }
    this.#wake = undefined
    if (this.#failed) throw this.#failed
    if (this.#builder || !copy) {
      const ipc = movable(this.#builder!.build(batch))
      this.#inFlight++
      this.#post({ op: 'ipc', part: this.#id, data: ipc }, [ipc.buffer as ArrayBuffer])
      return
    }
    // One copy (a memcpy, ~0.05 ms per 2 MB batch) moved to the thread: the batch's own buffer
    // may be a view of memory the source still reads (socket chunks), so it is never detached,
    // and the batch stays whole for anyone else holding it.
    const data = new Uint8Array(copy.data)
    this.#inFlight++
    this.#post(
      { op: 'batch', part: this.#id, count: batch.count, emittedAt: batch.emittedAt, columns: copy.columns, pgTypes: copy.pgTypes, data },
      [data.buffer as ArrayBuffer],
    )
  }

  async end(): Promise<void> {
    if (this.#failed) throw this.#failed
    const ended = new Promise<void>((resolve, reject) => {
      this.#ended = { resolve, reject }
    })
    this.#post({ op: 'end', part: this.#id })
    await ended
  }

  destroy(): void {
    this.#failed ??= systemError('The part was discarded.')
    if (!this.#thread.dead) this.#post({ op: 'destroy', part: this.#id })
    this.#thread.detach(this.#id)
    this.#wake?.()
    this.#ended?.reject(this.#failed)
  }
}

let shared: EncoderPool | null | undefined

/**
 * The process-wide pool: one thread per available core beyond two (one for the main thread, which
 * reads the source, builds columns and uploads; one left to the source database and the rest of the
 * process), at most four; none on a 2-core machine, where a thread measured no gain and 60-100 MB
 * more peak memory (docs/parquet-encoders.md). `SLUICE_ENCODER_THREADS` overrides the size; 0
 * keeps all encoding on the main thread (undefined).
 */
export function sharedEncoderPool(): EncoderPool | undefined {
  if (shared === undefined) {
    const env = process.env.SLUICE_ENCODER_THREADS
    const fallback = Math.max(0, Math.min(availableParallelism() - 2, 4))
    const size = env === undefined || env === '' || !Number.isInteger(Number(env)) ? fallback : Number(env)
    shared = size > 0 ? new EncoderPool(size) : null
  }
  return shared ?? undefined
}
