import type { ColumnarRecords, RecordBatch, RecordData, RecordValue, StreamDescriptor } from '../../protocol/index.js'
import { SluiceError } from '../../errors.js'
import { isWireMessage, type WireMessage } from './airbyte-wire.js'

/** Bounds of the reader; the defaults suit production, tests shrink them. */
export interface MessageReaderOptions {
  /** Records per batch (default 10,000). */
  maxBatchRows?: number
  /** Bytes of record lines per batch (default 8 MiB). */
  maxBatchBytes?: number
  /** Longest accepted line (default 64 MiB): a longer one is a protocol error, not a memory leak. */
  maxLineBytes?: number
  /** A partly filled batch is handed on when no more output arrives for this long (default 100 ms). */
  idleFlushMs?: number
  /** Who writes the input, for error messages (e.g. `source airbyte/source-hubspot:4.5.1`). */
  label: string
}

/** A non-record Airbyte message, parsed. */
export interface ParsedMessage {
  type: 'MESSAGE'
  message: WireMessage
}

/** A line that is not an Airbyte message (Airbyte logs those and goes on). */
export interface TextLine {
  type: 'TEXT'
  text: string
}

export type ReaderItem = RecordBatch | ParsedMessage | TextLine

const NEWLINE = 0x0a
const QUOTE = 0x22
const BACKSLASH = 0x5c
const CLOSE_BRACE = 0x7d
const RECORD_PREFIX = Buffer.from('{"type":"RECORD","record":{')
const STREAM_KEY = Buffer.from('"stream":"')
const NAMESPACE_KEY = Buffer.from('"namespace":')
const DATA_KEY = Buffer.from('"data":')
const NULL_TEXT = Buffer.from('null')

export function protocolError(message: string): SluiceError {
  return new SluiceError('SLUICE_ERR_CONNECTOR_PROTOCOL', message)
}

/**
 * A batch of Airbyte RECORD lines: `rows()` parses them on first use, `columns()` transposes
 * those rows (every key any row has, in first-seen order; undefined where a row lacks it) for
 * destinations that load columns; the raw lines travel as `airbyteRecordLines`.
 */
function lineBatch(stream: StreamDescriptor, lines: Buffer, count: number, label: string): RecordBatch {
  let rows: RecordData[] | undefined
  let columns: ColumnarRecords | undefined
  const parsed = (): RecordData[] => (rows ??= parseRecordLines(lines, label))
  return {
    type: 'RECORD_BATCH',
    stream,
    emittedAt: Date.now(),
    count,
    bytes: lines.length,
    airbyteRecordLines: lines,
    rows: parsed,
    columns: () => (columns ??= transpose(parsed())),
  }
}

function transpose(rows: readonly RecordData[]): ColumnarRecords {
  const index = new Map<string, number>()
  const names: string[] = []
  const columns: RecordValue[][] = []
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!
    for (const name in row) {
      if (!Object.hasOwn(row, name)) continue
      let i = index.get(name)
      if (i === undefined) {
        i = names.length
        index.set(name, i)
        names.push(name)
        columns.push(new Array<RecordValue>(rows.length).fill(undefined))
      }
      columns[i]![r] = row[name]
    }
  }
  return { names, columns }
}

function parseRecordLines(lines: Buffer, label: string): RecordData[] {
  const out: RecordData[] = []
  // Raw newlines cannot occur inside JSON strings: splitting on them is exact.
  for (const text of lines.toString('utf8').split('\n')) {
    if (text === '') continue
    let parsed: WireMessage
    try {
      parsed = JSON.parse(text) as WireMessage
    } catch {
      throw protocolError(`${label} wrote a RECORD line that is not valid JSON: ${text.slice(0, 200)}`)
    }
    out.push(parsed.record?.data ?? {})
  }
  return out
}

/** Reads a quoted JSON string without escapes at `at` (the opening quote's next byte); undefined when it has escapes. */
function plainString(line: Buffer, at: number): string | undefined {
  const end = line.indexOf(QUOTE, at)
  if (end < 0) return undefined
  if (line.subarray(at, end).includes(BACKSLASH)) return undefined
  return line.toString('utf8', at, end)
}

interface RouteKey {
  name: string
  namespace: string | undefined
}

/**
 * Finds a RECORD line's stream and namespace without parsing the record (the fast path for
 * compact output, which Airbyte's CDKs write). Only keys before `"data":` are trusted: a key
 * after it may belong to the record's data. Returns undefined when the line needs a full parse.
 */
