import { createHash, createHmac, randomUUID } from 'node:crypto'
import nunjucks from 'nunjucks'
import { configError, type SluiceError } from '../../../errors.js'
import { PyDateTime, PyDuration, parseIsoDateTime, parseIsoDuration, strptime } from './py-datetime.js'
import { literalEval, pyRepr, pyStr, pyTruthy } from './py-values.js'

/**
 * Jinja interpolation for manifests, on nunjucks (a maintained Jinja-compatible engine) with:
 * - a sandbox: member access is whitelisted (own data properties and the Python methods below),
 *   so `constructor`, `__proto__` and prototype chains are unreachable; no loaders (no
 *   include/import of files); no globals besides the CDK macros; no `process`, `require`, env.
 * - Python semantics the CDK templates rely on: truthiness, `str()` output, datetime arithmetic,
 *   `dict.get`, `str.split/join/...`, `True/False/None`, slicing.
 * The nunjucks runtime and compiler are patched once per process; sluice has no other nunjucks
 * user (documented in docs/declarative.md).
 */

/** Variables visible to one template evaluation. */
export type TemplateContext = Record<string, unknown>

type Fn = (...args: unknown[]) => unknown
type Runtime = Record<string, unknown> & {
  memberLookup: Fn
  contextOrFrameLookup: Fn
  suppressValue: Fn
}

/** Marker for "no default given": evaluation errors then propagate as undefined. */
const NO_DEFAULT = Symbol('no-default')

function ownGet(obj: object, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(obj, key) ? (obj as Record<string, unknown>)[key] : undefined
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false
  const p = Object.getPrototypeOf(v)
  return p === Object.prototype || p === null
}

function pySplit(s: string, sep?: unknown, maxsplit?: unknown): string[] {
  const max = typeof maxsplit === 'number' && maxsplit >= 0 ? maxsplit : Infinity
  if (sep === undefined || sep === null) {
    const parts = s.trim().split(/\s+/).filter((x) => x !== '')
    if (max === Infinity || parts.length <= max + 1) return parts
    return [...parts.slice(0, max), parts.slice(max).join(' ')]
  }
  const all = s.split(String(sep))
  if (max === Infinity || all.length <= max + 1) return all
  return [...all.slice(0, max), all.slice(max).join(String(sep))]
}

function stripChars(s: string, chars: unknown, left: boolean, right: boolean): string {
  if (chars === undefined || chars === null) return left && right ? s.trim() : left ? s.trimStart() : s.trimEnd()
  const set = new Set(String(chars))
  let a = 0
  let b = s.length
  if (left) while (a < b && set.has(s[a] as string)) a++
  if (right) while (b > a && set.has(s[b - 1] as string)) b--
  return s.slice(a, b)
}

function pyFormat(s: string, args: unknown[]): string {
  let auto = 0
  const kw = args.length && isPlainObject(args[args.length - 1]) && ownGet(args[args.length - 1] as object, '__keywords') ? (args.pop() as Record<string, unknown>) : {}
  return s.replace(/\{([^{}]*)\}/g, (_m, name: string) => {
    if (name === '') return pyStr(args[auto++])
    if (/^\d+$/.test(name)) return pyStr(args[Number(name)])
    return pyStr(ownGet(kw, name))
  })
}

const STR_METHODS: Record<string, (s: string, ...a: unknown[]) => unknown> = {
  split: (s, sep, max) => pySplit(s, sep, max),
  rsplit: (s, sep, max) => pySplit(s, sep, max),
  join: (s, items) => (Array.isArray(items) ? items : Object.keys((items as object) ?? {})).map((x) => pyStr(x)).join(s),
  strip: (s, c) => stripChars(s, c, true, true),
  lstrip: (s, c) => stripChars(s, c, true, false),
  rstrip: (s, c) => stripChars(s, c, false, true),
  lower: (s) => s.toLowerCase(),
  upper: (s) => s.toUpperCase(),
  title: (s) => s.toLowerCase().replace(/(^|[^a-z])([a-z])/g, (_m, a: string, b: string) => a + b.toUpperCase()),
  capitalize: (s) => s.charAt(0).toUpperCase() + s.slice(1).toLowerCase(),
  startswith: (s, p) => (Array.isArray(p) ? p.some((x) => s.startsWith(String(x))) : s.startsWith(String(p))),
  endswith: (s, p) => (Array.isArray(p) ? p.some((x) => s.endsWith(String(x))) : s.endsWith(String(p))),
  replace: (s, a, b, count) => {
    if (typeof count === 'number' && count >= 0) {
      let out = s
      let from = 0
      for (let i = 0; i < count; i++) {
        const at = out.indexOf(String(a), from)
        if (at < 0) break
        out = out.slice(0, at) + String(b) + out.slice(at + String(a).length)
        from = at + String(b).length
      }
      return out
    }
    return s.split(String(a)).join(String(b))
  },
  format: (s, ...a) => pyFormat(s, a),
  find: (s, x) => s.indexOf(String(x)),
  count: (s, x) => s.split(String(x)).length - 1,
  isdigit: (s) => /^\d+$/.test(s),
  isnumeric: (s) => /^\d+$/.test(s),
  zfill: (s, w) => s.padStart(Number(w), '0'),
  encode: (s) => s,
  decode: (s) => s,
}

