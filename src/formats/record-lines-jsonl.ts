import { randomFillSync } from 'node:crypto'
import type { RecordData } from '../protocol/index.js'
import { RecordLineScanner, forEachLine } from './airbyte-record-lines.js'
import { writeUuidHex } from './byte-writers.js'
import type { JsonlRowContext } from './copy-text-jsonl.js'

const RANDOM_ROWS = 1024
/** A work buffer up to this size is kept for the next batch (one per thread). */
const KEPT_WORK_BYTES = 32 * 1024 * 1024

let work: Buffer | undefined

/**
 * The reused work buffer when `size` fits the kept bound (the encoder is synchronous, so one
 * buffer per thread is enough): a fresh one per batch would be faulted in page by page.
 */
function workBuffer(size: number): Buffer {
  if (size > KEPT_WORK_BYTES) return Buffer.allocUnsafe(size)
  if (work === undefined || work.length < size) work = Buffer.allocUnsafe(Math.max(size, (work?.length ?? 0) * 2, 1 << 16))
  return work
}

/**
 * JSON Lines straight from Airbyte RECORD lines: each record's `data` bytes are copied between
 * the Airbyte columns when they are already what JSON.stringify prints (see
 * `airbyte-record-lines.ts`); other lines take their row from `rows()` (the batch's parsed rows,
 * which also fail on invalid JSON as the row path does). The output is byte for byte the row
 * path's, raw ids aside (random either way).
 *
 * Copies without allocating per record: the lines are first copied once behind the output area
 * of a reused work buffer, so each record's data moves with `copyWithin` (a memmove), and each
 * row's prefix is a copy of the first row's (at 0) whose id is then overwritten; the output is
 * copied out once.
 * `Buffer.copy` of a sub-range made a Uint8Array view per call: about 0.1 µs and garbage per
 * copy, three copies per record.
 */
export function encodeRecordLinesJsonl(input: Buffer, count: number, ctx: JsonlRowContext, rows: () => RecordData[]): Buffer {
  const bytes = input.length
  const head = '{"_airbyte_raw_id":"'
  const prefix = Buffer.from(
    `${head}${'0'.repeat(36)}","_airbyte_extracted_at":${ctx.emittedAt},"_airbyte_meta":${ctx.meta},"_airbyte_generation_id":${ctx.generationId}${ctx.flatten ? '' : ',"_airbyte_data":'}`,
  )
  const perRow = prefix.length + 2
  // Output area [0, room), then a copy of the lines at [room, room + bytes).
  let room = bytes + count * perRow
  let out = workBuffer(room + bytes)
  input.copy(out, room)
  const lines = out.subarray(room, room + bytes)
  let src = room
  let pos = 0
  // Parsed rows (non-canonical lines) may outgrow the output area: grown on demand.
  const reserve = (n: number): void => {
    if (pos + n <= room) return
    const grownRoom = Math.max(room * 2, pos + n)
    const grown = Buffer.allocUnsafe(grownRoom + bytes)
    out.copy(grown, 0, 0, pos)
    lines.copy(grown, grownRoom)
    out = grown
    room = grownRoom
    src = grownRoom
  }
  // Random bytes for the raw ids, drawn for RANDOM_ROWS rows at a time.
  const random = Buffer.allocUnsafe(RANDOM_ROWS * 16)
  const idAt = head.length
  let row = 0
  const scanner = new RecordLineScanner(lines)
  forEachLine(lines, (start, end) => {
    let parsed: Buffer | undefined
    let s = 0
    let e = 0
    if (scanner.scan(start, end)) {
      s = scanner.dataStart
      e = scanner.dataEnd
    } else {
      parsed = Buffer.from(JSON.stringify(rows()[row]))
      e = parsed.length
    }
    reserve(perRow + e - s)
    if (pos === 0) out.set(prefix, 0)
    else out.copyWithin(pos, 0, prefix.length)
    if (row % RANDOM_ROWS === 0) randomFillSync(random)
    writeUuidHex(random, (row++ % RANDOM_ROWS) * 16, out, pos + idAt)
    pos += prefix.length
    // The data object, or in the flatten case its members after a comma (none for `{}`).
    const from = ctx.flatten ? s + 1 : s
    const to = ctx.flatten ? e - 1 : e
    if (ctx.flatten && to > from) out[pos++] = 0x2c
    if (parsed !== undefined) parsed.copy(out, pos, from, to)
    else out.copyWithin(pos, src + from, src + to)
    pos += to - from
    out[pos++] = 0x7d
    out[pos++] = 0x0a
  })
  // The work buffer is reused by the next batch: the output leaves in a buffer of its own.
  return Buffer.from(out.subarray(0, pos))
}
