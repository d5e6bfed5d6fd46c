import { randomFillSync } from 'node:crypto'
import type { PgCopyText, RecordValue } from '../protocol/index.js'
import { writeUuidHex } from './byte-writers.js'
import { isCopyNull, splitCopyFields, unescapeCopyInto, type CopyFields } from './copy-text.js'
import { ByteSink } from './byte-sink.js'

/**
 * JSON Lines straight from Postgres COPY text: each field's bytes are turned into its JSON text
 * the way the Postgres source decodes it (`copy-text-values.ts`) followed by
 * JSON.stringify, without building a JS value or string per field. Columns whose type has no
 * byte rule here (arrays, money, user types) take the source's decoded value instead.
 */

/** How one COPY column becomes JSON; `value` = use the decoded value from `columns()`/`rows()`. */
export type JsonRule = 'int' | 'int8' | 'numeric' | 'float' | 'bool' | 'timestamp' | 'timestamptz' | 'string' | 'value'

const TEXT_TYPES = /^(text|character varying(\(\d+\))?|character(\(\d+\))?|varchar(\(\d+\))?|char(\(\d+\))?|uuid|json|jsonb|date|citext|name|inet|cidr|macaddr|interval.*|time(\(\d\))? with(out)? time zone)$/

/** The JSON rule of a Postgres type name (`format_type` output). */
export function jsonRuleFor(pgType: string): JsonRule {
  const t = pgType.toLowerCase()
  if (t.endsWith('[]')) return 'value'
  if (t === 'smallint' || t === 'integer' || t === 'oid') return 'int'
  if (t === 'bigint') return 'int8'
  if (/^numeric(\(.*\))?$/.test(t)) return 'numeric'
  if (t === 'real' || t === 'double precision') return 'float'
  if (t === 'boolean') return 'bool'
  if (/^timestamp(\(\d\))? with time zone$/.test(t)) return 'timestamptz'
  if (/^timestamp(\(\d\))? without time zone$/.test(t)) return 'timestamp'
  return TEXT_TYPES.test(t) ? 'string' : 'value'
}

const HEX_DIGITS = Buffer.from('0123456789abcdef')
const NULL_BYTES = Buffer.from('null')
const TRUE_BYTES = Buffer.from('true')
const FALSE_BYTES = Buffer.from('false')

/** JSON string escaping of UTF-8 bytes, matching JSON.stringify (short escapes, else \u00xx). */
function jsonStringInto(out: ByteSink, src: Uint8Array, s: number, e: number): void {
  out.reserve((e - s) * 6 + 2)
  const buf = out.buf
  let pos = out.pos
  buf[pos++] = 34
  for (let i = s; i < e; i++) {
    const b = src[i]!
    if (b >= 0x20 && b !== 34 && b !== 92) {
      buf[pos++] = b
      continue
    }
    buf[pos++] = 92
    switch (b) {
      case 34:
        buf[pos++] = 34
        break
      case 92:
        buf[pos++] = 92
        break
      case 8:
        buf[pos++] = 98
        break
      case 9:
        buf[pos++] = 116
        break
      case 10:
        buf[pos++] = 110
        break
      case 12:
        buf[pos++] = 102
        break
      case 13:
        buf[pos++] = 114
        break
      default:
        buf[pos++] = 117
        buf[pos++] = 48
        buf[pos++] = 48
        buf[pos++] = HEX_DIGITS[b >> 4]!
        buf[pos++] = HEX_DIGITS[b & 15]!
    }
  }
  buf[pos++] = 34
  out.pos = pos
}

function hasBackslash(data: Buffer, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (data[i] === 92) return true
  return false
}

/** Significant digits of a decimal literal (leading and trailing zeros do not count). */
function significantDigits(data: Buffer, s: number, e: number): number {
  let first = -1
  let last = -1
  let count = 0
  for (let i = s; i < e; i++) {
    const b = data[i]!
    if (b >= 48 && b <= 57) {
      if (first < 0 && b === 48) continue
      if (first < 0) first = count
      count++
      if (b !== 48) last = count
    }
  }
  return first < 0 ? 0 : last - first
}

/**
 * Copies a decimal literal that is already what JSON.stringify(Number(literal)) prints, with
 * trailing fraction zeros dropped (`12.50` -> `12.5`, `3.00` -> `3`); returns false when it cannot
 * tell (exponents, 16+ significant digits, |x| < 1e-6 or >= 1e21, -0), so the caller converts.
 * With at most 15 significant digits the literal's digits are the shortest that round-trip.
 */
function plainNumberInto(out: ByteSink, data: Buffer, s: number, e: number): boolean {
  let i = s
  const negative = data[i] === 45
  if (negative) i++
  const intStart = i
  while (i < e && data[i]! >= 48 && data[i]! <= 57) i++
  const intEnd = i
  const intDigits = intEnd - intStart
  if (intDigits === 0 || intDigits > 21 || (intDigits > 1 && data[intStart] === 48)) return false
  let fracEnd = i
  if (i < e) {
    if (data[i] !== 46) return false
    i++
    while (i < e && data[i]! >= 48 && data[i]! <= 57) i++
    if (i !== e) return false
    fracEnd = e
    while (fracEnd > intEnd + 1 && data[fracEnd - 1] === 48) fracEnd--
    if (fracEnd === intEnd + 1) fracEnd = intEnd
  }
  const zeroInt = intDigits === 1 && data[intStart] === 48
  if (zeroInt) {
    if (fracEnd === intEnd) return false
    let zeros = 0
    for (let k = intEnd + 1; k < fracEnd && data[k] === 48; k++) zeros++
    if (zeros >= 6 || fracEnd - intEnd - 1 - zeros > 15) return false
  } else {
    let trailing = 0
    for (let k = intEnd - 1; k > intStart && data[k] === 48; k--) trailing++
    const significant = fracEnd > intEnd ? intDigits + (fracEnd - intEnd - 1) : intDigits - trailing
    if (significant > 15) return false
  }
  out.bytes(data, s, fracEnd)
  return true
}