const DICT_METHODS: Record<string, (d: Record<string, unknown>, ...a: unknown[]) => unknown> = {
  get: (d, k, dflt) => {
    const v = ownGet(d, String(k))
    return v === undefined ? (dflt === undefined ? null : dflt) : v
  },
  items: (d) => Object.entries(d),
  keys: (d) => Object.keys(d),
  values: (d) => Object.values(d),
}

const LIST_METHODS: Record<string, (l: unknown[], ...a: unknown[]) => unknown> = {
  index: (l, x) => l.indexOf(x),
  count: (l, x) => l.filter((y) => y === x).length,
}

const DATETIME_METHODS = new Set(['strftime', 'isoformat', 'timestamp', 'weekday', 'date', 'replace', 'astimezone', 'total_seconds'])

function sliceOf(obj: unknown, start: number | null, stop: number | null, step: number | null): unknown {
  const seq: unknown[] | string = typeof obj === 'string' ? obj : Array.isArray(obj) ? obj : []
  const n = seq.length
  const st = step ?? 1
  const norm = (i: number | null, dflt: number): number => (i === null ? dflt : i < 0 ? Math.max(0, i + n) : Math.min(i, n))
  const out: unknown[] = []
  if (st > 0) for (let i = norm(start, 0); i < norm(stop, n); i += st) out.push(seq[i])
  else for (let i = start === null ? n - 1 : norm(start, n - 1); i > (stop === null ? -1 : norm(stop, -1)); i += st) out.push(seq[i])
  return typeof obj === 'string' ? out.join('') : out
}

/** The sandboxed member lookup: only data and whitelisted Python methods are reachable. */
function safeMemberLookup(obj: unknown, key: unknown, ...rest: unknown[]): unknown {
  if (rest.length === 2) return sliceOf(obj, key as number | null, rest[0] as number | null, rest[1] as number | null)
  if (obj === null || obj === undefined) return undefined
  if (typeof key === 'number' || (typeof key === 'string' && /^-?\d+$/.test(key))) {
    if (typeof obj === 'string' || Array.isArray(obj)) {
      const i = Number(key)
      return obj[i < 0 ? obj.length + i : i]
    }
  }
  const k = String(key)
  if (typeof obj === 'string') {
    const m = STR_METHODS[k]
    return m && Object.prototype.hasOwnProperty.call(STR_METHODS, k) ? (...a: unknown[]) => m(obj, ...a) : undefined
  }
  if (Array.isArray(obj)) {
    const m = LIST_METHODS[k]
    return m && Object.prototype.hasOwnProperty.call(LIST_METHODS, k) ? (...a: unknown[]) => m(obj, ...a) : undefined
  }
  if (obj instanceof PyDateTime || obj instanceof PyDuration) {
    if (DATETIME_METHODS.has(k) && typeof (obj as unknown as Record<string, unknown>)[k] === 'function') {
      return (...a: unknown[]) => ((obj as unknown as Record<string, Fn>)[k] as Fn).apply(obj, a)
    }
    if (obj instanceof PyDateTime) {
      const f = obj.fields()
      const attrs: Record<string, number> = { year: f.year, month: f.month, day: f.day, hour: f.hour, minute: f.minute, second: f.second, microsecond: f.micro }
      return ownGet(attrs, k)
    }
    if (k === 'days') return Math.floor(obj.us / 86_400_000_000)
    if (k === 'seconds') return Math.floor((obj.us % 86_400_000_000) / 1_000_000)
    return undefined
  }
  if (isPlainObject(obj)) {
    const own = ownGet(obj, k)
    if (own !== undefined && typeof own !== 'function') return own
    const m = DICT_METHODS[k]
    if (m && Object.prototype.hasOwnProperty.call(DICT_METHODS, k)) return (...a: unknown[]) => m(obj, ...a)
    return undefined
  }
  return undefined
}