function routeOf(line: Buffer): RouteKey | undefined {
  if (line.length < RECORD_PREFIX.length || line.compare(RECORD_PREFIX, 0, RECORD_PREFIX.length, 0, RECORD_PREFIX.length) !== 0) return undefined
  const data = line.indexOf(DATA_KEY, RECORD_PREFIX.length)
  const stream = line.indexOf(STREAM_KEY, RECORD_PREFIX.length)
  if (data < 0 || stream < 0 || stream > data) return undefined
  let last = line.length - 1
  while (last > 0 && (line[last] === NEWLINE || line[last] === 0x0d || line[last] === 0x20)) last--
  if (line[last] !== CLOSE_BRACE) return undefined
  const name = plainString(line, stream + STREAM_KEY.length)
  if (name === undefined) return undefined
  const ns = line.indexOf(NAMESPACE_KEY, RECORD_PREFIX.length)
  if (ns < 0) return { name, namespace: undefined }
  if (ns > data) return undefined
  const value = ns + NAMESPACE_KEY.length
  if (line.compare(NULL_TEXT, 0, NULL_TEXT.length, value, value + NULL_TEXT.length) === 0) return { name, namespace: undefined }
  if (line[value] !== QUOTE) return undefined
  const namespace = plainString(line, value + 1)
  return namespace === undefined ? undefined : { name, namespace }
}

/** Whether the line [start, end) of `chunk` begins with `head` (the previous record line's head). */
function startsWithHead(chunk: Buffer, start: number, end: number, head: Buffer): boolean {
  const n = head.length
  if (start + n > end) return false
  for (let i = 0; i < n; i++) if (chunk[start + i] !== head[i]) return false
  return true
}

/** Whether the line [start, end) of `chunk` (without its newline) closes with a brace, trailing blanks aside. */
function endsWithBrace(chunk: Buffer, start: number, end: number): boolean {
  let last = end - 1
  while (last > start && (chunk[last] === 0x0d || chunk[last] === 0x20)) last--
  return chunk[last] === CLOSE_BRACE
}

/**
 * Turns a connector's output (Airbyte messages, one JSON per line) into record batches and
 * parsed messages. Records of one stream are grouped into batches bounded in rows and bytes,
 * keeping their raw lines; a batch is handed on before any other message (a STATE follows the
 * records it covers), when the stream changes, when it is full, and when the connector goes
 * quiet for `idleFlushMs`. Pull-based: nothing is read while the consumer is busy, so a full
 * engine channel leaves the connector blocked on its stdout pipe (backpressure).
 */
