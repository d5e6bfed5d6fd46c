/**
 * Pages/s of a declarative stream with 200 partitions (one page each) against a loopback mock
 * API that answers every request after 50 ms: partitions read one at a time vs concurrently up
 * to the manifest's concurrency_level. The physical limit is concurrency / latency pages/s.
 *
 *   npx tsc -p . && node dist/bench/declarative-concurrency.js [--partitions 200] [--latency 50]
 */
import { performance } from 'node:perf_hooks'
import { DeclarativeSource } from '../src/connectors/declarative/declarative-source.js'
import { catalogFor, readAll, startMockApi } from '../test/connectors/declarative/helpers/mock-api.js'
import { tuneHeapForThroughput } from '../src/cli/heap-tuning.js'

// Every bench process runs with the heap setting of the `sluice` executable.
tuneHeapForThroughput()

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? Number(process.argv[i + 1]) : fallback
}

const PARTITIONS = arg('partitions', 200)
const LATENCY_MS = arg('latency', 50)

const api = await startMockApi((r) => ({ body: { data: Array.from({ length: 20 }, (_, i) => ({ id: `${r.query.get('p')}-${i}`, value: i })) }, delayMs: LATENCY_MS }))

function manifest(concurrency: number | undefined): Record<string, unknown> {
  return {
    ...(concurrency ? { concurrency_level: { type: 'ConcurrencyLevel', default_concurrency: concurrency, max_concurrency: concurrency } } : {}),
    streams: [
      {
        type: 'DeclarativeStream',
        name: 'items',
        primary_key: 'id',
        retriever: {
          type: 'SimpleRetriever',
          requester: { type: 'HttpRequester', url_base: `${api.origin}/api.example.com`, path: '/items' },
          record_selector: { type: 'RecordSelector', extractor: { type: 'DpathExtractor', field_path: ['data'] } },
          partition_router: { type: 'ListPartitionRouter', cursor_field: 'p', values: Array.from({ length: PARTITIONS }, (_, i) => String(i)), request_option: { type: 'RequestOption', inject_into: 'request_parameter', field_name: 'p' } },
        },
      },
    ],
  }
}

try {
  console.log(`${PARTITIONS} partitions x 1 page, ${LATENCY_MS} ms per request`)
  for (const concurrency of [undefined, 4, 10, 20]) {
    const src = new DeclarativeSource(manifest(concurrency))
    const t0 = performance.now()
    const out = await readAll(src, {}, catalogFor(['items']))
    const s = (performance.now() - t0) / 1000
    const pages = PARTITIONS
    const limit = (concurrency ?? 1) * (1000 / LATENCY_MS)
    console.log(`concurrency ${String(concurrency ?? 1).padStart(2)}: ${(pages / s).toFixed(1).padStart(6)} pages/s (${out.records.items?.length ?? 0} records in ${s.toFixed(2)} s; limit ${limit.toFixed(0)} pages/s, ${((100 * pages) / s / limit).toFixed(0)}% of it)`)
  }
} finally {
  await api.close()
}
