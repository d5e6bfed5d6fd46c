/**
 * The body of an encoder thread (see `encoder-pool.ts`): hosts the encoders of the parts the main
 * thread opened here, encodes their batches in order (Parquet: Arrow IPC built by the main thread;
 * JSONL: COPY text), and posts the file bytes back.
 */
import { parentPort } from 'node:worker_threads'
import type { RecordBatch } from '../protocol/index.js'
import type { FormatConfig } from './format-config.js'
import { JsonlEncoder } from './jsonl-encoder.js'
import { ParquetEncoder } from './parquet-encoder.js'
import type { EncodeContext, RecordEncoder } from './record-encoder.js'
import type { DataColumn } from './stream-columns.js'

/** Main thread -> encoder thread. */
export type EncoderRequest =
  | { op: 'open'; part: number; format: FormatConfig; ctx: EncodeContext; columns: DataColumn[] }
  | { op: 'batch'; part: number; count: number; emittedAt: number; columns: string[]; pgTypes: string[]; data: Uint8Array }
  | { op: 'ipc'; part: number; data: Uint8Array }
  | { op: 'end'; part: number }
  | { op: 'destroy'; part: number }

/** Encoder thread -> main thread, in the order the bytes must be written. */
export type EncoderResponse =
  | { op: 'chunk'; part: number; bytes: Uint8Array }
  | { op: 'written'; part: number }
  | { op: 'ended'; part: number }
  | { op: 'error'; part: number; message: string }

/** Hands over a chunk without copying when it owns its whole buffer (never wasm memory). */
function transferable(chunk: Uint8Array): { bytes: Uint8Array; transfer: ArrayBuffer[] } {
  const whole = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength && chunk.buffer instanceof ArrayBuffer
  if (whole) return { bytes: chunk, transfer: [chunk.buffer as ArrayBuffer] }
  const copy = new Uint8Array(chunk)
  return { bytes: copy, transfer: [copy.buffer] }
}

const CHUNK_BYTES = 1 << 20

interface HostedPart {
  encoder: RecordEncoder
  /** Work of this part runs one step at a time, in arrival order. */
  chain: Promise<void>
  failed: boolean
}

function serve(port: NonNullable<typeof parentPort>): void {
  const parts = new Map<number, HostedPart>()
  const flushers = new Map<number, () => void>()
  const post = (m: EncoderResponse, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer)

  const step = (id: number, work: (p: HostedPart) => Promise<void>): void => {
    const p = parts.get(id)
    if (!p) return
    p.chain = p.chain.then(async () => {
      if (p.failed) return
      try {
        await work(p)
      } catch (e) {
        p.failed = true
        post({ op: 'error', part: id, message: e instanceof Error ? e.message : String(e) })
      }
    })
  }

  port.on('message', (m: EncoderRequest) => {
    switch (m.op) {
      case 'open': {
        // Small chunks (Parquet pages) are gathered into ~1 MB messages: a message per chunk cost
        // more than the copy.
        let held: Uint8Array[] = []
        let heldBytes = 0
        const flush = (): void => {
          if (heldBytes === 0) return
          const one = held.length === 1 ? transferable(held[0]!) : transferable(Buffer.concat(held, heldBytes))
          held = []
          heldBytes = 0
          post({ op: 'chunk', part: m.part, bytes: one.bytes }, one.transfer)
        }
        const output = async (chunk: Uint8Array): Promise<void> => {
          held.push(chunk)
          heldBytes += chunk.byteLength
          if (heldBytes >= CHUNK_BYTES) flush()
        }
        flushers.set(m.part, flush)
        try {
          const format = m.format
          // Only Parquet and JSONL are sent to threads (encodableInThread).
          if (format.type !== 'Parquet' && format.type !== 'JSONL') throw new Error(`${format.type} is not encoded in threads.`)
          const encoder =
            format.type === 'Parquet' ? new ParquetEncoder(output, m.ctx, m.columns, format) : new JsonlEncoder(output, m.ctx, format.flatten)
          parts.set(m.part, { encoder, chain: Promise.resolve(), failed: false })
        } catch (e) {
          post({ op: 'error', part: m.part, message: e instanceof Error ? e.message : String(e) })
        }
        return
      }
      case 'batch':
        step(m.part, async (p) => {
          const data = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength)
          const batch: RecordBatch = {
            type: 'RECORD_BATCH',
            stream: { name: '', namespace: null },
            emittedAt: m.emittedAt,
            count: m.count,
            bytes: data.length,
            pgCopyText: { columns: m.columns, pgTypes: m.pgTypes, data },
            rows() {
              // The main thread sends only batches whose every column has a byte rule.
              throw new Error('decoded rows are not available in an encoder thread')
            },
          }
          await p.encoder.write(batch)
          flushers.get(m.part)?.()
          post({ op: 'written', part: m.part })
        })
        return
      case 'ipc':
        step(m.part, async (p) => {
          if (!(p.encoder instanceof ParquetEncoder)) throw new Error('Arrow IPC batches go to Parquet parts only')
          await p.encoder.writeIpc(m.data)
          flushers.get(m.part)?.()
          post({ op: 'written', part: m.part })
        })
        return
      case 'end':
        step(m.part, async (p) => {
          await p.encoder.end()
          flushers.get(m.part)?.()
          flushers.delete(m.part)
          parts.delete(m.part)
          post({ op: 'ended', part: m.part })
        })
        return
      case 'destroy': {
        const p = parts.get(m.part)
        if (!p) return
        p.failed = true
        parts.delete(m.part)
        flushers.delete(m.part)
        p.encoder.destroy()
        return
      }
    }
  })
}

if (parentPort) serve(parentPort)
