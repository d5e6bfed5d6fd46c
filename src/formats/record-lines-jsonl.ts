import { randomFillSync } from 'node:crypto'
import type { RecordData } from '../protocol/index.js'
import { RecordLineScanner, forEachLine } from './airbyte-record-lines.js'
import { writeUuidHex } from './byte-writers.js'
import type { JsonlRowContext } from './copy-text-jsonl.js'

const RANDOM_ROWS = 1024

/**
 * JSON Lines straight from Airbyte RECORD lines: each record's `data` bytes are copied between
 * the Airbyte columns when they are already what JSON.stringify prints (see
 * `airbyte-record-lines.ts`); other lines take their row from `rows()` (the batch's parsed rows,
 * which also fail on invalid JSON as the row path does). The output is byte for byte the row
 * path's, raw ids aside (random either way).
 */
export function encodeRecordLinesJsonl(lines: Buffer, count: number, ctx: JsonlRowContext, rows: () => RecordData[]): Buffer {
  const head = Buffer.from('{"_airbyte_raw_id":"')
  const middle = Buffer.from(
    `","_airbyte_extracted_at":${ctx.emittedAt},"_airbyte_meta":${ctx.meta},"_airbyte_generation_id":${ctx.generationId}${ctx.flatten ? '' : ',"_airbyte_data":'}`,
  )
  const perRow = head.length + 36 + middle.length + 3
  let out = Buffer.allocUnsafe(lines.length + count * perRow)
  let pos = 0
  const reserve = (n: number): void => {
    if (pos + n <= out.length) return
    const grown = Buffer.allocUnsafe(Math.max(out.length * 2, pos + n))
    out.copy(grown, 0, 0, pos)
    out = grown
  }
  // Random bytes for the raw ids, drawn for RANDOM_ROWS rows at a time.
  const random = Buffer.allocUnsafe(RANDOM_ROWS * 16)
  let row = 0
  const scanner = new RecordLineScanner(lines)
  forEachLine(lines, (start, end) => {
    let data: Buffer = lines
    let s: number
    let e: number
    if (scanner.scan(start, end)) {
      s = scanner.dataStart
      e = scanner.dataEnd
    } else {
      data = Buffer.from(JSON.stringify(rows()[row]))
      s = 0
      e = data.length
    }
    reserve(perRow + e - s)
    if (row % RANDOM_ROWS === 0) randomFillSync(random)
    pos += head.copy(out, pos)
    pos = writeUuidHex(random, (row++ % RANDOM_ROWS) * 16, out, pos)
    pos += middle.copy(out, pos)
    if (!ctx.flatten) {
      pos += data.copy(out, pos, s, e)
      out[pos++] = 0x7d
    } else if (e - s === 2) out[pos++] = 0x7d
    else {
      out[pos++] = 0x2c
      pos += data.copy(out, pos, s + 1, e)
    }
    out[pos++] = 0x0a
  })
  return out.subarray(0, pos)
}
