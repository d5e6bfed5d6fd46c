import { configError } from '../../../errors.js'
import type { JsonSchema } from '../../../protocol/index.js'
import { HttpRequester, redactUrl, type HttpSettings } from '../http/http-requester.js'
import { RequestParts } from '../http/request-parts.js'
import type { TemplateContext } from '../interpolation/interpolator.js'
import { evaluate } from '../interpolation/interpolator.js'
import { PyDateTime } from '../interpolation/py-datetime.js'
import { pyStr } from '../interpolation/py-values.js'
import type { ManifestNode } from '../manifest-loader.js'
import { AsyncRetriever } from './async-retriever.js'
import { DatetimeCursor, type Window } from './datetime-cursor.js'
import { IncrementingCountCursor } from './incrementing-count-cursor.js'
import { createPaginator, type Paginator } from './paginators.js'
import { orderedConcurrent } from './ordered-concurrent.js'
import { partitionsOf, type Partition } from './partition-routers.js'
import { deepMerge, findQueryProperties, QueryProperties } from './query-properties.js'
import { decodeRaw } from './raw-decoders.js'
import { decodeBodies, RecordSelector, type Row } from './record-selector.js'

/** Decoders that need the raw response bytes. */
const RAW_DECODERS = new Set(['CsvDecoder', 'GzipDecoder'])

/** RESET_PAGINATION restarts a partition at most this often; more is a loop. */
const MAX_PAGINATION_RESETS = 5

/** Per-partition state lists every partition, so it is sent at most this often (plus once at the end). */
const PER_PARTITION_STATE_INTERVAL_MS = 60_000

/** What a stream read produces: pages of records and, for incremental streams, new state. */
export type StreamEvent = { kind: 'records'; rows: Row[]; partition: Row } | { kind: 'state'; data: Record<string, unknown> }

/** Everything a stream needs from its source. */
export interface StreamEnvironment {
  config: Record<string, unknown>
  http: HttpSettings
  /** Invalid JSON fails the read instead of decoding to `{}` (the REST API source). */
  strictJson: boolean
  log(level: 'warn' | 'info', message: string): void
  /** Partitions tracked one by one before the state switches to a global cursor (default 10,000). */
  maxPartitionStates: number
  /** Requests one partition (or date window) may send before the read fails (a runaway paginator). */
  maxRequestsPerPartition: number
  /** Partitions read at the same time (the manifest's concurrency_level; 1 without it). */
  partitionConcurrency: number
  /** The clock async job timeouts are measured with (ms; Date.now unless a test injects one). */
  now: () => number
}

/** Normalises a primary key (string, list of strings, list of lists) to Airbyte's `[[k]]` form. */
export function normalizePrimaryKey(pk: unknown): string[][] {
  if (pk === undefined || pk === null || pk === '') return []
  if (typeof pk === 'string') return [[pk]]
  if (Array.isArray(pk)) return pk.map((k) => (Array.isArray(k) ? k.map(String) : [String(k)]))
  return []
}

