import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DeclarativeSource } from '../../../src/connectors/declarative/declarative-source.js'
import { SluiceError } from '../../../src/errors.js'
import { catalogFor, mockServers, readAll, runOptions } from './helpers/mock-api.js'

// Cross-cutting runtime behaviour: cancellation, timeouts, secrets in logs, data feeds and
// slicer parameters on paginated requests.

const mock = mockServers()

function stream(origin: string, retriever: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    streams: [
      {
        name: 'items',
        primary_key: 'id',
        retriever: {
          requester: { url_base: `${origin}/api.example.com`, path: '/items', authenticator: { type: 'ApiKeyAuthenticator', api_token: "{{ config['key'] }}", inject_into: { type: 'RequestOption', inject_into: 'request_parameter', field_name: 'api_key' } } },
          record_selector: { extractor: { field_path: ['data'] } },
          ...retriever,
        },
        ...extra,
      },
    ],
  }
}

test('aborting the signal stops a read promptly with a cancellation error', async () => {
  const api = await mock((r) => ({ body: { data: [{ id: Number(r.query.get('page') ?? 0) }] }, delayMs: 50 }))
  const source = new DeclarativeSource(
    stream(api.origin, { paginator: { type: 'DefaultPaginator', pagination_strategy: { type: 'PageIncrement', start_from_page: 1, inject_on_first_request: true }, page_token_option: { type: 'RequestOption', inject_into: 'request_parameter', field_name: 'page' } } }),
  )
  const ctrl = new AbortController()
  const started = Date.now()
  let atAbort = 0
  setTimeout(() => {
    atAbort = api.requests.length
    ctrl.abort()
  }, 300)
  await assert.rejects(readAll(source, { key: 'k' }, catalogFor(['items']), [], runOptions(ctrl.signal)), (e: unknown) => {
    assert.ok(e instanceof SluiceError)
    assert.equal(e.code, 'SLUICE_ERR_CANCELLED')
    return true
  })
  assert.ok(Date.now() - started < 2000)
  // A request sent just before the abort may reach the server after it (a busy machine); a read
  // that went on paging would add one every ~50 ms.
  await new Promise((r) => setTimeout(r, 300))
  assert.ok(api.requests.length <= atAbort + 1, `no request after the abort (${atAbort} then, ${api.requests.length} now)`)
})

test('a request that times out is retried, then fails as transient; the API key never reaches the logs', async () => {
  const api = await mock(() => ({ body: { data: [] }, delayMs: 400 }))
  const waits: number[] = []
  const source = new DeclarativeSource(stream(api.origin, { requester: { url_base: `${api.origin}/api.example.com`, path: '/items', authenticator: { type: 'ApiKeyAuthenticator', api_token: "{{ config['key'] }}", inject_into: { type: 'RequestOption', inject_into: 'request_parameter', field_name: 'api_key' } }, error_handler: { max_retries: 2 } } }), {
    requestTimeoutMs: 100,
    sleep: async (ms) => void waits.push(ms),
  })
  const opts = runOptions()
  await assert.rejects(readAll(source, { key: 'super-secret-key' }, catalogFor(['items']), [], opts), (e: unknown) => {
    assert.ok(e instanceof SluiceError)
    assert.equal(e.failureType, 'transient_error')
    assert.match(e.message, /timed out after 100 ms/)
    assert.doesNotMatch(e.message, /super-secret-key/)
    return true
  })
  assert.equal(api.requests.length, 3)
  assert.deepEqual(waits, [1000, 2000])
  assert.ok(opts.lines.length >= 2)
  for (const line of opts.lines) assert.doesNotMatch(line, /super-secret-key/)
})

test('is_data_feed stops paginating at the first record older than the state', async () => {
  const api = await mock((r) => {
    const page = Number(r.query.get('page'))
    const days = page === 1 ? ['2024-03-05', '2024-03-04'] : page === 2 ? ['2024-03-03', '2024-02-20'] : ['2024-02-10']
    return { body: { data: days.map((d, i) => ({ id: `${page}-${i}`, day: d })) } }
  })
  const source = new DeclarativeSource(
    stream(
      api.origin,
      { paginator: { type: 'DefaultPaginator', pagination_strategy: { type: 'PageIncrement', start_from_page: 1, inject_on_first_request: true }, page_token_option: { type: 'RequestOption', inject_into: 'request_parameter', field_name: 'page' } } },
      { incremental_sync: { type: 'DatetimeBasedCursor', cursor_field: 'day', datetime_format: '%Y-%m-%d', start_datetime: '2024-01-01', is_data_feed: true } },
    ),
  )
  const { records, states } = await readAll(source, { key: 'k' }, catalogFor(['items'], 'incremental'), [{ type: 'STATE', stream: { name: 'items' }, data: { day: '2024-03-01' } }])
  assert.deepEqual(api.requests.map((r) => r.query.get('page')), ['1', '2'])
  assert.equal(records.items?.length, 4)
  assert.deepEqual(states.at(-1)?.data, { day: '2024-03-05' })
})

test('ignore_stream_slicer_parameters_on_paginated_requests drops partition params after the first page', async () => {
  const api = await mock((r) => {
    if (r.query.get('cursor') === 'c2') return { body: { data: [{ id: 2 }] } }
    return { body: { data: [{ id: 1 }], next: 'c2' } }
  })
  const source = new DeclarativeSource(
    stream(api.origin, {
      partition_router: { type: 'ListPartitionRouter', values: ['eu'], cursor_field: 'region', request_option: { type: 'RequestOption', inject_into: 'request_parameter', field_name: 'region' } },
      paginator: { type: 'DefaultPaginator', pagination_strategy: { type: 'CursorPagination', cursor_value: '{{ response.next }}' }, page_token_option: { type: 'RequestOption', inject_into: 'request_parameter', field_name: 'cursor' } },
      ignore_stream_slicer_parameters_on_paginated_requests: true,
    }),
  )
  const { records } = await readAll(source, { key: 'k' }, catalogFor(['items']))
  assert.deepEqual(records.items?.map((r) => r.id), [1, 2])
  assert.deepEqual(api.requests.map((r) => r.query.get('region')), ['eu', null])
})
