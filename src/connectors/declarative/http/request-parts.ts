import { configError } from '../../../errors.js'
import { evaluate, type TemplateContext } from '../interpolation/interpolator.js'
import { pyStr } from '../interpolation/py-values.js'
import type { ManifestNode } from '../manifest-loader.js'

/** Where a RequestOption puts its value. */
export const INJECT_TARGETS = ['request_parameter', 'header', 'body_json', 'body_data'] as const
export type InjectTarget = (typeof INJECT_TARGETS)[number]

/**
 * The pieces of one HTTP request, gathered from the requester, authenticator, paginator and
 * stream slicer. A key set twice by different sources is an error (as in the CDK).
 */
export class RequestParts {
  readonly params = new Map<string, unknown>()
  readonly headers = new Map<string, string>()
  bodyJson: Record<string, unknown> | undefined
  bodyData: Map<string, unknown> | string | undefined
  /** A RequestPath page token: the next path or absolute URL. */
  pathOverride: string | undefined

  /** Adds one value; empty values (None, '') are dropped as the CDK does. */
  set(target: InjectTarget, key: string | string[], value: unknown, source: string): void {
    if (isEmpty(value)) return
    switch (target) {
      case 'request_parameter':
        return this.#put(this.params, String(key), value, source)
      case 'header':
        return this.#put(this.headers, String(key), pyStr(value), source)
      case 'body_data':
        if (typeof this.bodyData === 'string') throw configError(`request body is a raw string; cannot add ${String(key)} from ${source}`)
        this.bodyData ??= new Map()
        return this.#put(this.bodyData, String(key), value, source)
      case 'body_json': {
        this.bodyJson ??= {}
        const path = Array.isArray(key) ? key : [key]
        let cur = this.bodyJson
        for (let i = 0; i < path.length - 1; i++) {
          const k = path[i] as string
          const next = cur[k]
          if (next === undefined || next === null || typeof next !== 'object') cur[k] = {}
          cur = cur[k] as Record<string, unknown>
        }
        const last = path[path.length - 1] as string
        if (last in cur && JSON.stringify(cur[last]) !== JSON.stringify(value)) {
          throw configError(`request body field ${path.join('.')} is set twice (${source})`)
        }
        cur[last] = value
      }
    }
  }

  #put<V>(m: Map<string, V>, key: string, value: V, source: string): void {
    if (m.has(key) && m.get(key) !== value) throw configError(`request option ${key} is set twice (${source})`)
    m.set(key, value)
  }

  /** Merges a whole body_json object (the requester's own), dropping empty leaves. */
  mergeBodyJson(body: Record<string, unknown>): void {
    for (const [k, v] of Object.entries(body)) this.set('body_json', k, v, 'request_body_json')
  }
}

/** Python-falsy scalar values a rendered option drops: None, '' (and undefined). */
export function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || v === ''
}

/** Interpolates a nested body_json, dropping keys whose values render empty at every level. */
export function evaluateNested(value: unknown, ctx: TemplateContext): unknown {
  if (typeof value === 'string') {
    return evaluate(value, ctx)
  }
  if (Array.isArray(value)) return value.map((v) => evaluateNested(v, ctx)).filter((v) => !isEmpty(v))
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      const key = String(evaluate(k, ctx, { literal: false }) ?? k)
      const ev = evaluateNested(v, ctx)
      if (!isEmpty(ev)) out[key] = ev
    }
    return out
  }
  return value
}

/**
 * Interpolates a flat map (request_parameters, request_headers, request_body_data); keys and
 * values are both templates; empty values are dropped. A string map is a template of a dict.
 */
export function evaluateFlatMap(value: unknown, ctx: TemplateContext): Record<string, unknown> {
  if (value === undefined || value === null) return {}
  if (typeof value === 'string') {
    const v = evaluate(value, ctx)
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {}
  }
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const key = String(evaluate(k, ctx, { literal: false }) ?? k)
    const ev = typeof v === 'string' ? evaluate(v, ctx) : v
    if (!isEmpty(ev)) out[key] = ev
  }
  return out
}

/** Injects a value through a RequestOption node (`inject_into`, `field_name` or `field_path`). */
export function injectOption(parts: RequestParts, option: ManifestNode, value: unknown, ctx: TemplateContext, source: string): void {
  const target = String(option.inject_into) as InjectTarget
  if (Array.isArray(option.field_path)) {
    const path = option.field_path.map((p) => String(evaluate(p, ctx, { literal: false })))
    parts.set(target, target === 'body_json' ? path : path.join('.'), value, source)
    return
  }
  const name = String(evaluate(option.field_name, ctx, { literal: false }) ?? '')
  parts.set(target, name, value, source)
}
