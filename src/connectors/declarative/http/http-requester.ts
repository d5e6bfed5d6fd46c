import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { cancelledError, configError, SluiceError, systemError, transientError } from '../../../errors.js'
import { evaluate, type TemplateContext } from '../interpolation/interpolator.js'
import { pyStr } from '../interpolation/py-values.js'
import type { ManifestNode } from '../manifest-loader.js'
import type { Authenticator } from './authenticator.js'
import { createAuthenticator, type TokenFetch } from './authenticators.js'
import { CompositeErrorHandler, DefaultErrorHandler, defaultResolution, type ErrorHandler, type ObservedResponse } from './error-handler.js'
import type { RateLimiter } from './rate-limiter.js'
import { parseIsoDuration } from '../interpolation/py-datetime.js'
import { evaluateFlatMap, evaluateNested, injectOption, RequestParts } from './request-parts.js'
import { isQueryPropertiesNode, queryPropertiesValue } from '../retriever/query-properties.js'

/** Process-level HTTP settings of a declarative source (tests inject the clock and rewrites). */
export interface HttpSettings {
  limiter: RateLimiter
  /** Per-request timeout (default 60 s). */
  timeoutMs: number
  /** Maps a request URL before it is sent (tests map public hosts to a loopback server). */
  rewriteUrl?: (url: string) => string
  /** Waits between retries; injectable so tests can shrink long backoffs. */
  sleep: (ms: number, signal: AbortSignal) => Promise<void>
  /** Cap for any single backoff wait, in seconds (default 600, the CDK's retry budget). */
  maxBackoffSeconds: number
  /** The fetch implementation (global fetch by default). */
  fetch: typeof fetch
  log?: (level: 'warn' | 'info', message: string) => void
  /** State shared by the requesters of one run (OAuth tokens). */
  shared: Map<string, unknown>
  /** Persists a config changed during the run (RunOptions.onConfigUpdate). */
  onConfigUpdate?: (config: Record<string, unknown>) => Promise<void>
}

/** The outcome of a request: a response to use, or "ignored" (no records, end of pagination). */
export type RequestOutcome =
  | { kind: 'response'; status: number; headers: Record<string, unknown>; text: string; /** The raw body. */ bytes: Buffer; url: string; /** Method, URL and body: equal keys are the same request. */ requestKey: string }
  | { kind: 'ignored'; status: number }
  /** RESET_PAGINATION: the partition's pagination starts over. */
  | { kind: 'reset'; status: number }

/** Lower-cased response headers, plus `link` parsed into `{rel: {url, rel}}` (requests' `links`). */
export function responseHeaders(h: Headers): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  h.forEach((v, k) => {
    out[k] = v
  })
  const link = h.get('link')
  if (link) {
    const links: Record<string, Record<string, string>> = {}
    for (const part of link.split(/,(?=\s*<)/)) {
      const m = /<([^>]*)>(.*)/.exec(part.trim())
      if (!m) continue
      const entry: Record<string, string> = { url: m[1] as string }
      for (const p of (m[2] as string).split(';')) {
        const kv = /\s*([^=\s]+)\s*=\s*"?([^"]*)"?/.exec(p)
        if (kv) entry[(kv[1] as string).toLowerCase()] = kv[2] as string
      }
      links[entry.rel ?? m[1] ?? ''] = entry
    }
    out.link = links
  }
  // Manifests write headers['X-Total'] as often as headers['x-total']: lookups ignore case.
  return new Proxy(out, {
    get: (t, k) => (typeof k === 'string' ? (t[k] ?? t[k.toLowerCase()]) : undefined),
    getOwnPropertyDescriptor: (t, k) => {
      if (typeof k !== 'string') return undefined
      const key = k in t ? k : k.toLowerCase()
      return Object.getOwnPropertyDescriptor(t, key)
    },
  })
}

function parseJsonLoose(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return {}
  }
}