function pyAdd(a: unknown, b: unknown): unknown {
  if (a instanceof PyDateTime && b instanceof PyDuration) return a.add(b)
  if (a instanceof PyDuration && b instanceof PyDateTime) return b.add(a)
  if (a instanceof PyDuration && b instanceof PyDuration) return new PyDuration(a.us + b.us, a.months + b.months)
  if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b]
  return (a as number) + (b as number)
}

function pySub(a: unknown, b: unknown): unknown {
  if (a instanceof PyDateTime && b instanceof PyDuration) return a.add(b.negate())
  if (a instanceof PyDateTime && b instanceof PyDateTime) return new PyDuration(a.us - b.us)
  if (a instanceof PyDuration && b instanceof PyDuration) return new PyDuration(a.us - b.us, a.months - b.months)
  return (a as number) - (b as number)
}

let installed = false

type ParserNode = { lineno: number; colno: number; children: unknown[]; addChild(n: unknown): void }
type ParserThis = {
  parseOr(): ParserNode
  parseInlineIf(): ParserNode
  parseExpression(): ParserNode
  parsePrimary(): ParserNode
  skipSymbol(s: string): boolean
  skip(type: string): boolean
  nextToken(): { type: string; lineno: number; colno: number }
  peekToken(): { type: string }
  fail(msg: string, lineno?: number, colno?: number): never
}

/**
 * Python Jinja syntax nunjucks' parser lacks: chained conditionals (`a if x else b if y else c`,
 * right-associative as in Python) and a trailing comma in list, tuple and dict literals
 * (`[a, b,]`). These replace two methods of nunjucks' Parser, which is why nunjucks is pinned to
 * an exact version (test/connectors/declarative/nunjucks-internals.test.ts checks the internals).
 */
function installParserPatches(): void {
  const n = nunjucks as unknown as {
    parser: { Parser: { prototype: Record<string, unknown> } }
    lexer: Record<string, string>
    nodes: Record<string, new (lineno: number, colno: number, ...a: unknown[]) => ParserNode>
  }
  const proto = n.parser.Parser.prototype
  const { nodes, lexer } = n
  proto.parseInlineIf = function (this: ParserThis): ParserNode {
    let node = this.parseOr()
    if (this.skipSymbol('if')) {
      const cond = this.parseOr()
      const body = node
      const inline = new (nodes.InlineIf as new (l: number, c: number) => ParserNode & Record<string, unknown>)(node.lineno, node.colno)
      inline.body = body
      inline.cond = cond
      // Python: the else branch is itself a conditional expression.
      inline.else_ = this.skipSymbol('else') ? this.parseInlineIf() : null
      node = inline
    }
    return node
  }
  const closers = new Set([lexer.TOKEN_RIGHT_PAREN, lexer.TOKEN_RIGHT_BRACKET, lexer.TOKEN_RIGHT_CURLY])
  proto.parseAggregate = function (this: ParserThis): ParserNode | null {
    const tok = this.nextToken()
    let node: ParserNode
    let isDict = false
    if (tok.type === lexer.TOKEN_LEFT_PAREN) node = new (nodes.Group as new (l: number, c: number) => ParserNode)(tok.lineno, tok.colno)
    else if (tok.type === lexer.TOKEN_LEFT_BRACKET) node = new (nodes.Array as new (l: number, c: number) => ParserNode)(tok.lineno, tok.colno)
    else if (tok.type === lexer.TOKEN_LEFT_CURLY) {
      node = new (nodes.Dict as new (l: number, c: number) => ParserNode)(tok.lineno, tok.colno)
      isDict = true
    } else return null
    for (;;) {
      if (closers.has(this.peekToken().type)) {
        this.nextToken()
        break
      }
      if (node.children.length > 0) {
        if (!this.skip(lexer.TOKEN_COMMA as string)) this.fail('parseAggregate: expected comma after expression', tok.lineno, tok.colno)
        // A trailing comma before the closing bracket is valid Python.
        if (closers.has(this.peekToken().type)) {
          this.nextToken()
          break
        }
      }
      if (isDict) {
        const key = this.parsePrimary()
        if (!this.skip(lexer.TOKEN_COLON as string)) this.fail('parseAggregate: expected colon after dict key', tok.lineno, tok.colno)
        node.addChild(new (nodes.Pair as new (l: number, c: number, k: unknown, v: unknown) => ParserNode)(key.lineno, key.colno, key, this.parseExpression()))
      } else node.addChild(this.parseExpression())
    }
    return node
  }
}

