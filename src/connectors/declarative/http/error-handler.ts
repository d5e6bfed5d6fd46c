import { evaluate, evaluateCondition, type TemplateContext } from '../interpolation/interpolator.js'
import type { ManifestNode } from '../manifest-loader.js'

/** What to do with one HTTP outcome (Airbyte's ResponseAction). */
export const RESPONSE_ACTIONS = ['SUCCESS', 'FAIL', 'RETRY', 'IGNORE', 'RATE_LIMITED', 'RESET_PAGINATION'] as const
export type ResponseAction = (typeof RESPONSE_ACTIONS)[number]

/** The action for one response, with the failure type and message used when it fails. */
export interface ErrorResolution {
  action: ResponseAction
  failureType?: 'config_error' | 'system_error' | 'transient_error'
  message?: string
}

/** A response as the error handler sees it (status 0 = network error or timeout). */
export interface ObservedResponse {
  status: number
  headers: Record<string, unknown>
  /** Decoded JSON body, or {} when the body is not JSON. */
  json: unknown
  text: string
  /** The raw body (compressed or binary downloads decode from it). */
  bytes: Buffer
  /** Network error message when status is 0. */
  networkError?: string
}

/** Interprets responses and computes backoff (DefaultErrorHandler / CompositeErrorHandler). */
export interface ErrorHandler {
  readonly maxRetries: number
  interpret(r: ObservedResponse): ErrorResolution | undefined
  /** Seconds to wait before retry number `attempt` (1-based), or undefined for the default. */
  backoffSeconds(r: ObservedResponse, attempt: number): number | undefined
}

const RETRY_CODES = new Set([408, 500, 502, 503, 504])

/** The CDK's default mapping for responses no filter matched. */
export function defaultResolution(r: ObservedResponse): ErrorResolution {
  if (r.status === 0) return { action: 'RETRY', failureType: 'transient_error', message: r.networkError ?? 'network error' }
  if (r.status >= 200 && r.status < 300) return { action: 'SUCCESS' }
  if (r.status === 429) return { action: 'RATE_LIMITED', failureType: 'transient_error', message: 'API rate limit exceeded' }
  if (RETRY_CODES.has(r.status)) return { action: 'RETRY', failureType: 'transient_error', message: `HTTP ${r.status}` }
  if (r.status === 401 || r.status === 403) return { action: 'FAIL', failureType: 'config_error', message: `HTTP ${r.status}: check the credentials and permissions` }
  return { action: 'FAIL', failureType: 'system_error', message: `HTTP ${r.status}` }
}

type Backoff = (r: ObservedResponse, attempt: number) => number | undefined

function headerValue(r: ObservedResponse, name: string): string | undefined {
  const v = r.headers[name.toLowerCase()]
  return v === undefined || v === null ? undefined : String(v)
}

function buildBackoff(node: ManifestNode, base: TemplateContext): Backoff {
  switch (node.type) {
    case 'ExponentialBackoffStrategy': {
      return (_r, attempt) => {
        const factor = Number(evaluate(node.factor ?? 5, base) ?? 5)
        return factor * 2 ** attempt
      }
    }
    case 'ConstantBackoffStrategy':
      return () => Number(evaluate(node.backoff_time_in_seconds, base))
    case 'WaitTimeFromHeader':
      return (r) => {
        const raw = headerValue(r, String(evaluate(node.header, base)))
        if (raw === undefined) return undefined
        const m = typeof node.regex === 'string' ? new RegExp(node.regex).exec(raw) : null
        const v = Number(m ? (m[1] ?? m[0]) : raw)
        if (!Number.isFinite(v)) return undefined
        const cap = node.max_waiting_time_in_seconds === undefined ? undefined : Number(node.max_waiting_time_in_seconds)
        if (cap !== undefined && v > cap) throw new Error(`the server asked to wait ${v}s, more than max_waiting_time_in_seconds (${cap})`)
        return v
      }
    case 'WaitUntilTimeFromHeader':
      return (r) => {
        const raw = headerValue(r, String(evaluate(node.header, base)))
        if (raw === undefined) return undefined
        const m = typeof node.regex === 'string' ? new RegExp(node.regex).exec(raw) : null
        const until = Number(m ? (m[1] ?? m[0]) : raw)
        if (!Number.isFinite(until)) return undefined
        const min = node.min_wait === undefined ? 0 : Number(evaluate(node.min_wait, base))
        return Math.max(min, until - Date.now() / 1000)
      }
    default:
      return () => undefined
  }
}