/** Joins url_base and path like the CDK: strip the path's leading '/', add '/' to the base, urljoin. */
export function joinUrl(base: string, path: string): string {
  if (/^https?:\/\//i.test(path)) return path
  if (!path) return base
  const b = base.endsWith('/') ? base : `${base}/`
  return new URL(path.replace(/^\/+/, ''), b).toString()
}

function appendParams(url: string, params: Map<string, unknown>): string {
  if (params.size === 0) return url
  const u = new URL(url)
  for (const [k, v] of params) {
    const values = Array.isArray(v) ? v.map((x) => pyStr(x)) : [pyStr(v)]
    for (const val of values) {
      // A param whose key and value are already in the URL (e.g. a next-page URL) is not repeated.
      if (u.searchParams.getAll(k).includes(val)) continue
      u.searchParams.append(k, val)
    }
  }
  return u.toString()
}

/**
 * HttpRequester: URL, method, params, headers and body from the manifest, the authenticator,
 * retries per the error handler (429/5xx with backoff and Retry-After), rate limits and timeouts.
 */
export class HttpRequester {
  readonly #node: ManifestNode
  readonly #auth: Authenticator
  readonly #errors: ErrorHandler
  readonly #http: HttpSettings

  constructor(node: ManifestNode, base: TemplateContext, http: HttpSettings) {
    this.#node = node
    this.#http = http
    this.#auth = createAuthenticator(node.authenticator as ManifestNode | undefined, base, {
      tokenFetch: this.#tokenFetch,
      shared: http.shared,
      extra: (n) => (n.type === 'SessionTokenAuthenticator' ? new SessionTokenAuthenticator(n, base, http) : undefined),
      ...(http.onConfigUpdate ? { onConfigUpdate: http.onConfigUpdate } : {}),
    })
    this.#errors = createErrorHandler(node.error_handler as ManifestNode | undefined, base)
  }

  #tokenFetch: TokenFetch = async (url, init, signal) => {
    const release = await this.#http.limiter.acquire(signal)
    try {
      const res = await this.#http.fetch(this.#http.rewriteUrl ? this.#http.rewriteUrl(url) : url, {
        method: init.method ?? 'POST',
        headers: init.headers,
        ...(init.body !== undefined ? { body: init.body } : {}),
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.#http.timeoutMs)]),
      })
      return { status: res.status, text: await res.text() }
    } catch (e) {
      if (signal.aborted) throw cancelledError()
      throw transientError(`authentication request failed: ${(e as Error).message}`, e)
    } finally {
      release()
    }
  }

  /** The request's own options (params, headers, body) for a template context. */
  ownParts(ctx: TemplateContext): RequestParts {
    const parts = new RequestParts()
    const n = this.#node
    for (const [k, v] of Object.entries(evaluateFlatMap(n.request_parameters, ctx))) {
      // A QueryProperties parameter carries the names of the slice's property chunk.
      const value = isQueryPropertiesNode(v) ? queryPropertiesValue(ctx) : v
      if (value !== undefined) parts.set('request_parameter', k, value, 'request_parameters')
    }
    for (const [k, v] of Object.entries(evaluateFlatMap(n.request_headers, ctx))) parts.set('header', k, v, 'request_headers')
    if (n.request_body_json !== undefined) {
      const body = typeof n.request_body_json === 'string' ? evaluate(n.request_body_json, ctx) : evaluateNested(n.request_body_json, ctx)
      if (body && typeof body === 'object' && !Array.isArray(body)) parts.mergeBodyJson(body as Record<string, unknown>)
    }
    if (n.request_body_data !== undefined) {
      if (typeof n.request_body_data === 'string' && !String(n.request_body_data).includes('{{')) parts.bodyData = n.request_body_data
      else for (const [k, v] of Object.entries(evaluateFlatMap(n.request_body_data, ctx))) parts.set('body_data', k, v, 'request_body_data')
    }
    const rb = n.request_body as ManifestNode | undefined
    if (rb && typeof rb === 'object') {
      if (rb.type === 'RequestBodyJsonObject' || rb.type === 'RequestBodyGraphQL') {
        const body = evaluateNested(rb.value, ctx)
        if (body && typeof body === 'object') parts.mergeBodyJson(body as Record<string, unknown>)
      } else if (rb.type === 'RequestBodyUrlEncodedForm') {
        for (const [k, v] of Object.entries(evaluateFlatMap(rb.value, ctx))) parts.set('body_data', k, v, 'request_body')
      } else if (rb.type === 'RequestBodyPlainText') {
        parts.bodyData = pyStr(evaluate(rb.value, ctx, { literal: false }) ?? '')
      }
    }
    return parts
  }

  /** The URL for a context (before the paginator's RequestPath override). */
  url(ctx: TemplateContext, pathOverride?: string): string {
    const n = this.#node
    if (pathOverride !== undefined) {
      const baseUrl = pyStr(evaluate(n.url_base ?? n.url ?? '', ctx, { literal: false }) ?? '')
      return joinUrl(baseUrl, pathOverride)
    }
    if (n.url !== undefined && n.url_base === undefined) return pyStr(evaluate(n.url, ctx, { literal: false }) ?? '')
    const baseUrl = pyStr(evaluate(n.url_base ?? '', ctx, { literal: false }) ?? '')
    const path = n.path === undefined ? '' : pyStr(evaluate(n.path, ctx, { literal: false }) ?? '')
    return joinUrl(baseUrl, path)
  }

  /**
   * Sends one logical request (with retries). `parts` already holds the paginator's and
   * slicer's options; the requester's own options and the authenticator are added here.
   */
  async send(ctx: TemplateContext, extra: RequestParts, signal: AbortSignal): Promise<RequestOutcome> {
    const method = pyStr(evaluate(this.#node.http_method ?? 'GET', ctx, { literal: false })).toUpperCase() || 'GET'
    let attempt = 0
    let reauthed = false
    for (;;) {
      if (signal.aborted) throw cancelledError()
      const parts = this.ownParts(ctx)
      for (const [k, v] of extra.params) parts.set('request_parameter', k, v, 'paginator/slicer')
      for (const [k, v] of extra.headers) parts.set('header', k, v, 'paginator/slicer')
      if (extra.bodyJson) for (const [k, v] of Object.entries(extra.bodyJson)) parts.set('body_json', k, v, 'paginator/slicer')
      if (extra.bodyData instanceof Map) for (const [k, v] of extra.bodyData) parts.set('body_data', k, v, 'paginator/slicer')
      await this.#auth.apply(parts, signal)
      const rawUrl = appendParams(this.url(ctx, extra.pathOverride), parts.params)
      const url = this.#http.rewriteUrl ? this.#http.rewriteUrl(rawUrl) : rawUrl
      const headers: Record<string, string> = { accept: 'application/json' }
      for (const [k, v] of parts.headers) headers[k.toLowerCase()] = v
      let body: string | undefined
      if (parts.bodyJson !== undefined) {
        body = JSON.stringify(parts.bodyJson)
        headers['content-type'] ??= 'application/json'
      } else if (parts.bodyData !== undefined) {
        body = typeof parts.bodyData === 'string' ? parts.bodyData : new URLSearchParams([...parts.bodyData].map(([k, v]): [string, string] => [k, pyStr(v)])).toString()
        headers['content-type'] ??= typeof parts.bodyData === 'string' ? 'text/plain' : 'application/x-www-form-urlencoded'
      }
      const observed = await this.#fetchOnce(url, method, headers, body, signal)
      const resolution = this.#errors.interpret(observed) ?? defaultResolution(observed)
      if (observed.status === 401 && resolution.action === 'FAIL' && !reauthed && this.#auth.onUnauthorized) {
        reauthed = true
        if (await this.#auth.onUnauthorized(signal)) continue
      }
      const ok = observed.status >= 200 && observed.status < 300
      switch (resolution.action) {
        case 'SUCCESS':
        case 'IGNORE':
          // A non-2xx response handed back is "no response": no records, pagination ends.
          if (!ok) {
            this.#http.log?.('info', `ignoring HTTP ${observed.status} from ${redactUrl(rawUrl)}`)
            return { kind: 'ignored', status: observed.status }
          }
          return { kind: 'response', status: observed.status, headers: observed.headers, text: observed.text, bytes: observed.bytes, url: rawUrl, requestKey: `${method} ${rawUrl}\n${body ?? ''}` }
        case 'RESET_PAGINATION':
          this.#http.log?.('warn', `HTTP ${observed.status} from ${redactUrl(rawUrl)}: pagination restarts (RESET_PAGINATION)`)
          return { kind: 'reset', status: observed.status }
        case 'FAIL':
          throw failure(resolution.failureType ?? 'system_error', `${method} ${redactUrl(rawUrl)} failed: ${resolution.message ?? `HTTP ${observed.status}`}${snippet(observed)}`)
        case 'RETRY':
        case 'RATE_LIMITED': {
          attempt++
          if (attempt > this.#errors.maxRetries) {
            const what = resolution.action === 'RATE_LIMITED' ? 'API rate limit exceeded' : (resolution.message ?? `HTTP ${observed.status}`)
            throw transientError(`${method} ${redactUrl(rawUrl)} failed after ${attempt - 1} retries: ${what}`)
          }
          let wait: number
          try {
            wait = this.#errors.backoffSeconds(observed, attempt) ?? retryAfterSeconds(observed) ?? 2 ** (attempt - 1)
          } catch (e) {
            throw transientError((e as Error).message, e)
          }
          wait = Math.min(Math.max(0, wait), this.#http.maxBackoffSeconds)
          this.#http.log?.('warn', `${resolution.action === 'RATE_LIMITED' ? 'rate limited' : 'retrying'} ${redactUrl(rawUrl)} (HTTP ${observed.status || observed.networkError}), attempt ${attempt}, waiting ${wait}s`)
          try {
            await this.#http.sleep(wait * 1000, signal)
          } catch {
            throw cancelledError()
          }
          continue
        }
      }
    }
  }

  async #fetchOnce(url: string, method: string, headers: Record<string, string>, body: string | undefined, signal: AbortSignal): Promise<ObservedResponse> {
    const release = await this.#http.limiter.acquire(signal)
    try {
      const requestSignal = AbortSignal.any([signal, AbortSignal.timeout(this.#http.timeoutMs)])
      // fetch refuses a body on GET/HEAD, but some manifests send one (page_size in body_data).
      const res = body !== undefined && (method === 'GET' || method === 'HEAD')
        ? await requestWithBody(url, method, headers, body, requestSignal)
        : await this.#http.fetch(url, { method, headers, body, signal: requestSignal })
      const bytes = Buffer.from(await res.arrayBuffer())
      const text = bytes.toString('utf8')
      const h = responseHeaders(res.headers)
      return { status: res.status, headers: h, text, bytes, json: parseJsonLoose(text) }
    } catch (e) {
      if (signal.aborted) throw cancelledError()
      const err = e as Error & { cause?: { code?: string } }
      const why = err.name === 'TimeoutError' ? `timed out after ${this.#http.timeoutMs} ms` : (err.cause?.code ?? err.message)
      return { status: 0, headers: {}, text: '', bytes: Buffer.alloc(0), json: {}, networkError: why }
    } finally {
      release()
    }
  }
}

/** A session token shared by the streams of one run. */
interface SessionState {
  token?: string
  expiresAt: number
  pending?: Promise<void>
}

/**
 * SessionTokenAuthenticator: logs in with `login_requester`, reads the token at
 * `session_token_path`, keeps it for `expiration_duration` (shared by the streams of a run) and
 * sends it as a Bearer token or through an ApiKey RequestOption.
 */
class SessionTokenAuthenticator implements Authenticator {
  readonly #node: ManifestNode
  readonly #base: TemplateContext
  readonly #login: HttpRequester
  readonly #state: SessionState

  constructor(node: ManifestNode, base: TemplateContext, http: HttpSettings) {
    this.#node = node
    this.#base = base
    this.#login = new HttpRequester((node.login_requester ?? {}) as ManifestNode, base, http)
    const key = `session:${JSON.stringify(node)}`
    let state = http.shared.get(key) as SessionState | undefined
    if (!state) {
      state = { expiresAt: 0 }
      http.shared.set(key, state)
    }
    this.#state = state
  }

  async apply(parts: RequestParts, signal: AbortSignal): Promise<void> {
    if (!this.#state.token || Date.now() >= this.#state.expiresAt) {
      this.#state.pending ??= this.#refresh(signal).finally(() => {
        this.#state.pending = undefined
      })
      await this.#state.pending
    }
    const token = this.#state.token as string
    const how = (this.#node.request_authentication ?? { type: 'Bearer' }) as ManifestNode
    if (how.type === 'ApiKey' && how.inject_into && typeof how.inject_into === 'object') injectOption(parts, how.inject_into as ManifestNode, token, this.#base, 'authenticator')
    else parts.set('header', 'Authorization', `Bearer ${token}`, 'authenticator')
  }

  async onUnauthorized(): Promise<boolean> {
    this.#state.token = undefined
    return true
  }

  async #refresh(signal: AbortSignal): Promise<void> {
    const outcome = await this.#login.send(this.#base, new RequestParts(), signal)
    if (outcome.kind !== 'response') throw configError(`session login failed (HTTP ${outcome.status})`)
    let body: unknown
    try {
      body = JSON.parse(outcome.text)
    } catch {
      throw configError('session login answered with a body that is not JSON')
    }
    let cur = body
    for (const k of (Array.isArray(this.#node.session_token_path) ? this.#node.session_token_path : []).map((x) => pyStr(x))) {
      cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[k] : undefined
    }
    if (cur === undefined || cur === null || cur === '') throw configError('session login response has no token at session_token_path')
    this.#state.token = pyStr(cur)
    const d = typeof this.#node.expiration_duration === 'string' ? parseIsoDuration(this.#node.expiration_duration) : undefined
    this.#state.expiresAt = d ? Date.now() + d.us / 1000 - 5_000 : Number.POSITIVE_INFINITY
  }
}

/** A minimal node:http(s) request for GET/HEAD with a body, returning a fetch-like response. */
function requestWithBody(url: string, method: string, headers: Record<string, string>, body: string, signal: AbortSignal): Promise<{ status: number; headers: Headers; arrayBuffer(): Promise<ArrayBuffer> }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url)
    const send = u.protocol === 'https:' ? httpsRequest : httpRequest
    const req = send(u, { method, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, signal }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', reject)
      res.on('end', () => {
        const h = new Headers()
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v)
        const all = Buffer.concat(chunks)
        resolve({ status: res.statusCode ?? 0, headers: h, arrayBuffer: async () => all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer })
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}

function failure(type: 'config_error' | 'system_error' | 'transient_error', message: string): SluiceError {
  return type === 'config_error' ? configError(message) : type === 'transient_error' ? transientError(message) : systemError(message)
}

function retryAfterSeconds(r: ObservedResponse): number | undefined {
  const v = r.headers['retry-after']
  if (v === undefined || v === null) return undefined
  const s = String(v)
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s)
  const at = Date.parse(s)
  return Number.isNaN(at) ? undefined : Math.max(0, (at - Date.now()) / 1000)
}

/** A short, secret-free excerpt of an error body for messages. */
function snippet(r: ObservedResponse): string {
  const t = r.text.replace(/\s+/g, ' ').trim()
  return t ? ` (body: ${t.slice(0, 200)})` : ''
}

/** Drops query values from a URL for logs and errors (API keys often travel as query params). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    for (const k of [...u.searchParams.keys()]) u.searchParams.set(k, '…')
    return u.toString().replace(/%E2%80%A6/g, '…')
  } catch {
    return url.split('?')[0] ?? url
  }
}

/** Builds the error handler of a requester (DefaultErrorHandler when none is declared). */
export function createErrorHandler(node: ManifestNode | undefined, base: TemplateContext): ErrorHandler {
  if (!node) return new DefaultErrorHandler({}, base)
  if (node.type === 'CompositeErrorHandler') {
    const children = (Array.isArray(node.error_handlers) ? node.error_handlers : []) as ManifestNode[]
    return new CompositeErrorHandler(children.map((c) => new DefaultErrorHandler(c, base)))
  }
  return new DefaultErrorHandler(node, base)
}

