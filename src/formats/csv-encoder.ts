import { randomUUID } from 'node:crypto'
import type { RecordBatch } from '../protocol/index.js'
import { airbyteMeta, type ChunkOutput, type EncodeContext, type RecordEncoder } from './record-encoder.js'
import { FLUSH_CHARS } from './jsonl-encoder.js'
import { AIRBYTE_COLUMNS, type DataColumn } from './stream-columns.js'

const NEEDS_QUOTES = /[",\r\n]/

/** One CSV field (RFC 4180): nested values as JSON text, null as an empty field. */
function csvField(value: unknown): string {
  if (value === null || value === undefined) return ''
  const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value)
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/**
 * CSV with a header row: the Airbyte columns, then `_airbyte_data` (JSON text) or, with root-level
 * flattening, one column per top-level schema property (a schema without properties keeps
 * `_airbyte_data`, since there is nothing to flatten into).
 */
export class CsvEncoder implements RecordEncoder {
  readonly backlog = 0
  readonly #output: ChunkOutput
  readonly #ctx: EncodeContext
  readonly #fields: string[] | undefined
  #headerWritten = false

  constructor(output: ChunkOutput, ctx: EncodeContext, flatten: boolean, columns: readonly DataColumn[]) {
    this.#output = output
    this.#ctx = ctx
    this.#fields = flatten && columns.length > 0 ? columns.map((c) => c.name) : undefined
  }

  /** The header, in file order. */
  header(): string[] {
    return [...AIRBYTE_COLUMNS, ...(this.#fields ?? ['_airbyte_data'])]
  }

  async write(batch: RecordBatch): Promise<void> {
    const rows = batch.rows()
    let text = this.#headerWritten ? '' : `${this.header().map(csvField).join(',')}\n`
    this.#headerWritten = true
    const plainMeta = csvField(airbyteMeta(this.#ctx.syncId, undefined))
    const fields = this.#fields
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] ?? {}
      const changes = batch.changes?.get(i)
      const meta = changes ? csvField(airbyteMeta(this.#ctx.syncId, changes)) : plainMeta
      text += `${randomUUID()},${batch.emittedAt},${meta},${this.#ctx.generationId}`
      if (fields) for (const f of fields) text += `,${csvField(row[f])}`
      else text += `,${csvField(JSON.stringify(row))}`
      text += '\n'
      if (text.length >= FLUSH_CHARS) {
        await this.#output(Buffer.from(text))
        text = ''
      }
    }
    if (text) await this.#output(Buffer.from(text))
  }

  async end(): Promise<void> {
    // A part is only opened for a batch, so the header is always written by then.
  }

  destroy(): void {}
}
