import { configError } from '../../../errors.js'
import { evaluate, type TemplateContext } from '../interpolation/interpolator.js'
import { pyStr } from '../interpolation/py-values.js'
import type { ManifestNode } from '../manifest-loader.js'

type Row = Record<string, unknown>

/** Reads every record of a retriever (a PropertiesFromEndpoint's), as a stream of its own. */
export type RetrieverReader = (retriever: ManifestNode, params: Row, signal: AbortSignal) => AsyncIterable<Row>

export function isQueryPropertiesNode(v: unknown): v is ManifestNode {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && (v as ManifestNode).type === 'QueryProperties'
}

/** The request parameter a requester's QueryProperties fills, and the component. */
export function findQueryProperties(requester: ManifestNode): { key: string; node: ManifestNode } | undefined {
  const params = requester.request_parameters
  if (params === null || typeof params !== 'object' || Array.isArray(params)) return undefined
  for (const [key, v] of Object.entries(params as Row)) if (isQueryPropertiesNode(v)) return { key, node: v }
  return undefined
}

/** The value a QueryProperties request parameter takes in a request: the chunk's names joined by commas. */
export function queryPropertiesValue(ctx: TemplateContext): string | undefined {
  const slice = ctx.stream_slice as Row | undefined
  const extra = slice?.extra_fields as Row | undefined
  const chunk = extra?.query_properties
  return Array.isArray(chunk) && chunk.length > 0 ? chunk.map((x) => pyStr(x)).join(',') : undefined
}

/**
 * QueryProperties: the property names a request asks for (`property_list`, static or read from a
 * PropertiesFromEndpoint once per run), split by `property_chunking` into chunks: by
 * `property_count` (each name counts 1) or `characters` (each name its length + 3, for the
 * encoded delimiter), `always_include_properties` at the start of every chunk. Records of the
 * chunks of one page are merged by the GroupByKey `key` (default `id`).
 */
export class QueryProperties {
  readonly chunked: boolean
  readonly #node: ManifestNode
  readonly #base: TemplateContext
  readonly #read: RetrieverReader
  readonly #mergeKeys: string[]
  #fromEndpoint: string[] | undefined

  constructor(node: ManifestNode, base: TemplateContext, read: RetrieverReader) {
    this.#node = node
    this.#base = base
    this.#read = read
    const chunking = node.property_chunking as ManifestNode | undefined
    this.chunked = !!chunking
    const key = (chunking?.record_merge_strategy as ManifestNode | undefined)?.key ?? 'id'
    this.#mergeKeys = (Array.isArray(key) ? key : [key]).map((k) => pyStr(k))
  }

  async #properties(signal: AbortSignal): Promise<string[]> {
    const list = this.#node.property_list
    if (Array.isArray(list)) return list.map((x) => pyStr(x))
    if (this.#fromEndpoint) return this.#fromEndpoint
    const endpoint = list as ManifestNode
    const params = (endpoint.$parameters ?? {}) as Row
    const path = (Array.isArray(endpoint.property_field_path) ? endpoint.property_field_path : []).map((p) => pyStr(evaluate(p, { ...this.#base, parameters: params }, { literal: false })))
    const names: string[] = []
    for await (const record of this.#read(endpoint.retriever as ManifestNode, params, signal)) {
      let v: unknown = record
      for (const k of path) v = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Row)[k] : undefined
      if (v === undefined || v === null) throw configError(`PropertiesFromEndpoint: a record has nothing at property_field_path ${JSON.stringify(path)}`)
      names.push(pyStr(v))
    }
    this.#fromEndpoint = names
    return names
  }

  /** The chunks of property names, one request each per page. */
  async chunks(signal: AbortSignal): Promise<string[][]> {
    const fields = await this.#properties(signal)
    const always = (Array.isArray(this.#node.always_include_properties) ? this.#node.always_include_properties : []).map((x) => pyStr(x))
    const chunking = this.#node.property_chunking as ManifestNode | undefined
    const limit = chunking ? Number(evaluate(chunking.property_limit, this.#base)) : NaN
    if (!chunking || !Number.isFinite(limit) || limit <= 0) return [[...fields, ...(chunking ? always : [])]]
    const byCharacters = chunking.property_limit_type === 'characters'
    const out: string[][] = []
    let current = [...always]
    let size = 0
    for (const f of fields) {
      const cost = byCharacters ? f.length + 3 : 1
      if (size + cost > limit) {
        out.push(current)
        current = [...always]
        size = 0
      }
      current.push(f)
      size += cost
    }
    out.push(current)
    return out
  }

  /** The GroupByKey merge key of a record: its key values joined by commas, undefined when one is missing or falsy. */
  mergeKey(record: Row): string | undefined {
    const parts: string[] = []
    for (const k of this.#mergeKeys) {
      const v = record[k]
      if (v === undefined || v === null || v === '' || v === 0 || v === false) return undefined
      parts.push(pyStr(v))
    }
    return parts.join(',')
  }
}

/** Merges `source` into `target`, recursing into mappings both hold (the CDK's deep merge). */
export function deepMerge(target: Row, source: Row): void {
  for (const [k, v] of Object.entries(source)) {
    // Own properties only: an inherited `__proto__` must never be merged into.
    const t = Object.hasOwn(target, k) ? target[k] : undefined
    if (t !== null && typeof t === 'object' && !Array.isArray(t) && v !== null && typeof v === 'object' && !Array.isArray(v)) deepMerge(t as Row, v as Row)
    // An own property even for a `__proto__` key from the API (plain assignment would set the prototype).
    else Object.defineProperty(target, k, { value: v, enumerable: true, writable: true, configurable: true })
  }
}