export async function* readAirbyteMessages(input: AsyncIterable<Buffer>, options: MessageReaderOptions): AsyncGenerator<ReaderItem> {
  const maxRows = options.maxBatchRows ?? 10_000
  const maxBytes = options.maxBatchBytes ?? 8 * 1024 * 1024
  const maxLine = options.maxLineBytes ?? 64 * 1024 * 1024
  const idleMs = options.idleFlushMs ?? 100
  const label = options.label
  const descriptors = new Map<string, StreamDescriptor>()
  let pending: { key: string; stream: StreamDescriptor; parts: Buffer[]; bytes: number; count: number } | undefined
  let partial: Buffer[] = []
  let partialBytes = 0
  const out: ReaderItem[] = []

  const flush = (): void => {
    if (pending === undefined) return
    closeRun()
    out.push(lineBatch(pending.stream, Buffer.concat(pending.parts, pending.bytes), pending.count, label))
    pending = undefined
  }
  /** Opens the stream's batch; with `push`, also adds the line (runs add their lines themselves). */
  const addRecord = (route: RouteKey, line: Buffer, push = true): void => {
    const key = `${route.namespace ?? ''}\u0000${route.name}`
    if (pending !== undefined && pending.key !== key) flush()
    if (pending === undefined) {
      let stream = descriptors.get(key)
      if (stream === undefined) {
        stream = route.namespace === undefined ? { name: route.name } : { name: route.name, namespace: route.namespace }
        descriptors.set(key, stream)
      }
      pending = { key, stream, parts: [], bytes: 0, count: 0 }
    }
    if (!push) return
    // Each kept line ends in exactly one newline, so the batch's buffer is valid JSONL.
    const piece = line[line.length - 1] === NEWLINE ? line : Buffer.concat([line, Buffer.from('\n')])
    pending.parts.push(piece)
    pending.bytes += piece.length
    pending.count++
    if (pending.count >= maxRows || pending.bytes >= maxBytes) flush()
  }
  const handleLine = (line: Buffer): void => {
    const route = routeOf(line)
    if (route !== undefined) {
      addRecord(route, line)
      return
    }
    const text = line.toString('utf8').trim()
    if (text === '') return
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      flush()
      out.push({ type: 'TEXT', text })
      return
    }
    if (!isWireMessage(parsed)) {
      flush()
      out.push({ type: 'TEXT', text })
      return
    }
    if (parsed.type === 'RECORD') {
      const r = parsed.record
      if (r === undefined || typeof r.stream !== 'string' || r.data === null || typeof r.data !== 'object' || Array.isArray(r.data)) {
        throw protocolError(`${label} wrote a RECORD without a stream name or a data object: ${text.slice(0, 200)}`)
      }
      addRecord({ name: r.stream, namespace: typeof r.namespace === 'string' ? r.namespace : undefined }, Buffer.from(`${JSON.stringify(parsed)}\n`))
      return
    }
    flush()
    out.push({ type: 'MESSAGE', message: parsed })
  }
  // The head (everything up to `"data":`) of the last record line routed, and its route: most
  // lines repeat it, and a byte comparison then stands for the whole routing.
  let lastHead: Buffer | undefined
  let lastRoute: RouteKey | undefined
  // Consecutive record lines of one stream in one chunk are kept as one slice of it (a run).
  let run: { route: RouteKey; chunk: Buffer; start: number; end: number } | undefined
  const closeRun = (): void => {
    if (run === undefined || pending === undefined) return
    const piece = run.chunk.subarray(run.start, run.end)
    pending.parts.push(piece)
    run = undefined
  }
  const addRunLine = (route: RouteKey, chunk: Buffer, start: number, end: number): void => {
    // A run belongs to the pending batch (a flush closes it), so the same route continues it.
    if (run !== undefined && run.route === route && run.chunk === chunk && run.end === start) {
      run.end = end
    } else {
      closeRun()
      addRecord(route, chunk.subarray(start, end), false)
      run = { route, chunk, start, end }
    }
    if (pending === undefined) return
    pending.bytes += end - start
    pending.count++
    if (pending.count >= maxRows || pending.bytes >= maxBytes) flush()
  }
  const handleChunk = (chunk: Buffer): void => {
    let start = 0
    if (partial.length > 0) {
      const nl = chunk.indexOf(NEWLINE)
      if (nl < 0) {
        partial.push(chunk)
        partialBytes += chunk.length
        if (partialBytes > maxLine) throw protocolError(`${label} wrote more than ${maxLine} bytes without a line break: not Airbyte protocol output`)
        return
      }
      partial.push(chunk.subarray(0, nl + 1))
      const line = Buffer.concat(partial, partialBytes + nl + 1)
      partial = []
      partialBytes = 0
      if (line.length > maxLine) throw protocolError(`${label} wrote a line of ${line.length} bytes (the limit is ${maxLine}): not Airbyte protocol output`)
      closeRun()
      handleLine(line)
      start = nl + 1
    }
    let nsAt = -2
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start)
      if (nl < 0) break
      if (nl + 1 - start > maxLine) throw protocolError(`${label} wrote a line of ${nl + 1 - start} bytes (the limit is ${maxLine}): not Airbyte protocol output`)
      if (nsAt !== -1 && nsAt < start) nsAt = chunk.indexOf(NAMESPACE_KEY, start)
      let route: RouteKey | undefined
      if (lastHead !== undefined && startsWithHead(chunk, start, nl, lastHead)) {
        // The same head as the previous record line (same stream, same namespace if any): only
        // a namespace key after `"data":` or a line that does not close could change the verdict.
        const data = start + lastHead.length
        if ((nsAt < 0 || nsAt > nl || nsAt < data) && endsWithBrace(chunk, start, nl)) route = lastRoute
      } else {
        const found = routeOf(chunk.subarray(start, nl))
        if (found !== undefined) {
          // A copy: the head must not keep the chunk alive.
          lastHead = Buffer.from(chunk.subarray(start, chunk.indexOf(DATA_KEY, start + RECORD_PREFIX.length) + DATA_KEY.length))
          lastRoute = found
          route = found
        }
      }
      if (route !== undefined) addRunLine(route, chunk, start, nl + 1)
      else {
        closeRun()
        handleLine(chunk.subarray(start, nl + 1))
      }
      start = nl + 1
    }
    closeRun()
    if (start < chunk.length) {
      partial.push(chunk.subarray(start))
      partialBytes += chunk.length - start
      if (partialBytes > maxLine) throw protocolError(`${label} wrote more than ${maxLine} bytes without a line break: not Airbyte protocol output`)
    }
  }

  const iterator = input[Symbol.asyncIterator]()
  try {
    let next: Promise<IteratorResult<Buffer>> | undefined
    for (;;) {
      next ??= iterator.next()
      let result: IteratorResult<Buffer> | undefined
      if (pending === undefined) {
        result = await next
      } else {
        // A slow connector's records still move on: hand over a partial batch when it goes quiet.
        let timer: NodeJS.Timeout | undefined
        const idle = new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), idleMs)
        })
        result = await Promise.race([next, idle])
        clearTimeout(timer)
        if (result === undefined) {
          flush()
          yield* out.splice(0)
          continue
        }
      }
      next = undefined
      if (result.done === true) break
      const chunk = typeof result.value === 'string' ? Buffer.from(result.value) : result.value
      handleChunk(chunk)
      yield* out.splice(0)
    }
    if (partialBytes > 0) handleLine(Buffer.concat(partial, partialBytes))
    flush()
    yield* out.splice(0)
  } finally {
    await iterator.return?.()
  }
}
