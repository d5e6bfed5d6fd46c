import { isUtf8 } from 'node:buffer'

/**
 * Airbyte RECORD lines (`RecordBatch.airbyteRecordLines`) read as bytes: where each line's
 * `record.data` object lies, and whether those bytes are already exactly what
 * `JSON.stringify(JSON.parse(line).record.data)` prints. When they are, a writer copies them
 * instead of building a JS object per record; when not (whitespace, an escape JSON.stringify
 * would not write, a number it would print differently, a duplicate or integer-like key, invalid
 * JSON...), the line goes through JSON.parse, so the output is the row path's whatever the input.
 */

/** Nesting deeper than this is left to JSON.parse. */
const MAX_DEPTH = 64
/** Objects with more keys than this check duplicates with a Set instead of a linear scan. */
const LINEAR_KEYS = 16

const QUOTE = 0x22
const BACKSLASH = 0x5c

function isWs(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09
}

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30
  if (b >= 0x61 && b <= 0x66) return b - 0x61 + 10
  if (b >= 0x41 && b <= 0x46) return b - 0x41 + 10
  return -1
}

/** `record` and `data` as key bytes (keys at the two envelope levels are compared raw). */
const RECORD_KEY = Buffer.from('record')
const DATA_KEY = Buffer.from('data')

/**
 * A reusable scanner over one batch. `scan(start, end)` classifies the line [start, end) and
 * sets `dataStart`/`dataEnd`. It stops at the first byte of `data` JSON.stringify would not
 * print: such a line is parsed anyway, which also validates the rest.
 */
export class RecordLineScanner {
  readonly #buf: Buffer
  readonly #utf8: boolean
  #pos = 0
  #end = 0
  /** Inside `data`: non-canonical bytes clear this. */
  #canonical = true
  #inData = false
  /** Hash (of keys in data) and escape flag of the last string read. */
  #hash = 0
  #escaped = false
  /** Key hashes of the objects being read, one list per depth. */
  readonly #keys: number[][] = []
  dataStart = 0
  dataEnd = 0
  /**
   * With `recordFields`: the entries of the last canonical `data` object, in line order. For
   * entry i: its key's bytes [fieldKeyStart[i], fieldKeyEnd[i]) (between the quotes; 1 in
   * fieldKeyEscaped when the key holds an escape), its value's [fieldValueStart[i],
   * fieldValueEnd[i]) (a string with its quotes; 1 in fieldValueEscaped when it holds an escape).
   */
  readonly recordFields: boolean
  fieldCount = 0
  fieldKeyStart = new Int32Array(16)
  fieldKeyEnd = new Int32Array(16)
  fieldKeyEscaped = new Uint8Array(16)
  fieldValueStart = new Int32Array(16)
  fieldValueEnd = new Int32Array(16)
  fieldValueEscaped = new Uint8Array(16)

  constructor(buf: Buffer, recordFields = false) {
    this.#buf = buf
    // Invalid UTF-8 becomes U+FFFD in a parsed string: such batches copy no non-ASCII byte.
    this.#utf8 = isUtf8(buf)
    this.recordFields = recordFields
  }

  get buffer(): Buffer {
    return this.#buf
  }

  /**
   * True when the line's `data` is an object whose bytes [dataStart, dataEnd) are canonical;
   * false for anything else: the caller parses the line (which also reports invalid JSON as the
   * row path does).
   */
  scan(start: number, end: number): boolean {
    this.#pos = start
    this.#end = end
    this.#canonical = true
    this.#inData = false
    this.dataStart = -1
    this.fieldCount = 0
    return this.#envelope() && this.dataStart >= 0 && this.#canonical
  }

