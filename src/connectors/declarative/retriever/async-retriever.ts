import { configError, systemError } from '../../../errors.js'
import { HttpRequester, redactUrl, type HttpSettings, type RequestOutcome } from '../http/http-requester.js'
import { RequestParts } from '../http/request-parts.js'
import { evaluate, type TemplateContext } from '../interpolation/interpolator.js'
import { pyStr } from '../interpolation/py-values.js'
import type { ManifestNode } from '../manifest-loader.js'
import { createPaginator, type Paginator } from './paginators.js'
import { decodeRaw } from './raw-decoders.js'
import { decodeBodies, extractRecords, type Row } from './record-selector.js'

/** Seconds between two status requests of a running job (the CDK's fixed interval). */
const ASYNC_POLL_INTERVAL_SECONDS = 5

/** Attempts per slice: a failed or timed-out job is replaced by a new one this many times minus one. */
const MAX_JOB_ATTEMPTS = 3

/** Job timeout when the manifest gives no `polling_job_timeout` (minutes, as the CDK). */
const DEFAULT_JOB_TIMEOUT_MINUTES = 60

type JobStatus = 'running' | 'completed' | 'failed' | 'timeout' | 'skipped'
const STATUSES: JobStatus[] = ['running', 'completed', 'failed', 'timeout', 'skipped']

/** What the async flow needs from its stream. */
export interface AsyncEnvironment {
  config: Record<string, unknown>
  http: HttpSettings
  strictJson: boolean
  maxRequestsPerPartition: number
  /** The clock job timeouts are measured with (ms). */
  now: () => number
  log(level: 'warn' | 'info', message: string): void
}

/** A response as templates see it: the JSON body's keys, plus `headers` unless the body has one. */
function responseContext(outcome: RequestOutcome & { kind: 'response' }): Row {
  const { bodies } = decodeBodies(outcome.text, 'JsonDecoder', false)
  const body = bodies[0]
  const out: Row = body !== null && typeof body === 'object' && !Array.isArray(body) ? { ...(body as Row) } : {}
  if (!('headers' in out)) out.headers = outcome.headers
  return out
}

function fieldPath(node: ManifestNode | undefined, ctx: TemplateContext): string[] {
  return (Array.isArray(node?.field_path) ? node.field_path : []).map((p) => pyStr(evaluate(p, ctx, { literal: false })))
}

/**
 * AsyncRetriever: per slice, creates a server-side job (`creation_requester`), polls its status
 * (`polling_requester`, `status_extractor`, `status_mapping`) every 5 s until it completes,
 * fails or times out (`polling_job_timeout` minutes, default 60), then downloads the results
 * (`download_requester` for every `download_target_extractor` value, from the polling response or
 * from `download_target_requester` / `url_requester`; `download_paginator`, `download_decoder`,
 * `download_extractor`) and finally calls `delete_requester`. A failed or timed-out job
 * (`abort_requester` is called for a timed-out one) is retried with a new job, 3 attempts in all;
 * `failed_retry_wait_time_in_seconds` delays the retry of a failed one. `skipped` yields nothing.
 */
export class AsyncRetriever {
  readonly #stream: string
  readonly #node: ManifestNode
  readonly #env: AsyncEnvironment
  readonly #base: TemplateContext
  readonly #creation: HttpRequester
  readonly #polling: HttpRequester
  readonly #download: HttpRequester
  readonly #targets: HttpRequester | undefined
  readonly #abort: HttpRequester | undefined
  readonly #delete: HttpRequester | undefined
  readonly #paginator: Paginator
  readonly #statusOf: Map<string, JobStatus>

