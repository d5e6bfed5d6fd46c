import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { DeclarativeSource } from '../../../src/connectors/declarative/declarative-source.js'
import { catalogFor, runOptions, startMockApi, type MockApi } from './helpers/mock-api.js'

// A manifest paging through 1,000,000 records must run in bounded memory, and the source must
// not run ahead of a slow consumer (backpressure through the async generator).

const TOTAL = 1_000_000
const PAGE = 1000
const servers: MockApi[] = []
after(async () => {
  await Promise.all(servers.map((s) => s.close()))
})

function pageBody(offset: number, limit: number, total: number): string {
  const n = Math.max(0, Math.min(limit, total - offset))
  const parts: string[] = []
  for (let i = 0; i < n; i++) {
    const id = offset + i
    parts.push(`{"id":${id},"name":"record-${id}","amount":${(id % 1000) / 10},"updated_at":"2024-01-01T00:00:00Z","tags":["a","b"]}`)
  }
  return `{"total":${total},"data":[${parts.join(',')}]}`
}

function manifest(origin: string, pageSize: number): Record<string, unknown> {
  return {
    version: '6.0.0',
    type: 'DeclarativeSource',
    check: { type: 'CheckStream', stream_names: ['items'] },
    streams: [
      {
        type: 'DeclarativeStream',
        name: 'items',
        primary_key: 'id',
        retriever: {
          type: 'SimpleRetriever',
          requester: { type: 'HttpRequester', url_base: origin, path: '/big/items', http_method: 'GET' },
          record_selector: { type: 'RecordSelector', extractor: { type: 'DpathExtractor', field_path: ['data'] } },
          paginator: {
            type: 'DefaultPaginator',
            pagination_strategy: { type: 'OffsetIncrement', page_size: pageSize, inject_on_first_request: true },
            page_token_option: { type: 'RequestOption', inject_into: 'request_parameter', field_name: 'offset' },
            page_size_option: { type: 'RequestOption', inject_into: 'request_parameter', field_name: 'limit' },
          },
        },
        schema_loader: { type: 'InlineSchemaLoader', schema: { type: 'object', properties: {} } },
      },
    ],
    spec: { type: 'Spec', connection_specification: { type: 'object', properties: {} } },
  }
}

test('1,000,000 records through 1,000 pages in bounded memory', { timeout: 60_000 }, async () => {
  const api = await startMockApi((r) => ({ body: pageBody(Number(r.query.get('offset')), Number(r.query.get('limit')), TOTAL), headers: { 'content-type': 'application/json' } }))
  servers.push(api)
  const source = new DeclarativeSource(manifest(api.origin, PAGE))
  const baseline = process.memoryUsage()
  let peakHeap = baseline.heapUsed
  let peakRss = baseline.rss
  let rows = 0
  let lastId = -1
  let batches = 0
  const started = Date.now()
  for await (const m of source.read({}, catalogFor(['items']), [], runOptions())) {
    if (m.type !== 'RECORD_BATCH') continue
    batches++
    const r = m.rows()
    rows += r.length
    lastId = r[r.length - 1]?.id as number
    if (batches % 50 === 0) {
      const mu = process.memoryUsage()
      peakHeap = Math.max(peakHeap, mu.heapUsed)
      peakRss = Math.max(peakRss, mu.rss)
    }
  }
  const seconds = (Date.now() - started) / 1000
  assert.equal(rows, TOTAL)
  assert.equal(lastId, TOTAL - 1)
  assert.equal(api.requests.length, TOTAL / PAGE + 1, 'one extra request sees the empty page')
  const heapGrowthMb = (peakHeap - baseline.heapUsed) / 1e6
  const rssGrowthMb = (peakRss - baseline.rss) / 1e6
  // Holding the records would need several hundred MB; a bounded pipeline stays far below.
  assert.ok(heapGrowthMb < 120, `heap grew ${heapGrowthMb.toFixed(1)} MB`)
  assert.ok(rssGrowthMb < 200, `rss grew ${rssGrowthMb.toFixed(1)} MB`)
  process.stderr.write(`# 1M records: ${seconds.toFixed(1)} s (${Math.round(TOTAL / seconds)} records/s), heap +${heapGrowthMb.toFixed(1)} MB, rss +${rssGrowthMb.toFixed(1)} MB\n`)
})

test('a slow consumer holds the source back: no page is fetched ahead of the batch being consumed', async () => {
  const api = await startMockApi((r) => ({ body: pageBody(Number(r.query.get('offset')), Number(r.query.get('limit')), 10_000) }))
  servers.push(api)
  const source = new DeclarativeSource(manifest(api.origin, 100), { batchRows: 100 })
  const iterator = source.read({}, catalogFor(['items']), [], runOptions())[Symbol.asyncIterator]()
  let first = await iterator.next()
  while (!first.done && first.value.type !== 'RECORD_BATCH') first = await iterator.next()
  await new Promise((r) => setTimeout(r, 200))
  assert.equal(api.requests.length, 1, 'only the page being consumed was fetched')
  await iterator.return?.()
  assert.equal(api.requests.length, 1)
})
