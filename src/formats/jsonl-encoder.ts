import { randomUUID } from 'node:crypto'
import type { RecordBatch, RecordValue } from '../protocol/index.js'
import { encodeCopyJsonl, type JsonRule, jsonRuleFor } from './copy-text-jsonl.js'
import { encodeRecordLinesJsonl } from './record-lines-jsonl.js'
import { airbyteMeta, type ChunkOutput, type EncodeContext, type RecordEncoder } from './record-encoder.js'

/** Text is handed to the output in pieces of about this many characters. */
export const FLUSH_CHARS = 1 << 20

/**
 * JSON Lines: one object per record with the Airbyte columns, then either `_airbyte_data` or
 * (root-level flattening) the record's own top-level fields. One string per batch, so the cost is
 * one JSON.stringify per row and one Buffer per batch.
 */
export class JsonlEncoder implements RecordEncoder {
  readonly backlog = 0
  readonly #output: ChunkOutput
  readonly #ctx: EncodeContext
  readonly #flatten: boolean

  constructor(output: ChunkOutput, ctx: EncodeContext, flatten: boolean) {
    this.#output = output
    this.#ctx = ctx
    this.#flatten = flatten
  }

  async write(batch: RecordBatch): Promise<void> {
    const fast = this.#fromCopyText(batch) ?? this.#fromRecordLines(batch)
    if (fast) {
      await this.#output(fast)
      return
    }
    const rows = batch.rows()
    const plainMeta = airbyteMeta(this.#ctx.syncId, undefined)
    const tail = `,"_airbyte_generation_id":${this.#ctx.generationId}`
    let text = ''
    for (let i = 0; i < rows.length; i++) {
      const changes = batch.changes?.get(i)
      const meta = changes ? airbyteMeta(this.#ctx.syncId, changes) : plainMeta
      const head = `{"_airbyte_raw_id":"${randomUUID()}","_airbyte_extracted_at":${batch.emittedAt},"_airbyte_meta":${meta}${tail}`
      const data = JSON.stringify(rows[i])
      if (!this.#flatten) text += `${head},"_airbyte_data":${data}}\n`
      else text += data === '{}' ? `${head}}\n` : `${head},${data.slice(1)}\n`
      // Hand over about 1 MB at a time: one huge string per batch made V8's heap balloon.
      if (text.length >= FLUSH_CHARS) {
        await this.#output(Buffer.from(text))
        text = ''
      }
    }
    if (text) await this.#output(Buffer.from(text))
  }

  #rules: { key: string; rules: JsonRule[] } | undefined

  /** The COPY text fast path: same lines as the rows() path, without a JS value per field. */
  #fromCopyText(batch: RecordBatch): Buffer | undefined {
    const copy = batch.pgCopyText
    if (!copy || batch.changes?.size) return undefined
    const key = copy.pgTypes.join('\u0000')
    if (this.#rules?.key !== key) this.#rules = { key, rules: copy.pgTypes.map(jsonRuleFor) }
    const ctx = { emittedAt: batch.emittedAt, meta: airbyteMeta(this.#ctx.syncId, undefined), generationId: this.#ctx.generationId, flatten: this.#flatten }
    return encodeCopyJsonl(copy, batch.count, this.#rules.rules, ctx, () => batch.columns?.() ?? rowsAsColumns(copy.columns, batch))
  }

  /** The Airbyte RECORD lines fast path (external sources): the `data` bytes are copied when canonical. */
  #fromRecordLines(batch: RecordBatch): Buffer | undefined {
    const lines = batch.airbyteRecordLines
    if (!lines || batch.changes?.size) return undefined
    const ctx = { emittedAt: batch.emittedAt, meta: airbyteMeta(this.#ctx.syncId, undefined), generationId: this.#ctx.generationId, flatten: this.#flatten }
    return encodeRecordLinesJsonl(lines, batch.count, ctx, () => batch.rows())
  }

  async end(): Promise<void> {}

  destroy(): void {}
}

function rowsAsColumns(names: string[], batch: RecordBatch): { names: string[]; columns: RecordValue[][] } {
  const rows = batch.rows()
  return { names, columns: names.map((n) => rows.map((r) => r[n])) }
}