/** The stream's JSON schema from its schema loader(s); `{}`-like when none is inline. */
export function streamSchema(node: ManifestNode): JsonSchema {
  const loaders = Array.isArray(node.schema_loader) ? (node.schema_loader as ManifestNode[]) : node.schema_loader ? [node.schema_loader as ManifestNode] : []
  const schemas = loaders.map((l) => (l.schema && typeof l.schema === 'object' ? (l.schema as JsonSchema) : undefined)).filter((s): s is JsonSchema => !!s)
  if (schemas.length === 0) return { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', additionalProperties: true, properties: {} }
  if (schemas.length === 1) return schemas[0] as JsonSchema
  const properties: Record<string, unknown> = {}
  for (const s of schemas) Object.assign(properties, (s.properties as Record<string, unknown> | undefined) ?? {})
  return { ...schemas[0], properties }
}

/** A stream event, or the end of one date window of one partition (a state checkpoint). */
type PartitionEvent = StreamEvent | { kind: 'window'; key: string; partition: Row; value: string | number }

/** What a cursor adds to one slice: its keys, its request options, and what it makes of each page. */
interface SliceCursor {
  values: Row
  inject(parts: RequestParts, ctx: TemplateContext): void
  /** Tracks the page's cursor values; drops records outside the slice (client side); `stop` ends the partition (data feed). */
  observe(rows: Row[]): { rows: Row[]; stop: boolean }
}

/** The slice of one date window: tracks the newest record cursor in `tracker`. */
function datetimeSlice(cursor: DatetimeCursor, w: Window, tracker: { max: PyDateTime | undefined; start: PyDateTime }): SliceCursor {
  return {
    values: cursor.sliceValues(w),
    inject: (parts, ctx) => cursor.inject(parts, w, ctx),
    observe(rows) {
      let olderThanState = false
      const kept: Row[] = []
      for (const r of rows) {
        const dt = cursor.recordCursor(r)
        if (dt === undefined) {
          kept.push(r)
          continue
        }
        if (dt.us < tracker.start.us) olderThanState = true
        if (cursor.clientSideFilter && (dt.us < tracker.start.us || dt.us > w.hi.us)) continue
        if (!tracker.max || dt.us > tracker.max.us) tracker.max = dt
        kept.push(r)
      }
      return { rows: kept, stop: cursor.isDataFeed && olderThanState }
    },
  }
}

/** The one slice of an IncrementingCountCursor (`stream_interval.start`): tracks the highest record value. */
function countSlice(cursor: IncrementingCountCursor, start: number, tracker: { max: { n: number; raw: unknown } | undefined }): SliceCursor {
  return {
    values: { start },
    inject: (parts, ctx) => cursor.inject(parts, start, ctx),
    observe(rows) {
      for (const r of rows) {
        const n = cursor.recordValue(r)
        if (n !== undefined && (!tracker.max || n > tracker.max.n)) tracker.max = { n, raw: r[cursor.cursorField] }
      }
      return { rows, stop: false }
    },
  }
}

async function* firstOf<T>(items: AsyncIterable<T>): AsyncGenerator<T> {
  for await (const item of items) {
    yield item
    return
  }
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}...` : s
}

function stableKey(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableKey).join(',')}]`
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stableKey((v as Row)[k])}`).join(',')}}`
  }
  return JSON.stringify(v ?? null)
}

/** DeclarativeStream with a SimpleRetriever: partitions x date windows x pages. */
export class DeclarativeStream {
  readonly name: string
  readonly primaryKey: string[][]
  readonly jsonSchema: JsonSchema
  readonly cursor: DatetimeCursor | IncrementingCountCursor | undefined
  readonly #env: StreamEnvironment
  readonly #base: TemplateContext
  readonly #requester: HttpRequester
  /** An AsyncRetriever's job flow (then #requester and #paginator are unused). */
  readonly #async: AsyncRetriever | undefined
  readonly #selector: RecordSelector
  readonly #paginator: Paginator
  readonly #routers: ManifestNode[]
  readonly #decoder: string
  readonly #decoderNode: ManifestNode | undefined
  readonly #ignoreSlicerOnPages: boolean
  /** The requester's QueryProperties: one request per property chunk for every page. */
  readonly #queryProperties: QueryProperties | undefined