/** Patches the nunjucks runtime and compiler once (sandbox + Python semantics). */
function installPatches(): void {
  if (installed) return
  installed = true
  // Before installJinjaCompat: its slice parsing wraps whatever parseAggregate is installed.
  installParserPatches()
  // Adds Jinja's slice syntax (`s[:4]`) to the parser; its lookups are then replaced below.
  nunjucks.installJinjaCompat()
  const runtime = nunjucks.runtime as unknown as Runtime
  runtime.memberLookup = safeMemberLookup
  runtime.contextOrFrameLookup = (context: unknown, frame: unknown, name: unknown): unknown => {
    const f = (frame as { lookup(n: string): unknown }).lookup(String(name))
    if (f !== undefined) return f
    const ctx = (context as { ctx: object }).ctx
    const v = ownGet(ctx, String(name))
    if (v !== undefined) return v
    const globals = (context as { env: { globals: object } }).env.globals
    const g = ownGet(globals, String(name))
    if (g !== undefined) return g
    if (name === 'True' || name === 'true') return true
    if (name === 'False' || name === 'false') return false
    if (name === 'None' || name === 'none') return null
    return undefined
  }
  // A macro's output is a SafeString: text, not a value to print the Python way.
  const SafeString = (runtime as unknown as { SafeString: new (s: string) => object }).SafeString
  runtime.suppressValue = (val: unknown): unknown => (val instanceof SafeString ? String(val) : pyStr(val))
  // Python string literals keep unknown escapes: regex_search('\\d+') must see `\d`, not `d`.
  const lexer = (nunjucks as unknown as { lexer: { lex(src: string): object } }).lexer
  const tokenizer = Object.getPrototypeOf(lexer.lex('')) as Record<string, unknown>
  tokenizer._parseString = function (this: { forward(): void; current(): string; isFinished(): boolean }, delimiter: string): string {
    this.forward()
    let out = ''
    const known: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"' }
    while (!this.isFinished() && this.current() !== delimiter) {
      const c = this.current()
      if (c === '\\') {
        this.forward()
        const e = this.current()
        out += known[e] ?? `\\${e}`
      } else out += c
      this.forward()
    }
    this.forward()
    return out
  }
  runtime.__pyTruthy = pyTruthy
  runtime.__pyAdd = pyAdd
  runtime.__pySub = pySub

  const nodes = (nunjucks as unknown as { nodes: Record<string, new (...a: unknown[]) => { fields: string[] }> }).nodes
  const Compiler = (nunjucks as unknown as { compiler: { Compiler: { prototype: Record<string, Fn> } } }).compiler.Compiler
  const proto = Compiler.prototype
  type C = { compile(n: unknown, f: unknown): void; _emit(s: string): void }
  const origIf = proto.compileIf as Fn
  const origInlineIf = proto.compileInlineIf as Fn
  const NotNode = nodes.Not as unknown as new (l: number, c: number, t: unknown) => unknown
  const asTruth = (node: { cond: unknown; lineno: number; colno: number }): void => {
    // Not(Not(x)) compiles to a Python-truthiness test of x (see compileNot below).
    node.cond = new NotNode(node.lineno, node.colno, new NotNode(node.lineno, node.colno, node.cond))
  }
  proto.compileIf = function (this: C, node: unknown, ...rest: unknown[]) {
    asTruth(node as { cond: unknown; lineno: number; colno: number })
    return origIf.call(this, node, ...rest)
  }
  proto.compileInlineIf = function (this: C, node: unknown, ...rest: unknown[]) {
    asTruth(node as { cond: unknown; lineno: number; colno: number })
    return origInlineIf.call(this, node, ...rest)
  }
  proto.compileNot = function (this: C, node: unknown, frame: unknown) {
    this._emit('!runtime.__pyTruthy(')
    this.compile((node as { target: unknown }).target, frame)
    this._emit(')')
  }
  const binary = (name: string, head: string, mid: string, tail: string): void => {
    proto[name] = function (this: C, node: unknown, frame: unknown) {
      const n = node as { left: unknown; right: unknown }
      this._emit(head)
      this.compile(n.left, frame)
      this._emit(mid)
      this.compile(n.right, frame)
      this._emit(tail)
    }
  }
  // Python `a or b` / `a and b` return an operand, chosen by Python truthiness.
  binary('compileOr', '((__a, __b) => runtime.__pyTruthy(__a) ? __a : __b())(', ', () => (', '))')
  binary('compileAnd', '((__a, __b) => runtime.__pyTruthy(__a) ? __b() : __a)(', ', () => (', '))')
  binary('compileAdd', 'runtime.__pyAdd(', ', ', ')')
  binary('compileSub', 'runtime.__pySub(', ', ', ')')
  binary('compileConcat', '(runtime.suppressValue(', ') + runtime.suppressValue(', '))')
}

