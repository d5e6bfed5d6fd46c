import { invalidParam } from './public-route.js'

/**
 * Query parameter parsing for the Public API. Arrays come repeated (`workspaceIds=a&workspaceIds=b`,
 * the SDKs' form/explode style) or comma-separated; a bad value is a 400 naming the parameter.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function raw(query: Record<string, unknown>, name: string): string | undefined {
  const v = query[name]
  if (v === undefined) return undefined
  const text = Array.isArray(v) ? v[v.length - 1] : v
  return typeof text === 'string' && text !== '' ? text : undefined
}

/** A list of UUIDs (undefined when absent or empty). */
export function uuidList(query: Record<string, unknown>, name: string): string[] | undefined {
  const v = query[name]
  if (v === undefined) return undefined
  const items = (Array.isArray(v) ? v : [v]).flatMap((s) => String(s).split(',')).map((s) => s.trim()).filter((s) => s !== '')
  for (const id of items) if (!UUID.test(id)) throw invalidParam(name, id, 'must be a list of UUIDs')
  return items.length > 0 ? items : undefined
}

/** One UUID. */
export function uuidQuery(query: Record<string, unknown>, name: string, required = false): string | undefined {
  const v = raw(query, name)
  if (v === undefined) {
    if (required) throw invalidParam(name, 'null', 'is required')
    return undefined
  }
  if (!UUID.test(v)) throw invalidParam(name, v, 'must be a UUID')
  return v
}

/** An integer within bounds, or the default. */
export function intQuery(query: Record<string, unknown>, name: string, opts: { min: number; max?: number; default: number }): number {
  const v = raw(query, name)
  if (v === undefined) return opts.default
  const n = Number(v)
  const max = opts.max ?? Number.MAX_SAFE_INTEGER
  if (!/^-?\d+$/.test(v) || n < opts.min || n > max) throw invalidParam(name, v, `must be an integer from ${opts.min}${opts.max === undefined ? '' : ` to ${opts.max}`}`)
  return n
}

/** true / false (case-insensitive), or the default. */
export function boolQuery(query: Record<string, unknown>, name: string, fallback = false): boolean {
  const v = raw(query, name)
  if (v === undefined) return fallback
  if (/^true$/i.test(v)) return true
  if (/^false$/i.test(v)) return false
  throw invalidParam(name, v, 'must be true or false')
}

/** One of the allowed values (case-insensitive; answered in the canonical spelling). */
export function enumQuery<T extends string>(query: Record<string, unknown>, name: string, values: readonly T[]): T | undefined {
  const v = raw(query, name)
  if (v === undefined) return undefined
  const hit = values.find((x) => x.toLowerCase() === v.toLowerCase())
  if (hit === undefined) throw invalidParam(name, v, `must be one of ${values.join(', ')}`)
  return hit
}

/** An ISO 8601 date-time as epoch milliseconds. */
export function dateQuery(query: Record<string, unknown>, name: string): number | undefined {
  const v = raw(query, name)
  if (v === undefined) return undefined
  const ms = Date.parse(v)
  if (Number.isNaN(ms)) throw invalidParam(name, v, 'must be an ISO 8601 date-time')
  return ms
}

/** A free string. */
export function stringQuery(query: Record<string, unknown>, name: string): string | undefined {
  return raw(query, name)
}