  constructor(node: ManifestNode, env: StreamEnvironment) {
    this.#env = env
    const params = (node.$parameters ?? {}) as Row
    this.#base = { config: env.config, parameters: params }
    this.name = pyStr(evaluate(node.name, this.#base, { literal: false }))
    this.primaryKey = normalizePrimaryKey(node.primary_key)
    this.jsonSchema = streamSchema(node)
    const retriever = (node.retriever ?? {}) as ManifestNode
    const requesterNode = (retriever.requester ?? {}) as ManifestNode
    this.#requester = new HttpRequester(requesterNode, { config: env.config, parameters: requesterNode.$parameters ?? params }, env.http)
    const transformations = (Array.isArray(node.transformations) ? node.transformations : []) as ManifestNode[]
    this.#selector = new RecordSelector((retriever.record_selector ?? {}) as ManifestNode, transformations, this.#base, this.jsonSchema)
    this.#paginator = createPaginator(retriever.paginator as ManifestNode | undefined)
    const pr = retriever.partition_router
    this.#routers = (Array.isArray(pr) ? pr : pr ? [pr] : []) as ManifestNode[]
    const decoderNode = (retriever.decoder ?? requesterNode.decoder) as ManifestNode | undefined
    this.#decoder = String(decoderNode?.type ?? 'JsonDecoder')
    this.#decoderNode = decoderNode
    this.#ignoreSlicerOnPages = retriever.ignore_stream_slicer_parameters_on_paginated_requests === true
    const qp = findQueryProperties(requesterNode)
    this.#queryProperties = qp ? new QueryProperties(qp.node, { config: env.config, parameters: qp.node.$parameters ?? params }, (r, p, s) => this.#retrieverRows(r, p, s)) : undefined
    const inc = node.incremental_sync as ManifestNode | undefined
    this.#async = retriever.type === 'AsyncRetriever' ? new AsyncRetriever(this.name, retriever, { config: env.config, parameters: retriever.$parameters ?? params }, env) : undefined
    this.cursor = !inc ? undefined : inc.type === 'IncrementingCountCursor' ? new IncrementingCountCursor(inc, this.#base) : new DatetimeCursor(inc, this.#base)
    if (this.cursor instanceof IncrementingCountCursor && this.#routers.length > 0) {
      throw configError(`stream ${this.name}: IncrementingCountCursor cannot be combined with a partition router (the CDK refuses it too)`)
    }
  }

  /** True when the stream is partitioned and incremental: its state is per partition. */
  get perPartitionState(): boolean {
    return this.cursor instanceof DatetimeCursor && this.#routers.length > 0
  }

  /**
   * Reads the stream. `state` is the stream's last committed state (incremental only).
   * `firstPageOnly` stops after the first page of the first partition (check). `fullRefresh`
   * ignores the state and emits none, but still slices by the cursor's windows: paths and
   * params often need `stream_interval` (as the CDK does for full refresh reads).
   */
  async *read(stateIn: Record<string, unknown> | undefined, signal: AbortSignal, opts: { firstPageOnly?: boolean; fullRefresh?: boolean } = {}): AsyncGenerator<StreamEvent> {
    const cursor = this.cursor instanceof DatetimeCursor ? this.cursor : undefined
    const count = this.cursor instanceof IncrementingCountCursor ? this.cursor : undefined
    const emitState = !opts.fullRefresh
    const state = emitState ? stateIn : undefined
    // incremental_dependency: parents are read from their own state, kept in the child's state.
    const parentStatesIn = (state?.parent_state && typeof state.parent_state === 'object' ? state.parent_state : {}) as Record<string, Record<string, unknown>>
    const parentStatesOut: Record<string, Record<string, unknown>> = { ...parentStatesIn }
    const readParent = (parentConfig: ManifestNode, s: AbortSignal): AsyncIterable<{ record: Row; partition: Row }> =>
      this.#parentRows(parentConfig, s, emitState && !!cursor ? { in: parentStatesIn, out: parentStatesOut } : undefined)
    const partitionStates = new Map<string, { partition: Row; value: string }>()
    if (cursor && this.perPartitionState && Array.isArray(state?.states)) {
      for (const entry of state.states as Array<{ partition?: Row; cursor?: Row }>) {
        const v = entry.cursor?.[cursor.cursorField]
        if (entry.partition && v !== undefined && v !== null) partitionStates.set(stableKey(entry.partition), { partition: entry.partition, value: pyStr(v) })
      }
    }
    // Past maxPartitionStates partitions the state switches to one global cursor (as the CDK
    // does): the lowest partition value, so no partition skips data on the next sync.
    let useGlobal = state?.use_global_cursor === true
    const loadedGlobal = state?.state && typeof state.state === 'object' ? (state.state as Row)[cursor?.cursorField ?? ''] : undefined
    let globalPrior: string | undefined = useGlobal && loadedGlobal !== undefined && loadedGlobal !== null ? pyStr(loadedGlobal) : undefined
    let globalOut: PyDateTime | undefined
    const lowest = (a: PyDateTime | undefined, b: PyDateTime | undefined): PyDateTime | undefined => (!a ? b : !b ? a : a.us <= b.us ? a : b)
    let lastStateAt = 0
    let pendingState = false
    const firstPageOnly = opts.firstPageOnly === true
    // One partition's events; the window markers let the loop below checkpoint in partition order.
    const readPartition = async function* (this: DeclarativeStream, partition: Partition, s: AbortSignal): AsyncGenerator<PartitionEvent> {
      if (count) {
        const start = count.startFrom(state?.[count.cursorField])
        const tracker: { max: { n: number; raw: unknown } | undefined } = { max: undefined }
        yield* this.#readSlice(partition, countSlice(count, start, tracker), s, firstPageOnly)
        if (!firstPageOnly) yield { kind: 'window', key: '', partition: partition.values, value: tracker.max && tracker.max.n > start ? (tracker.max.raw as string | number) : start }
        return
      }
      if (!cursor) {
        yield* this.#readSlice(partition, undefined, s, firstPageOnly)
        return
      }
      const key = stableKey(partition.values)
      const prior = !this.perPartitionState ? state?.[cursor.cursorField] : useGlobal ? globalPrior : partitionStates.get(key)?.value
      const start = cursor.startFrom(prior)
      const priorDt = cursor.parse(prior)
      const tracker = { max: priorDt && priorDt.us >= start.us ? priorDt : undefined as PyDateTime | undefined, start }
      for (const w of cursor.windows(start)) {
        yield* this.#readSlice(partition, datetimeSlice(cursor, w, tracker), s, firstPageOnly)
        if (firstPageOnly) return
        // A window with no records keeps the range start (or the prior state) as the state value.
        yield { kind: 'window', key, partition: partition.values, value: cursor.format(tracker.max ?? start) }
      }
    }.bind(this)
    const partitions = partitionsOf(this.#routers, this.#base, readParent, signal)
    // Partitions are read concurrently up to concurrency_level; events come out in partition order.
    const limit = firstPageOnly ? 1 : this.#env.partitionConcurrency
    for await (const ev of orderedConcurrent(firstPageOnly ? firstOf(partitions) : partitions, readPartition, limit, signal)) {
      if (ev.kind !== 'window') {
        yield ev
        continue
      }
      if (!this.cursor || !emitState) continue
      if (count) {
        yield { kind: 'state', data: { [count.cursorField]: ev.value } }
        continue
      }
      if (!cursor) continue
      const key = ev.key
      const value = String(ev.value)
      if (this.perPartitionState) {
        if (useGlobal) globalOut = lowest(globalOut, cursor.parse(value))
        else partitionStates.set(key, { partition: ev.partition, value })
        if (!useGlobal && partitionStates.size > this.#env.maxPartitionStates) {
          useGlobal = true
          for (const p of partitionStates.values()) globalOut = lowest(globalOut, cursor.parse(p.value))
          globalPrior = globalOut ? cursor.format(globalOut) : undefined
          partitionStates.clear()
        }
        pendingState = true
        // The message lists every partition: throttle it (as the CDK does) and send the last one at the end.
        if (Date.now() - lastStateAt >= PER_PARTITION_STATE_INTERVAL_MS) {
          lastStateAt = Date.now()
          pendingState = false
          yield { kind: 'state', data: useGlobal ? this.#globalState(globalOut, globalPrior, cursor, parentStatesOut) : this.#perPartitionState(partitionStates, cursor, parentStatesOut) }
        }
      } else {
        yield { kind: 'state', data: { [cursor.cursorField]: value } }
      }
    }
    if (firstPageOnly) return
    const parentAdvanced = JSON.stringify(parentStatesOut) !== JSON.stringify(parentStatesIn)
    if (cursor && emitState && this.perPartitionState && (pendingState || parentAdvanced)) {
      yield { kind: 'state', data: useGlobal ? this.#globalState(globalOut, globalPrior, cursor, parentStatesOut) : this.#perPartitionState(partitionStates, cursor, parentStatesOut) }
    }
  }

  #globalState(out: PyDateTime | undefined, prior: string | undefined, cursor: DatetimeCursor, parentStates: Record<string, unknown>): Record<string, unknown> {
    const value = out ? cursor.format(out) : prior
    const data: Record<string, unknown> = { use_global_cursor: true, state: value === undefined ? {} : { [cursor.cursorField]: value } }
    if (Object.keys(parentStates).length) data.parent_state = { ...parentStates }
    return data
  }

  #perPartitionState(states: Map<string, { partition: Row; value: string }>, cursor: DatetimeCursor, parentStates: Record<string, unknown>): Record<string, unknown> {
    let global: PyDateTime | undefined
    const list: Array<{ partition: Row; cursor: Row }> = []
    for (const { partition, value } of states.values()) {
      list.push({ partition, cursor: { [cursor.cursorField]: value } })
      const dt = cursor.parse(value)
      if (dt && (!global || dt.us > global.us)) global = dt
    }
    const out: Record<string, unknown> = { use_global_cursor: false, states: list }
    if (global) out.state = { [cursor.cursorField]: cursor.format(global) }
    if (Object.keys(parentStates).length) out.parent_state = { ...parentStates }
    return out
  }

  async *#parentRows(config: ManifestNode, signal: AbortSignal, states?: { in: Record<string, Record<string, unknown>>; out: Record<string, Record<string, unknown>> }): AsyncGenerator<{ record: Row; partition: Row }> {
    const parent = new DeclarativeStream(config.stream as ManifestNode, this.#env)
    const incremental = !!states && config.incremental_dependency === true && !!parent.cursor
    const prior = incremental ? states.in[parent.name] : undefined
    for await (const ev of parent.read(prior, signal, { fullRefresh: !incremental })) {
      if (ev.kind === 'records') for (const record of ev.rows) yield { record, partition: ev.partition }
      // A parent state arrives only after every partition built from its records was read.
      else if (incremental) states.out[parent.name] = ev.data
    }
  }

  /** Every record of another retriever (a PropertiesFromEndpoint's), read as a stream of its own. */
  async *#retrieverRows(retriever: ManifestNode, params: Row, signal: AbortSignal): AsyncGenerator<Row> {
    const stream = new DeclarativeStream({ type: 'DeclarativeStream', name: `${this.name} properties`, retriever, $parameters: params }, this.#env)
    for await (const ev of stream.read(undefined, signal, { fullRefresh: true })) if (ev.kind === 'records') yield* ev.rows
  }

  async *#readSlice(partition: Partition, sliceCursor: SliceCursor | undefined, signal: AbortSignal, firstPageOnly: boolean): AsyncGenerator<StreamEvent> {
    const slice: Row = { ...partition.values }
    if (sliceCursor) Object.assign(slice, sliceCursor.values)
    if (partition.extraFields) slice.extra_fields = partition.extraFields
    const ctx: TemplateContext = {
      ...this.#base,
      stream_slice: slice,
      stream_partition: slice,
      stream_interval: slice,
      next_page_token: null,
    }
    if (this.#async) {
      for await (const raw of this.#async.read(slice, signal)) {
        const { rows, stop } = sliceCursor ? sliceCursor.observe(this.#selector.select(raw, ctx)) : { rows: this.#selector.select(raw, ctx), stop: false }
        if (rows.length) yield { kind: 'records', rows, partition: partition.values }
        if (firstPageOnly || stop) return
      }
      return
    }
    let token = this.#paginator.initialToken(ctx)
    let first = true
    let requests = 0
    let lastRequestKey: string | undefined
    let resets = 0
    const qp = this.#queryProperties
    // Without QueryProperties one request per page; with it one per property chunk, the same page token.
    const chunks: Array<string[] | undefined> = qp ? await qp.chunks(signal) : [undefined]
    pages: for (;;) {
      // A guard no manifest can defeat: a paginator that never stops must not hammer the API.
      if (++requests > this.#env.maxRequestsPerPartition) {
        throw configError(`stream ${this.name}: more than ${this.#env.maxRequestsPerPartition} requests for one partition; the paginator does not stop (raise maxRequestsPerPartition / SLUICE_DECLARATIVE_MAX_REQUESTS_PER_PARTITION if the API really has that many pages)`)
      }
      const pageCtx: TemplateContext = { ...ctx, next_page_token: token === undefined || token === null ? null : { next_page_token: token } }
      let reqCtx = pageCtx
      const selected: Row[] = []
      const merged = new Map<string, Row>()
      let last: { bodies: unknown[]; headers: Record<string, unknown>; raw: unknown[] } | undefined
      for (const [i, chunk] of chunks.entries()) {
        if (chunk && chunk.length > 0) {
          const chunkSlice = { ...slice, extra_fields: { ...(slice.extra_fields as Row | undefined), query_properties: chunk } }
          reqCtx = { ...pageCtx, stream_slice: chunkSlice, stream_partition: chunkSlice, stream_interval: chunkSlice }
        }
        const parts = new RequestParts()
        if (first || !this.#ignoreSlicerOnPages) {
          partition.inject(parts, reqCtx)
          sliceCursor?.inject(parts, reqCtx)
        }
        this.#paginator.inject(parts, token, reqCtx)
        const outcome = await this.#requester.send(reqCtx, parts, signal)
        if (outcome.kind === 'ignored') return
        if (outcome.kind === 'reset') {
          // RESET_PAGINATION: start the partition's pages over (records already read come again).
          if (++resets > MAX_PAGINATION_RESETS) throw configError(`stream ${this.name}: pagination was reset more than ${MAX_PAGINATION_RESETS} times in one partition (HTTP ${outcome.status})`)
          token = this.#paginator.initialToken(ctx)
          first = true
          lastRequestKey = undefined
          continue pages
        }
        if (i === 0) {
          if (outcome.requestKey === lastRequestKey) {
            throw configError(`stream ${this.name}: the paginator sent the same request twice in a row (${redactUrl(outcome.url)}); pagination stopped to avoid an endless loop`)
          }
          lastRequestKey = outcome.requestKey
        }
        // CSV and gzip bodies decode from the raw bytes; the text decoders from the text already read.
        const { bodies, array } = RAW_DECODERS.has(this.#decoder) ? decodeRaw(outcome.bytes, this.#decoderNode, this.#env.strictJson) : decodeBodies(outcome.text, this.#decoder, this.#env.strictJson)
        const raw = this.#selector.extract(bodies, reqCtx, array)
        last = { bodies, headers: outcome.headers, raw }
        for (const r of this.#selector.select(raw, reqCtx)) {
          // Chunked properties: records of one page with the same merge key become one record.
          const key = qp?.chunked ? qp.mergeKey(r) : undefined
          if (key === undefined) selected.push(r)
          else if (merged.has(key)) deepMerge(merged.get(key) as Row, r)
          else merged.set(key, r)
        }
      }
      selected.push(...merged.values())
      // The CDK counts the merged records of a chunked page; otherwise the raw extracted ones.
      const rawCount = qp?.chunked ? selected.length : (last?.raw.length ?? 0)
      const lastRaw = qp?.chunked ? selected[selected.length - 1] : last?.raw[rawCount - 1]
      const { rows, stop } = sliceCursor ? sliceCursor.observe(selected) : { rows: selected, stop: false }
      if (rows.length) yield { kind: 'records', rows, partition: partition.values }
      if (firstPageOnly || stop) return
      const next = this.#paginator.nextToken({ response: last?.bodies[0] ?? {}, headers: last?.headers ?? {}, rawCount, lastRecord: lastRaw ?? null, ctx: reqCtx }, token)
      if (next === null || next === undefined) return
      if (token !== undefined && token !== null && stableKey(next) === stableKey(token)) {
        throw configError(`stream ${this.name}: the paginator returned the same next-page token twice in a row (${truncate(pyStr(next))}); pagination stopped to avoid an endless loop`)
      }
      token = next
      first = false
    }
  }
}