function toDateTime(v: unknown, inputFormat?: unknown): PyDateTime | undefined {
  if (v instanceof PyDateTime) return v
  if (typeof v === 'number') return new PyDateTime(Math.round(v * 1_000_000))
  if (typeof v === 'string') {
    if (typeof inputFormat === 'string') return strptime(v, inputFormat)
    if (/^-?\d+(\.\d+)?$/.test(v)) return new PyDateTime(Math.round(Number(v) * 1_000_000))
    return parseIsoDateTime(v)
  }
  return undefined
}

function kwargs(args: unknown[]): Record<string, unknown> {
  const last = args[args.length - 1]
  if (isPlainObject(last) && ownGet(last, '__keywords')) {
    args.pop()
    return last
  }
  return {}
}

/** The CDK macros (globals callable from templates). */
function macros(): Record<string, Fn> {
  return {
    now_utc: () => PyDateTime.now(),
    today_utc: () => PyDateTime.now().date(),
    today_with_timezone: () => PyDateTime.now().date(),
    day_delta: (...a: unknown[]) => {
      const kw = kwargs(a)
      const fmt = (a[1] ?? kw.format ?? '%Y-%m-%dT%H:%M:%S.%f%z') as string
      return PyDateTime.now().add(new PyDuration(Math.round(Number(a[0] ?? kw.num_days) * 86_400_000_000))).strftime(fmt)
    },
    duration: (d: unknown) => {
      const p = parseIsoDuration(String(d))
      if (!p) throw new Error(`invalid ISO-8601 duration ${pyRepr(d)}`)
      return p
    },
    timestamp: (v: unknown) => {
      if (typeof v === 'number') return Math.trunc(v)
      if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v)
      const dt = toDateTime(v)
      if (!dt) throw new Error(`cannot convert ${pyRepr(v)} to a timestamp`)
      return dt.timestamp()
    },
    max: (...a: unknown[]) => {
      const items = a.length === 1 && Array.isArray(a[0]) ? a[0] : a
      return items.reduce((m, x) => ((x as number) > (m as number) ? x : m))
    },
    min: (...a: unknown[]) => {
      const items = a.length === 1 && Array.isArray(a[0]) ? a[0] : a
      return items.reduce((m, x) => ((x as number) < (m as number) ? x : m))
    },
    str_to_datetime: (s: unknown) => {
      const dt = toDateTime(String(s))
      if (!dt) throw new Error(`cannot parse ${pyRepr(s)} as a datetime`)
      return dt
    },
    format_datetime: (...a: unknown[]) => {
      const kw = kwargs(a)
      const dt = toDateTime(a[0] ?? kw.dt, a[2] ?? kw.input_format)
      if (!dt) throw new Error(`cannot parse ${pyRepr(a[0])} as a datetime`)
      return dt.strftime(String(a[1] ?? kw.format))
    },
    camel_case_to_snake_case: (s: unknown) => String(s).replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z])([A-Z][a-z])/g, '$1_$2').toLowerCase(),
    sanitize_url: (s: unknown) => encodeURIComponent(String(s)).replace(/%20/g, '+'),
    generate_uuid: () => randomUUID(),
  }
}

function filterList(arr: unknown): unknown[] {
  return Array.isArray(arr) ? arr : arr === null || arr === undefined ? [] : typeof arr === 'string' ? [...arr] : isPlainObject(arr) ? Object.keys(arr) : []
}

