import { configError } from '../../../errors.js'
import { evaluate, type TemplateContext } from '../interpolation/interpolator.js'
import { pyStr } from '../interpolation/py-values.js'
import type { ManifestNode } from '../manifest-loader.js'
import { injectOption, type RequestParts } from '../http/request-parts.js'
import type { Row } from './record-selector.js'

/** One partition: its keys (visible as `stream_partition.*`) and its request options. */
export interface Partition {
  values: Row
  extraFields?: Row
  inject(parts: RequestParts, ctx: TemplateContext): void
}

/**
 * Reads every record of a parent stream (all partitions and pages, with its transformations),
 * with the parent partition it came from. Gets the whole ParentStreamConfig, which says whether
 * the parent is read incrementally (`incremental_dependency`).
 */
export type ParentReader = (parentConfig: ManifestNode, signal: AbortSignal) => AsyncIterable<{ record: Row; partition: Row }>

const none = (): void => undefined

function dpathGet(record: unknown, path: string[]): unknown {
  let cur = record
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Row)[k]
  }
  return cur
}

async function* listPartitions(node: ManifestNode, base: TemplateContext): AsyncGenerator<Partition> {
  let values = typeof node.values === 'string' ? evaluate(node.values, base) : node.values
  if (typeof values === 'string') values = values.split(',').map((v) => v.trim())
  if (!Array.isArray(values)) throw configError(`ListPartitionRouter values did not render to a list (got ${typeof values})`)
  const field = pyStr(evaluate(node.cursor_field, base, { literal: false }))
  const option = node.request_option as ManifestNode | undefined
  for (const raw of values) {
    const v = typeof raw === 'string' ? evaluate(raw, base) : raw
    yield {
      values: { [field]: v },
      inject: option ? (parts, ctx) => injectOption(parts, option, v, ctx, 'partition_router') : none,
    }
  }
}

async function* substreamPartitions(node: ManifestNode, base: TemplateContext, readParent: ParentReader, signal: AbortSignal): AsyncGenerator<Partition> {
  const configs = (Array.isArray(node.parent_stream_configs) ? node.parent_stream_configs : []) as ManifestNode[]
  for (const cfg of configs) {
    const parentKey = pyStr(evaluate(cfg.parent_key, base, { literal: false })).split('/')
    const field = pyStr(evaluate(cfg.partition_field, base, { literal: false }))
    const option = cfg.request_option as ManifestNode | undefined
    const extra = (Array.isArray(cfg.extra_fields) ? cfg.extra_fields : []) as unknown[][]
    for await (const { record, partition } of readParent(cfg, signal)) {
      const v = dpathGet(record, parentKey)
      // Parent records without the key are skipped, as in the CDK.
      if (v === undefined) continue
      const extraFields: Row = {}
      for (const p of extra) {
        const path = p.map((x) => String(x))
        extraFields[path.join('.')] = dpathGet(record, path)
      }
      yield {
        values: { [field]: v, parent_slice: partition },
        extraFields: extra.length ? extraFields : undefined,
        inject: option ? (parts, ctx) => injectOption(parts, option, v, ctx, 'partition_router') : none,
      }
    }
  }
}

/**
 * GroupingPartitionRouter: the underlying router's partitions in batches of `group_size`, each
 * batch one partition whose keys hold the list of the batch's values (extra fields likewise).
 * With `deduplicate` (the default) a value already seen is skipped. The underlying partitions must
 * have one key (besides `parent_slice`); the batch injects no request option (the manifest's
 * templates use `stream_partition.<key>`, a list).
 */
async function* groupedPartitions(node: ManifestNode, base: TemplateContext, readParent: ParentReader, signal: AbortSignal): AsyncGenerator<Partition> {
  const size = Number(node.group_size)
  const dedupe = node.deduplicate !== false
  const seen = new Set<string>()
  let batch: Partition[] = []
  const grouped = (items: Partition[]): Partition => {
    const values: Row = {}
    for (const k of Object.keys((items[0] as Partition).values)) values[k] = items.map((p) => p.values[k])
    const extraKeys = new Set(items.flatMap((p) => Object.keys(p.extraFields ?? {})))
    const extraFields: Row = {}
    for (const k of extraKeys) extraFields[k] = items.map((p) => p.extraFields?.[k] ?? null)
    return { values, extraFields: extraKeys.size ? extraFields : undefined, inject: none }
  }
  for await (const p of routerPartitions(node.underlying_partition_router as ManifestNode, base, readParent, signal)) {
    const keys = Object.keys(p.values).filter((k) => k !== 'parent_slice')
    if (keys.length !== 1) throw configError(`GroupingPartitionRouter expects partitions with a single key; got ${JSON.stringify(p.values)}`)
    const key = JSON.stringify(p.values[keys[0] as string] ?? null)
    if (dedupe && seen.has(key)) continue
    if (dedupe) seen.add(key)
    batch.push(p)
    if (batch.length === size) {
      yield grouped(batch)
      batch = []
    }
  }
  if (batch.length) yield grouped(batch)
}

function routerPartitions(node: ManifestNode, base: TemplateContext, readParent: ParentReader, signal: AbortSignal): AsyncGenerator<Partition> {
  switch (node.type) {
    case 'ListPartitionRouter':
      return listPartitions(node, base)
    case 'GroupingPartitionRouter':
      return groupedPartitions(node, base, readParent, signal)
    default:
      return substreamPartitions(node, base, readParent, signal)
  }
}

/** Iterates the partitions of a stream: one router, or the cartesian product of a list of them. */
export async function* partitionsOf(routers: ManifestNode[], base: TemplateContext, readParent: ParentReader, signal: AbortSignal): AsyncGenerator<Partition> {
  if (routers.length === 0) {
    yield { values: {}, inject: none }
    return
  }
  const [first, ...rest] = routers as [ManifestNode, ...ManifestNode[]]
  const own = routerPartitions(first, base, readParent, signal)
  for await (const p of own) {
    for await (const q of partitionsOf(rest, base, readParent, signal)) {
      yield {
        values: { ...p.values, ...q.values },
        extraFields: p.extraFields || q.extraFields ? { ...p.extraFields, ...q.extraFields } : undefined,
        inject: (parts, ctx) => {
          p.inject(parts, ctx)
          q.inject(parts, ctx)
        },
      }
    }
  }
}