function matchFilter(f: ManifestNode, r: ObservedResponse, base: TemplateContext): boolean {
  const codes = Array.isArray(f.http_codes) ? f.http_codes.map(Number) : []
  if (codes.includes(r.status)) return true
  if (typeof f.error_message_contains === 'string' && r.text.includes(f.error_message_contains)) return true
  if (f.predicate !== undefined && f.predicate !== '') {
    return evaluateCondition(f.predicate, { ...base, response: r.json, headers: r.headers })
  }
  return false
}

/** DefaultErrorHandler: response filters in order, then the default mapping. */
export class DefaultErrorHandler implements ErrorHandler {
  readonly maxRetries: number
  readonly #filters: ManifestNode[]
  readonly #backoffs: Backoff[]
  readonly #base: TemplateContext

  constructor(node: ManifestNode, base: TemplateContext) {
    this.#base = base
    this.maxRetries = node.max_retries === undefined ? 5 : Number(evaluate(node.max_retries, base))
    this.#filters = Array.isArray(node.response_filters) ? (node.response_filters as ManifestNode[]) : []
    this.#backoffs = Array.isArray(node.backoff_strategies) ? (node.backoff_strategies as ManifestNode[]).map((b) => buildBackoff(b, base)) : []
  }

  /** Returns the first matching filter's resolution, or undefined when none matched. */
  matchFilters(r: ObservedResponse): ErrorResolution | undefined {
    for (const f of this.#filters) {
      if (!matchFilter(f, r, this.#base)) continue
      const action = (String(f.action ?? 'FAIL').toUpperCase() as ResponseAction)
      const msg = f.error_message === undefined ? undefined : evaluate(f.error_message, { ...this.#base, response: r.json, headers: r.headers }, { literal: false })
      const ft = typeof f.failure_type === 'string' ? (f.failure_type as ErrorResolution['failureType']) : undefined
      return { action, failureType: ft ?? (action === 'FAIL' ? 'system_error' : 'transient_error'), message: msg === undefined ? undefined : String(msg) }
    }
    return undefined
  }

  interpret(r: ObservedResponse): ErrorResolution {
    return this.matchFilters(r) ?? defaultResolution(r)
  }

  backoffSeconds(r: ObservedResponse, attempt: number): number | undefined {
    for (const b of this.#backoffs) {
      const v = b(r, attempt)
      if (v !== undefined && Number.isFinite(v)) return v
    }
    return undefined
  }
}

/** CompositeErrorHandler: the first SUCCESS/RETRY/RATE_LIMITED/IGNORE/RESET_PAGINATION answer wins, else the last. */
export class CompositeErrorHandler implements ErrorHandler {
  readonly maxRetries: number
  readonly #children: DefaultErrorHandler[]

  constructor(children: DefaultErrorHandler[]) {
    this.#children = children
    this.maxRetries = Math.max(5, ...children.map((c) => c.maxRetries))
  }

  interpret(r: ObservedResponse): ErrorResolution | undefined {
    let last: ErrorResolution | undefined
    for (const c of this.#children) {
      const res = c.interpret(r)
      // sluice also lets RATE_LIMITED win, so a rate-limit filter is not overridden by a later FAIL.
      if (['SUCCESS', 'RETRY', 'RATE_LIMITED', 'IGNORE', 'RESET_PAGINATION'].includes(res.action)) return res
      last = res
    }
    return last ?? defaultResolution(r)
  }

  backoffSeconds(r: ObservedResponse, attempt: number): number | undefined {
    for (const c of this.#children) {
      const v = c.backoffSeconds(r, attempt)
      if (v !== undefined) return v
    }
    return undefined
  }
}