function applyTest(env: nunjucks.Environment, value: unknown, test: unknown, arg: unknown): boolean {
  if (test === undefined) return pyTruthy(value)
  const t = (env as unknown as { getTest(n: string): Fn }).getTest(String(test))
  return t(value, arg) === true
}

/** The CDK's custom filters plus the Jinja built-ins nunjucks lacks. */
function installFilters(env: nunjucks.Environment): void {
  const lookup = (o: unknown, attr: unknown): unknown => {
    let cur = o
    for (const part of String(attr).split('.')) cur = safeMemberLookup(cur, part)
    return cur
  }
  env.addFilter('hash', (v: unknown, type: unknown = 'md5', salt?: unknown) => {
    const h = createHash(String(type))
    h.update(pyStr(v === undefined ? '' : v))
    if (salt !== undefined && salt !== null) h.update(pyStr(salt))
    return h.digest('hex')
  })
  env.addFilter('base64encode', (v: unknown) => Buffer.from(pyStr(v), 'utf8').toString('base64'))
  env.addFilter('base64decode', (v: unknown) => Buffer.from(pyStr(v), 'base64').toString('utf8'))
  env.addFilter('base64binascii_decode', (v: unknown) => Buffer.from(pyStr(v), 'base64').toString('utf8'))
  env.addFilter('regex_search', (v: unknown, re: unknown) => {
    const m = new RegExp(String(re)).exec(pyStr(v))
    return m ? (m[1] ?? m[0]) : ''
  })
  env.addFilter('regex_replace', (v: unknown, re: unknown, rep: unknown) => pyStr(v).replace(new RegExp(String(re), 'g'), String(rep ?? '')))
  env.addFilter('string', (v: unknown) => (typeof v === 'string' ? v : `'''${JSON.stringify(v)}'''`))
  env.addFilter('hmac', (v: unknown, key: unknown, algo: unknown = 'sha256') => createHmac(String(algo), String(key)).update(pyStr(v)).digest('hex'))
  env.addFilter('tojson', (v: unknown) => JSON.stringify(v ?? null))
  env.addFilter('unique', (arr: unknown) => [...new Set(filterList(arr))])
  env.addFilter('float', (v: unknown, d: unknown = 0) => {
    const n = Number.parseFloat(pyStr(v))
    return Number.isNaN(n) ? d : n
  })
  env.addFilter('map', (arr: unknown, ...a: unknown[]) => {
    const kw = kwargs(a)
    const items = filterList(arr)
    if (kw.attribute !== undefined) return items.map((x) => lookup(x, kw.attribute) ?? kw.default)
    const name = a[0]
    const f = (env as unknown as { getFilter(n: string): Fn }).getFilter(String(name))
    return items.map((x) => f(x, ...a.slice(1)))
  })
  env.addFilter('list', (v: unknown) => filterList(v))
  env.addFilter('selectattr', (arr: unknown, attr: unknown, test?: unknown, arg?: unknown) =>
    filterList(arr).filter((x) => applyTest(env, lookup(x, attr), test, arg)),
  )
  env.addFilter('rejectattr', (arr: unknown, attr: unknown, test?: unknown, arg?: unknown) =>
    filterList(arr).filter((x) => !applyTest(env, lookup(x, attr), test, arg)),
  )
  env.addFilter('select', (arr: unknown, test?: unknown, arg?: unknown) => filterList(arr).filter((x) => applyTest(env, x, test, arg)))
  env.addFilter('reject', (arr: unknown, test?: unknown, arg?: unknown) => filterList(arr).filter((x) => !applyTest(env, x, test, arg)))
  env.addFilter('items', (v: unknown) => (isPlainObject(v) ? Object.entries(v) : []))
  // Jinja's short aliases.
  env.addFilter('d', (env as unknown as { getFilter(n: string): Fn }).getFilter('default'))
  env.addFilter('count', (env as unknown as { getFilter(n: string): Fn }).getFilter('length'))
  const t = env as unknown as { addTest(n: string, f: Fn): void }
  t.addTest('none', (v: unknown) => v === null || v === undefined)
  t.addTest('None', (v: unknown) => v === null || v === undefined)
  t.addTest('null', (v: unknown) => v === null || v === undefined)
  t.addTest('false', (v: unknown) => v === false)
  t.addTest('False', (v: unknown) => v === false)
  t.addTest('true', (v: unknown) => v === true)
  t.addTest('True', (v: unknown) => v === true)
  t.addTest('in', (v: unknown, c: unknown) => (Array.isArray(c) ? c.includes(v) : typeof c === 'string' ? c.includes(String(v)) : isPlainObject(c) ? ownGet(c, String(v)) !== undefined : false))
}