/** A timestamp as the source prints it: `T` between date and time, `+00` as `Z`. */
function timestampInto(out: ByteSink, data: Buffer, s: number, e: number, utc: boolean): void {
  const zulu = utc && e - s >= 3 && data[e - 3] === 43 && data[e - 2] === 48 && data[e - 1] === 48
  const end = zulu ? e - 3 : e
  out.reserve(end - s + 3)
  out.byte(34)
  const start = out.pos
  out.bytes(data, s, end)
  if (end - s > 10 && data[s + 10] === 32) out.buf[start + 10] = 84
  if (zulu) out.byte(90)
  out.byte(34)
}

/** One field (non-NULL) as JSON, by rule; `scratch` holds unescaped text. */
function fieldInto(out: ByteSink, rule: JsonRule, data: Buffer, s: number, e: number, scratch: ByteSink): void {
  switch (rule) {
    case 'int':
      out.bytes(data, s, e)
      return
    case 'int8': {
      if (e - s <= 15) out.bytes(data, s, e)
      else {
        const n = Number(data.toString('latin1', s, e))
        if (Number.isSafeInteger(n)) out.bytes(data, s, e)
        else jsonStringInto(out, data, s, e)
      }
      return
    }
    case 'numeric': {
      const first = data[s]!
      if (first === 78 || first === 73 || (first === 45 && data[s + 1] === 73)) out.bytes(NULL_BYTES)
      else if (plainNumberInto(out, data, s, e)) return
      else if (significantDigits(data, s, e) <= 15) out.ascii(JSON.stringify(Number(data.toString('latin1', s, e))))
      else jsonStringInto(out, data, s, e)
      return
    }
    case 'float': {
      if (plainNumberInto(out, data, s, e)) return
      const n = Number(data.toString('latin1', s, e))
      if (Number.isFinite(n)) out.ascii(JSON.stringify(n))
      else out.bytes(NULL_BYTES)
      return
    }
    case 'bool':
      out.bytes(data[s] === 116 ? TRUE_BYTES : FALSE_BYTES)
      return
    case 'timestamp':
    case 'timestamptz':
      timestampInto(out, data, s, e, rule === 'timestamptz')
      return
    case 'string':
      if (!hasBackslash(data, s, e)) jsonStringInto(out, data, s, e)
      else {
        scratch.pos = 0
        scratch.reserve(e - s)
        scratch.pos = unescapeCopyInto(data, s, e, scratch.buf, 0)
        jsonStringInto(out, scratch.buf, 0, scratch.pos)
      }
      return
    case 'value':
      return
  }
}

/** Per-batch constants of the Airbyte columns. */
export interface JsonlRowContext {
  emittedAt: number
  meta: string
  generationId: number
  flatten: boolean
}

/**
 * Encodes a COPY text batch as JSONL; undefined when the bytes do not split into the expected
 * rows and columns (the caller then uses `rows()`).
 */
export function encodeCopyJsonl(
  copy: PgCopyText,
  count: number,
  rules: readonly JsonRule[],
  ctx: JsonlRowContext,
  decoded: () => { names: string[]; columns: RecordValue[][] },
): Buffer | undefined {
  const fields: CopyFields | undefined = splitCopyFields(copy.data, copy.columns.length, count)
  if (!fields) return undefined
  const keys = copy.columns.map((name) => Buffer.from(`${JSON.stringify(name)}:`))
  const valueColumns = rules.some((r) => r === 'value') ? decoded() : undefined
  const valueIndex = valueColumns ? copy.columns.map((n) => valueColumns.names.indexOf(n)) : []
  const head = Buffer.from('{"_airbyte_raw_id":"')
  const middle = Buffer.from(
    `","_airbyte_extracted_at":${ctx.emittedAt},"_airbyte_meta":${ctx.meta},"_airbyte_generation_id":${ctx.generationId}${ctx.flatten ? '' : ',"_airbyte_data":{'}`,
  )
  const out = new ByteSink(copy.data.length * 2 + count * (head.length + middle.length + 40))
  const scratch = new ByteSink(4096)
  const random = randomFillSync(Buffer.allocUnsafe(count * 16))
  const { data, starts, ends, columnCount } = fields
  for (let r = 0; r < count; r++) {
    out.bytes(head)
    out.reserve(36)
    out.pos = writeUuidHex(random, r * 16, out.buf, out.pos)
    out.bytes(middle)
    for (let c = 0; c < columnCount; c++) {
      if (c > 0 || ctx.flatten) out.byte(44)
      out.bytes(keys[c]!)
      const f = r * columnCount + c
      const s = starts[f]!
      const e = ends[f]!
      const rule = rules[c]!
      if (rule === 'value') {
        const v = valueColumns!.columns[valueIndex[c]!]?.[r]
        out.ascii(v === undefined ? 'null' : JSON.stringify(v))
      } else if (isCopyNull(data, s, e)) out.bytes(NULL_BYTES)
      else fieldInto(out, rule, data, s, e, scratch)
    }
    if (!ctx.flatten) out.byte(125)
    out.byte(125)
    out.byte(10)
  }
  return out.buf.subarray(0, out.pos)
}
