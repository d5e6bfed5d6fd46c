import { PyDateTime, PyDuration } from './py-datetime.js'

/**
 * Python value semantics the CDK's Jinja templates rely on: truthiness (`not {}` is True),
 * `str()` output (`True`, `None`, `['a', 'b']`) and `ast.literal_eval` of rendered text.
 */

/** Python truthiness: empty containers, '', 0, None and False are false. */
export function pyTruthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false
  if (Number.isNaN(v)) return false
  if (Array.isArray(v)) return v.length > 0
  if (v instanceof PyDuration) return v.us !== 0 || v.months !== 0
  if (typeof v === 'object' && !(v instanceof PyDateTime)) return Object.keys(v).length > 0
  return true
}

/** Python `repr()` of a value (strings quoted). */
export function pyRepr(v: unknown): string {
  if (typeof v === 'string') {
    const q = v.includes("'") && !v.includes('"') ? '"' : "'"
    const body = v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')
    return q + (q === "'" ? body.replace(/'/g, "\\'") : body) + q
  }
  if (v instanceof PyDateTime) return `datetime(${v.toString()})`
  return pyStr(v)
}

/** Python `str()` of a value, as Jinja prints it. */
export function pyStr(v: unknown): string {
  if (v === undefined) return ''
  if (v === null) return 'None'
  if (v === true) return 'True'
  if (v === false) return 'False'
  if (typeof v === 'string') return v
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : v > 0 ? 'inf' : v < 0 ? '-inf' : 'nan'
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`
  if (v instanceof PyDateTime || v instanceof PyDuration) return v.toString()
  if (typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(', ')}}`
  }
  return String(v)
}

class LiteralParser {
  #i = 0
  constructor(private readonly s: string) {}

  parse(): unknown {
    const v = this.value()
    this.ws()
    if (this.#i !== this.s.length) throw new Error('trailing text')
    return v
  }

  private ws(): void {
    while (this.#i < this.s.length && /\s/.test(this.s[this.#i] as string)) this.#i++
  }

  private value(): unknown {
    this.ws()
    const c = this.s[this.#i]
    if (c === undefined) throw new Error('unexpected end')
    if (c === '[' || c === '(') return this.seq(c === '[' ? ']' : ')')
    if (c === '{') return this.dict()
    if (c === "'" || c === '"') return this.str()
    const rest = this.s.slice(this.#i)
    const word = /^(True|False|None)\b/.exec(rest)
    if (word) {
      this.#i += word[0].length
      return word[0] === 'True' ? true : word[0] === 'False' ? false : null
    }
    const num = /^[+-]?(\d[\d_]*)?(\.\d*)?([eE][+-]?\d+)?/.exec(rest)
    if (num && num[0] && /\d/.test(num[0]) && !/^[+-]?0\d/.test(num[0])) {
      this.#i += num[0].length
      return Number(num[0].replace(/_/g, ''))
    }
    throw new Error('not a literal')
  }

  private seq(close: string): unknown[] {
    this.#i++
    const out: unknown[] = []
    for (;;) {
      this.ws()
      if (this.s[this.#i] === close) {
        this.#i++
        return out
      }
      out.push(this.value())
      this.ws()
      if (this.s[this.#i] === ',') this.#i++
      else if (this.s[this.#i] !== close) throw new Error('bad sequence')
    }
  }

  private dict(): Record<string, unknown> {
    this.#i++
    const out: Record<string, unknown> = {}
    for (;;) {
      this.ws()
      if (this.s[this.#i] === '}') {
        this.#i++
        return out
      }
      const k = this.value()
      this.ws()
      if (this.s[this.#i++] !== ':') throw new Error('bad dict')
      out[pyStr(k)] = this.value()
      this.ws()
      if (this.s[this.#i] === ',') this.#i++
      else if (this.s[this.#i] !== '}') throw new Error('bad dict')
    }
  }

  private str(): string {
    const q = this.s[this.#i++] as string
    let out = ''
    while (this.#i < this.s.length) {
      const c = this.s[this.#i++] as string
      if (c === q) return out
      if (c === '\\') {
        const e = this.s[this.#i++]
        out += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : (e ?? '')
      } else out += c
    }
    throw new Error('unterminated string')
  }
}

/**
 * Python `ast.literal_eval` on rendered template text: `"42"` -> 42, `"True"` -> true,
 * `"['a']"` -> ['a']. Text that is not a literal is returned unchanged.
 */
export function literalEval(text: string): unknown {
  const t = text.trim()
  if (t === '') return text
  // Fast path: most rendered values are plain words or URLs, which are never literals.
  if (!/^[-+\d.[({'"TFN]/.test(t)) return text
  try {
    return new LiteralParser(t).parse()
  } catch {
    return text
  }
}
