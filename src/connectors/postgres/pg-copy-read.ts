import { to as copyTo } from 'pg-copy-streams'
import type { RecordBatch, SourceMessage, StateMessage, StreamDescriptor } from '../../protocol/index.js'
import { cancelledError, isSluiceError } from '../../errors.js'
import { fromPgError } from './postgres-errors.js'
import { countCopyRows } from '../../formats/copy-text.js'
import { copyTextBatch, fieldDecoder, type FieldDecoder } from '../../formats/copy-text-values.js'
import type { PgColumn } from './pg-source-types.js'
import type { PgStreamRead } from './pg-stream-read.js'

/**
 * Turns complete COPY text lines into messages: record batches, and checkpoints where a read
 * method cuts them. Called once per batch of bytes, so per-row work stays in the cutter's loop.
 */
export type CopyCutter = (data: Buffer) => Iterable<SourceMessage>

/** A STATE message of one stream. */
export function stateMessage(stream: StreamDescriptor, data: Record<string, unknown>): StateMessage {
  return { type: 'STATE', stream: { name: stream.name, namespace: stream.namespace ?? null }, data }
}

/** The field decoders of the columns a read selects. */
export function fieldDecoders(columns: readonly PgColumn[]): FieldDecoder[] {
  return columns.map(fieldDecoder)
}

/**
 * A RecordBatch over COPY text bytes: the bytes travel as `pgCopyText`; rows and columns are
 * decoded only if a destination asks, then cached.
 */
export function copyBatch(
  stream: StreamDescriptor,
  columns: PgColumn[],
  decoders: FieldDecoder[],
  data: Buffer,
  count: number,
): RecordBatch {
  return copyTextBatch(stream, columns.map((c) => c.name), columns.map((c) => c.pgType), decoders, data, count)
}

/** The cutter of reads without checkpoints inside the stream: one batch per run of lines. */
export function batchCutter(read: PgStreamRead): CopyCutter {
  const decoders = fieldDecoders(read.columns)
  return (data) => [copyBatch(read.stream, read.columns, decoders, data, countCopyRows(data))]
}

/**
 * Streams `COPY (sql) TO STDOUT` as byte-bounded runs of complete lines (cut at row ends) and
 * hands each run to `cut`.
 */
export async function* readCopy(read: PgStreamRead, sql: string, cut: CopyCutter): AsyncGenerator<SourceMessage> {
  const { signal } = read.run
  const copy = read.client.query(copyTo(`COPY (${sql}) TO STDOUT`))
  const onAbort = (): void => {
    copy.destroy(cancelledError())
  }
  signal.addEventListener('abort', onAbort, { once: true })
  const { batchBytes } = read.options
  let pending: Buffer[] = []
  let pendingBytes = 0
  try {
    for await (const chunk of copy as AsyncIterable<Buffer>) {
      pending.push(chunk)
      pendingBytes += chunk.length
      if (pendingBytes < batchBytes) continue
      const data = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes)
      const lastNl = data.lastIndexOf(10)
      if (lastNl < 0) {
        pending = [data]
        continue
      }
      const rest = data.subarray(lastNl + 1)
      pending = rest.length > 0 ? [Buffer.from(rest)] : []
      pendingBytes = rest.length
      yield* cut(data.subarray(0, lastNl + 1))
    }
    if (pendingBytes > 0) yield* cut(Buffer.concat(pending, pendingBytes))
  } catch (err) {
    if (signal.aborted) throw cancelledError()
    throw isSluiceError(err) ? err : fromPgError(err)
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}