  /** Keeps one entry of `data` (`recordFields`). */
  #addField(keyStart: number, keyEnd: number, keyEscaped: boolean, valueStart: number, valueEnd: number, valueEscaped: boolean): void {
    const i = this.fieldCount++
    if (i === this.fieldKeyStart.length) {
      const grow = <T extends Int32Array | Uint8Array>(a: T): T => {
        const bigger = new (a.constructor as new (n: number) => T)(a.length * 2)
        bigger.set(a)
        return bigger
      }
      this.fieldKeyStart = grow(this.fieldKeyStart)
      this.fieldKeyEnd = grow(this.fieldKeyEnd)
      this.fieldKeyEscaped = grow(this.fieldKeyEscaped)
      this.fieldValueStart = grow(this.fieldValueStart)
      this.fieldValueEnd = grow(this.fieldValueEnd)
      this.fieldValueEscaped = grow(this.fieldValueEscaped)
    }
    this.fieldKeyStart[i] = keyStart
    this.fieldKeyEnd[i] = keyEnd
    this.fieldKeyEscaped[i] = keyEscaped ? 1 : 0
    this.fieldValueStart[i] = valueStart
    this.fieldValueEnd[i] = valueEnd
    this.fieldValueEscaped[i] = valueEscaped ? 1 : 0
  }

  #ws(): void {
    const buf = this.#buf
    let pos = this.#pos
    while (pos < this.#end && buf[pos]! <= 0x20 && isWs(buf[pos]!)) pos++
    if (pos !== this.#pos) this.#departs()
    this.#pos = pos
  }

  /** Bytes inside data that JSON.stringify would not print: the line goes through JSON.parse. */
  #departs(): void {
    if (this.#inData) this.#canonical = false
  }

  #peek(): number {
    return this.#pos < this.#end ? this.#buf[this.#pos]! : -1
  }

  #keyIs(start: number, key: Buffer): boolean {
    if (this.#escaped || this.#pos - 1 - start !== key.length) return false
    const buf = this.#buf
    for (let i = 0; i < key.length; i++) if (buf[start + i] !== key[i]) return false
    return true
  }

  /** The message object: one `record` object with one `data` object in it; other keys are only validated. */
  #envelope(): boolean {
    this.#ws()
    if (this.#peek() !== 0x7b) return false
    this.#pos++
    let records = 0
    this.#ws()
    if (this.#peek() === 0x7d) this.#pos++
    else {
      for (;;) {
        this.#ws()
        if (this.#peek() !== QUOTE) return false
        const keyStart = this.#pos + 1
        if (!this.#string(false)) return false
        // An escaped key might spell `record`: let JSON.parse decide.
        if (this.#escaped) return false
        const isRecord = this.#keyIs(keyStart, RECORD_KEY)
        this.#ws()
        if (this.#peek() !== 0x3a) return false
        this.#pos++
        this.#ws()
        if (isRecord) {
          if (++records > 1 || !this.#record()) return false
        } else if (!this.#value(1)) return false
        this.#ws()
        const c = this.#peek()
        this.#pos++
        if (c === 0x7d) break
        if (c !== 0x2c) return false
      }
    }
    this.#ws()
    return this.#pos === this.#end
  }

  #record(): boolean {
    if (this.#peek() !== 0x7b) return false
    this.#pos++
    let datas = 0
    this.#ws()
    if (this.#peek() === 0x7d) {
      this.#pos++
      return true
    }
    for (;;) {
      this.#ws()
      if (this.#peek() !== QUOTE) return false
      const keyStart = this.#pos + 1
      if (!this.#string(false)) return false
      if (this.#escaped) return false
      const isData = this.#keyIs(keyStart, DATA_KEY)
      this.#ws()
      if (this.#peek() !== 0x3a) return false
      this.#pos++
      this.#ws()
      if (isData) {
        if (++datas > 1 || this.#peek() !== 0x7b) return false
        this.dataStart = this.#pos
        this.#inData = true
        const ok = this.#object(2)
        this.#inData = false
        if (!ok) return false
        this.dataEnd = this.#pos
      } else if (!this.#value(2)) return false
      this.#ws()
      const c = this.#peek()
      this.#pos++
      if (c === 0x7d) return true
      if (c !== 0x2c) return false
    }
  }

  #value(depth: number): boolean {
    switch (this.#peek()) {
      case 0x7b:
        return this.#object(depth + 1)
      case 0x5b:
        return this.#array(depth + 1)
      case QUOTE:
        return this.#string(false)
      case 0x74:
        return this.#literal('true')
      case 0x66:
        return this.#literal('false')
      case 0x6e:
        return this.#literal('null')
      default:
        return this.#number()
    }
  }

  #literal(text: string): boolean {
    const buf = this.#buf
    if (this.#pos + text.length > this.#end) return false
    for (let i = 0; i < text.length; i++) if (buf[this.#pos + i] !== text.charCodeAt(i)) return false
    this.#pos += text.length
    return true
  }

  #object(depth: number): boolean {
    if (depth > MAX_DEPTH) return false
    this.#pos++
    this.#ws()
    if (this.#peek() === 0x7d) {
      this.#pos++
      return true
    }
    const keys = (this.#keys[depth] ??= [])
    keys.length = 0
    let set: Set<number> | undefined
    // `data` itself is the only object at depth 2 inside data.
    const record = this.recordFields && this.#inData && depth === 2
    for (;;) {
      this.#ws()
      if (this.#peek() !== QUOTE) return false
      const keyStart = this.#pos + 1
      if (!this.#string(this.#inData)) return false
      const keyEnd = this.#pos - 1
      const keyEscaped = this.#escaped
      if (this.#inData) this.#checkKey(keyStart, keyEnd, keys, set)
      if (keys.length > LINEAR_KEYS && set === undefined) set = new Set(keys)
      this.#ws()
      if (this.#peek() !== 0x3a) return false
      this.#pos++
      this.#ws()
      const valueStart = this.#pos
      // Past a departure from canonical bytes (only inside data), the rest is JSON.parse's.
      if (!this.#value(depth) || !this.#canonical) return false
      if (record) this.#addField(keyStart, keyEnd, keyEscaped, valueStart, this.#pos, this.#buf[valueStart] === QUOTE && this.#escaped)
      this.#ws()
      const c = this.#peek()
      this.#pos++
      if (c === 0x7d) return true
      if (c !== 0x2c) return false
    }
  }

  /** Duplicate keys (JSON.parse keeps the last) and integer-like keys (JS orders them first) are not canonical. */
  #checkKey(start: number, end: number, keys: number[], set: Set<number> | undefined): void {
    const buf = this.#buf
    let digits = start
    while (digits < end && buf[digits]! >= 0x30 && buf[digits]! <= 0x39) digits++
    if (digits === end && end > start) this.#canonical = false
    const h = this.#hash
    if (set !== undefined) {
      if (set.has(h)) this.#canonical = false
      set.add(h)
    } else {
      for (let i = 0; i < keys.length; i++) if (keys[i] === h) this.#canonical = false
    }
    keys.push(h)
  }

  #array(depth: number): boolean {
    if (depth > MAX_DEPTH) return false
    this.#pos++
    this.#ws()
    if (this.#peek() === 0x5d) {
      this.#pos++
      return true
    }
    for (;;) {
      this.#ws()
      if (!this.#value(depth) || !this.#canonical) return false
      this.#ws()
      const c = this.#peek()
      this.#pos++
      if (c === 0x5d) return true
      if (c !== 0x2c) return false
    }
  }

  /**
   * A string at the opening quote; leaves `#escaped` and, with `hash`, `#hash` (of its raw
   * bytes). Canonical escapes are those JSON.stringify writes: `\"`, `\\`, `\b`, `\f`, `\n`,
   * `\r`, `\t` and `\u00xx` (lowercase) for the other control characters.
   */
  #string(hash: boolean): boolean {
    const buf = this.#buf
    const end = this.#end
    let pos = this.#pos + 1
    let h = 0
    let escaped = false
    let high = 0
    for (;;) {
      if (pos >= end) return false
      const b = buf[pos]!
      if (b === QUOTE) break
      if (b === BACKSLASH) {
        escaped = true
        const next = this.#escape(pos)
        if (next < 0) return false
        // Canonical text has one spelling per string: raw bytes, escapes included, tell keys apart.
        if (hash) for (let k = pos; k < next; k++) h = (Math.imul(h, 31) + buf[k]!) | 0
        pos = next
        continue
      }
      if (b < 0x20) return false
      high |= b
      if (hash) h = (Math.imul(h, 31) + b) | 0
      pos++
    }
    // Invalid UTF-8 becomes U+FFFD once parsed: only a valid batch copies non-ASCII bytes.
    if (high >= 0x80 && !this.#utf8) this.#departs()
    this.#pos = pos + 1
    this.#hash = h
    this.#escaped = escaped
    return true
  }

  /** The escape at `pos` (a backslash): the position after it, or -1 when it is invalid JSON. */
  #escape(pos: number): number {
    const buf = this.#buf
    const e = buf[pos + 1]
    if (e === 0x22 || e === 0x5c || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) return pos + 2
    if (e === 0x2f) {
      this.#departs()
      return pos + 2
    }
    if (e !== 0x75 || pos + 6 > this.#end) return -1
    let code = 0
    for (let k = 2; k < 6; k++) {
      const d = buf[pos + k]!
      const v = hexValue(d)
      if (v < 0) return -1
      if (d >= 0x41 && d <= 0x46) this.#departs()
      code = code * 16 + v
    }
    // JSON.stringify writes \u00xx only for controls without a short escape.
    if (code >= 0x20 || code === 8 || code === 9 || code === 10 || code === 12 || code === 13) this.#departs()
    return pos + 6
  }

  /**
   * A JSON number. Canonical when JSON.stringify(Number(text)) is the text: no exponent, no
   * `-0`, no trailing fraction zero, at most 15 significant digits (then the literal's digits are
   * the shortest that round-trip), and a magnitude printed without exponent (1e-6 <= |x| < 1e21).
   */
  #number(): boolean {
    const buf = this.#buf
    const end = this.#end
    let pos = this.#pos
    const negative = buf[pos] === 0x2d
    if (negative) pos++
    const intStart = pos
    while (pos < end && buf[pos]! >= 0x30 && buf[pos]! <= 0x39) pos++
    const intDigits = pos - intStart
    if (intDigits === 0 || (intDigits > 1 && buf[intStart] === 0x30)) return false
    const zeroInt = intDigits === 1 && buf[intStart] === 0x30
    let fracDigits = 0
    let fracLeadingZeros = 0
    let lastFrac = 0
    if (buf[pos] === 0x2e) {
      pos++
      const fracStart = pos
      while (pos < end && buf[pos]! >= 0x30 && buf[pos]! <= 0x39) pos++
      fracDigits = pos - fracStart
      if (fracDigits === 0) return false
      lastFrac = buf[pos - 1]!
      while (fracLeadingZeros < fracDigits && buf[fracStart + fracLeadingZeros] === 0x30) fracLeadingZeros++
    }
    if (buf[pos] === 0x65 || buf[pos] === 0x45) {
      pos++
      if (buf[pos] === 0x2b || buf[pos] === 0x2d) pos++
      const expStart = pos
      while (pos < end && buf[pos]! >= 0x30 && buf[pos]! <= 0x39) pos++
      if (pos === expStart) return false
      this.#departs()
    }
    this.#pos = pos
    if (!this.#inData || !this.#canonical) return true
    if (fracDigits > 0 && lastFrac === 0x30) this.#canonical = false
    else if (zeroInt) {
      // 0, or 0.000ddd: below 1e-6 JSON.stringify switches to an exponent.
      if (fracDigits === 0) {
        if (negative) this.#canonical = false
      } else if (fracLeadingZeros >= 6 || fracDigits - fracLeadingZeros > 15) this.#canonical = false
    } else {
      let trailing = 0
      if (fracDigits === 0) for (let k = pos - 1; k > intStart && buf[k] === 0x30; k--) trailing++
      const significant = fracDigits > 0 ? intDigits + fracDigits : intDigits - trailing
      if (significant > 15 || intDigits > 21) this.#canonical = false
    }
    return true
  }
}

/** Calls `line(start, end)` for each line of a batch (each ends in a newline; empty lines skipped). */
export function forEachLine(lines: Buffer, line: (start: number, end: number) => void): void {
  let start = 0
  while (start < lines.length) {
    let nl = lines.indexOf(0x0a, start)
    if (nl < 0) nl = lines.length
    if (nl > start) line(start, nl)
    start = nl + 1
  }
}