  constructor(stream: string, node: ManifestNode, base: TemplateContext, env: AsyncEnvironment) {
    this.#stream = stream
    this.#node = node
    this.#env = env
    this.#base = base
    const requester = (n: unknown): HttpRequester => {
      const r = n as ManifestNode
      return new HttpRequester(r, { ...base, parameters: r.$parameters ?? base.parameters }, env.http)
    }
    this.#creation = requester(node.creation_requester)
    this.#polling = requester(node.polling_requester)
    this.#download = requester(node.download_requester)
    const targetsNode = node.download_target_requester ?? node.url_requester
    this.#targets = targetsNode ? requester(targetsNode) : undefined
    if (this.#targets && !node.download_target_extractor) throw configError(`stream ${stream}: AsyncRetriever needs a download_target_extractor with a download_target_requester`)
    this.#abort = node.abort_requester ? requester(node.abort_requester) : undefined
    this.#delete = node.delete_requester ? requester(node.delete_requester) : undefined
    this.#paginator = createPaginator(node.download_paginator as ManifestNode | undefined)
    this.#statusOf = new Map()
    const mapping = (node.status_mapping ?? {}) as ManifestNode
    for (const status of STATUSES) {
      for (const api of Array.isArray(mapping[status]) ? mapping[status] : []) {
        const key = pyStr(evaluate(api, base, { literal: false }))
        if (this.#statusOf.has(key)) throw configError(`stream ${stream}: API job status ${JSON.stringify(key)} is mapped twice in status_mapping`)
        this.#statusOf.set(key, status)
      }
    }
  }

  /** The downloaded records of one slice, page by page (before the record selector's filter and transformations). */
  async *read(slice: Row, signal: AbortSignal): AsyncGenerator<Row[]> {
    const history: JobStatus[] = []
    for (let attempt = 1; ; attempt++) {
      const job = await this.#runJob(slice, signal)
      if (job.status === 'completed') {
        yield* this.#downloadAll(slice, job.creation, job.polling, signal)
        if (this.#delete) await this.#send(this.#delete, this.#jobContext(slice, job.creation), signal, 'delete')
        return
      }
      if (job.status === 'skipped') {
        this.#env.log('info', `stream ${this.#stream}: the async job was skipped (no data)`)
        return
      }
      history.push(job.status)
      if (job.status === 'timeout' && this.#abort) {
        try {
          await this.#send(this.#abort, this.#jobContext(slice, job.creation), signal, 'abort')
        } catch (e) {
          this.#env.log('warn', `stream ${this.#stream}: could not abort the timed-out job: ${(e as Error).message}`)
        }
      }
      if (attempt >= MAX_JOB_ATTEMPTS) {
        throw systemError(`stream ${this.#stream}: the async job did not complete after ${MAX_JOB_ATTEMPTS} attempts (statuses: ${history.join(', ')})`)
      }
      this.#env.log('warn', `stream ${this.#stream}: the async job ended with status ${job.status}; starting a new one (attempt ${attempt + 1} of ${MAX_JOB_ATTEMPTS})`)
      if (job.status === 'failed') {
        const wait = Number(evaluate(this.#node.failed_retry_wait_time_in_seconds ?? 0, this.#base))
        if (Number.isFinite(wait) && wait > 0) await this.#env.http.sleep(wait * 1000, signal)
      }
    }
  }

  #jobContext(slice: Row, creation: Row, polling?: Row, target?: string): TemplateContext {
    const extra: Row = { ...((slice.extra_fields as Row | undefined) ?? {}), creation_response: creation }
    if (polling) extra.polling_response = polling
    if (target !== undefined) extra.download_target = target
    const s = { ...slice, extra_fields: extra }
    return { ...this.#base, stream_slice: s, stream_partition: s, stream_interval: s, next_page_token: null, ...extra }
  }

  async #send(requester: HttpRequester, ctx: TemplateContext, signal: AbortSignal, what: string): Promise<RequestOutcome & { kind: 'response' }> {
    const outcome = await requester.send(ctx, new RequestParts(), signal)
    if (outcome.kind !== 'response') throw systemError(`stream ${this.#stream}: the async job ${what} request got no usable response (HTTP ${outcome.status})`)
    return outcome
  }

  async #runJob(slice: Row, signal: AbortSignal): Promise<{ status: JobStatus; creation: Row; polling: Row }> {
    const minutes = Number(evaluate(this.#node.polling_job_timeout ?? DEFAULT_JOB_TIMEOUT_MINUTES, this.#base))
    const timeoutMs = (Number.isFinite(minutes) && minutes > 0 ? minutes : DEFAULT_JOB_TIMEOUT_MINUTES) * 60_000
    const creation = responseContext(await this.#send(this.#creation, this.#jobContext(slice, {}), signal, 'creation'))
    const started = this.#env.now()
    for (;;) {
      const outcome = await this.#send(this.#polling, this.#jobContext(slice, creation), signal, 'polling')
      const polling = responseContext(outcome)
      const { bodies } = decodeBodies(outcome.text, 'JsonDecoder', false)
      const ctx = this.#jobContext(slice, creation)
      const apiStatus = extractRecords(bodies[0], fieldPath(this.#node.status_extractor as ManifestNode | undefined, ctx))[0]
      const status = this.#statusOf.get(pyStr(apiStatus ?? null))
      if (!status) throw systemError(`stream ${this.#stream}: the async job's API status ${JSON.stringify(pyStr(apiStatus ?? null))} is not in status_mapping`)
      if (status !== 'running') return { status, creation, polling }
      if (this.#env.now() - started >= timeoutMs) return { status: 'timeout', creation, polling }
      await this.#env.http.sleep(ASYNC_POLL_INTERVAL_SECONDS * 1000, signal)
    }
  }

  async #downloadTargets(slice: Row, creation: Row, polling: Row, signal: AbortSignal): Promise<string[]> {
    const extractor = this.#node.download_target_extractor as ManifestNode | undefined
    // Without an extractor there is one download, with an empty download_target.
    if (!extractor) return ['']
    let body: unknown = polling
    if (this.#targets) {
      const outcome = await this.#send(this.#targets, { ...this.#base, stream_slice: { extra_fields: { polling_response: polling } }, polling_response: polling, creation_response: creation }, signal, 'download target')
      body = decodeBodies(outcome.text, 'JsonDecoder', false).bodies[0]
    }
    return extractRecords(body, fieldPath(extractor, this.#jobContext(slice, creation, polling))).map((t) => pyStr(t))
  }

  async *#downloadAll(slice: Row, creation: Row, polling: Row, signal: AbortSignal): AsyncGenerator<Row[]> {
    const targets = await this.#downloadTargets(slice, creation, polling, signal)
    const decoder = this.#node.download_decoder as ManifestNode | undefined
    const extractor = this.#node.download_extractor as ManifestNode | undefined
    for (const target of targets) {
      const ctx = this.#jobContext(slice, creation, polling, target)
      let token = this.#paginator.initialToken(ctx)
      for (let requests = 1; ; requests++) {
        if (requests > this.#env.maxRequestsPerPartition) throw configError(`stream ${this.#stream}: more than ${this.#env.maxRequestsPerPartition} download requests for one job; the download paginator does not stop`)
        const reqCtx: TemplateContext = { ...ctx, next_page_token: token === undefined || token === null ? null : { next_page_token: token } }
        const parts = new RequestParts()
        this.#paginator.inject(parts, token, reqCtx)
        const outcome = await this.#download.send(reqCtx, parts, signal)
        if (outcome.kind !== 'response') {
          if (outcome.kind === 'reset') throw systemError(`stream ${this.#stream}: RESET_PAGINATION is not supported on an async job download (HTTP ${outcome.status})`)
          break
        }
        const { bodies } = decodeRaw(outcome.bytes, decoder, this.#env.strictJson)
        const path = fieldPath(extractor, reqCtx)
        const records: Row[] = []
        for (const b of bodies) for (const r of extractRecords(b, path)) records.push(r)
        if (records.length) yield records
        const next = this.#paginator.nextToken({ response: bodies[0] ?? {}, headers: outcome.headers, rawCount: records.length, lastRecord: records[records.length - 1] ?? null, ctx: reqCtx }, token)
        if (next === null || next === undefined) break
        if (JSON.stringify(next) === JSON.stringify(token)) throw configError(`stream ${this.#stream}: the download paginator returned the same token twice in a row (${redactUrl(outcome.url)})`)
        token = next
      }
    }
  }
}