let sharedEnv: nunjucks.Environment | undefined
const compiled = new Map<string, nunjucks.Template>()
const MAX_CACHED_TEMPLATES = 5000

function environment(): nunjucks.Environment {
  if (!sharedEnv) {
    installPatches()
    // No loaders: `{% include %}`/`{% import %}`/`{% extends %}` cannot read any file.
    const env = new nunjucks.Environment([], { autoescape: false, throwOnUndefined: false })
    const g = (env as unknown as { globals: Record<string, unknown> }).globals
    for (const k of Object.keys(g)) delete g[k]
    for (const [k, f] of Object.entries(macros())) env.addGlobal(k, f)
    installFilters(env)
    sharedEnv = env
  }
  return sharedEnv
}

/** True when the string contains Jinja markers. */
export function isTemplate(v: unknown): v is string {
  return typeof v === 'string' && (v.includes('{{') || v.includes('{%'))
}

/** Compiles a template now, so syntax errors surface when a manifest is loaded. Throws. */
export function checkTemplate(template: string): void {
  compiledTemplate(template)
}

/** A template that does not compile: the manifest is broken where it is evaluated, never defaulted. */
class TemplateCompileError extends Error {}

function compiledTemplate(template: string): nunjucks.Template {
  const env = environment()
  let t = compiled.get(template)
  if (!t) {
    if (compiled.size >= MAX_CACHED_TEMPLATES) compiled.clear()
    try {
      t = new nunjucks.Template(template, env, undefined, true)
    } catch (e) {
      throw new TemplateCompileError((e as Error).message, { cause: e })
    }
    compiled.set(template, t)
  }
  return t
}

function compileFailure(template: string, e: TemplateCompileError): SluiceError {
  return configError(`the manifest template ${JSON.stringify(template.slice(0, 120))} does not compile: ${e.message.replace(/\s+/g, ' ').slice(0, 200)}`, e)
}

/** Renders a template to text (Python `str()` of values). Throws on template errors. */
export function renderTemplate(template: string, context: TemplateContext): string {
  const t = compiledTemplate(template)
  // The context is copied into a null-prototype object so names like `constructor` resolve to nothing.
  const ctx: Record<string, unknown> = Object.create(null)
  Object.assign(ctx, context)
  return t.render(ctx)
}

/** Options of one evaluation. */
export interface EvaluateOptions {
  /** Returned when the render is empty or fails (the CDK's `default`). */
  default?: unknown
  /** Apply Python literal-eval typing to the rendered text (default true). */
  literal?: boolean
}

/**
 * The CDK evaluation contract for one value: non-strings and strings without markers pass
 * through; otherwise render, then literal-eval, with the default on an empty render or error.
 */
export function evaluate(value: unknown, context: TemplateContext, opts: EvaluateOptions = {}): unknown {
  if (!isTemplate(value)) return value
  const dflt = 'default' in opts ? opts.default : NO_DEFAULT
  let text: string
  try {
    text = renderTemplate(value, context)
  } catch (e) {
    // A template that does not compile was only a warning when the manifest was loaded (the CDK
    // compiles lazily): it fails here, where it is used.
    if (e instanceof TemplateCompileError) throw compileFailure(value, e)
    // Jinja's UndefinedError (calling a method on a missing value...) falls back to the default.
    return dflt === NO_DEFAULT ? undefined : dflt
  }
  if (text === '') return dflt === NO_DEFAULT ? undefined : dflt
  return opts.literal === false ? text : literalEval(text)
}

/** A boolean template (RecordFilter, stop_condition, predicate): false only for Python-falsy text. */
export function evaluateCondition(value: unknown, context: TemplateContext): boolean {
  if (typeof value === 'boolean') return value
  if (!isTemplate(value)) return pyTruthy(value)
  let text: string
  try {
    text = renderTemplate(value, context)
  } catch (e) {
    if (e instanceof TemplateCompileError) throw compileFailure(value, e)
    return false
  }
  const t = text.trim()
  if (t === '') return false
  return !['False', 'false', '0', '0.0', '{}', '[]', '()'].includes(t)
}
