import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DeclarativeSource } from '../../../src/connectors/declarative/declarative-source.js'
import { SluiceError } from '../../../src/errors.js'
import { catalogFor, type MockApi, mockServers, readAll, runOptions } from './helpers/mock-api.js'

const mock = mockServers()

const ROWS = [{ id: 3 }, { id: 5 }, { id: 8 }, { id: 13 }]

function manifest(origin: string, cursor: Record<string, unknown>, retriever: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    spec: { connection_specification: { type: 'object', properties: { first_id: { type: 'integer' } } } },
    streams: [
      {
        type: 'DeclarativeStream',
        name: 'events',
        primary_key: 'id',
        incremental_sync: { type: 'IncrementingCountCursor', ...cursor },
        retriever: {
          type: 'SimpleRetriever',
          requester: { type: 'HttpRequester', url_base: `${origin}/api.example.com`, path: "/events{{ '/since/' ~ stream_interval.start if stream_interval.start else '' }}" },
          record_selector: { type: 'RecordSelector', extractor: { type: 'DpathExtractor', field_path: ['data'] } },
          ...retriever,
        },
      },
    ],
  }
}

/** Serves the ids above `since` (a query parameter), at most two per page (`after` = last id). */
function eventsApi(): Promise<MockApi> {
  return mock((r) => {
    const since = Number(r.query.get('since') ?? 0)
    const after = Number(r.query.get('after') ?? since)
    const page = ROWS.filter((x) => x.id > Math.max(since, after)).slice(0, 2)
    return { body: { data: page, next: page.length === 2 ? page[1]?.id : null } }
  })
}

const paginator = {
  type: 'DefaultPaginator',
  pagination_strategy: { type: 'CursorPagination', cursor_value: "{{ response.next }}", stop_condition: '{{ response.next is none }}' },
  page_token_option: { type: 'RequestOption', inject_into: 'request_parameter', field_name: 'after' },
}

test('IncrementingCountCursor: start_value from the config, state = highest id, the next sync starts there', async () => {
  const api = await eventsApi()
  const src = new DeclarativeSource(manifest(api.origin, { cursor_field: 'id', start_value: "{{ config['first_id'] }}", start_value_option: { type: 'RequestOption', inject_into: 'request_parameter', field_name: 'since' } }, { paginator }))
  const catalog = await src.discover({ first_id: 4 }, runOptions())
  assert.deepEqual(catalog.streams[0]?.supportedSyncModes, ['full_refresh', 'incremental'])
  assert.deepEqual(catalog.streams[0]?.defaultCursorField, ['id'])

  const first = await readAll(src, { first_id: 4 }, catalogFor(['events'], 'incremental'))
  assert.deepEqual(first.records.events?.map((r) => r.id), [5, 8, 13])
  assert.deepEqual(first.states.map((s) => s.data), [{ id: 13 }])
  assert.deepEqual(api.requests.map((r) => [r.path, r.query.get('since'), r.query.get('after')]), [['/events/since/4', '4', null], ['/events/since/4', '4', '8']])

  api.requests.length = 0
  const second = await readAll(src, { first_id: 4 }, catalogFor(['events'], 'incremental'), first.states)
  assert.deepEqual(second.records.events ?? [], [])
  // No new record: the state stays at the value the sync started from.
  assert.deepEqual(second.states.map((s) => s.data), [{ id: 13 }])
  assert.deepEqual(api.requests.map((r) => r.query.get('since')), ['13'])
})

test('IncrementingCountCursor: a saved value below start_value starts at start_value; full refresh sends start_value and emits no state', async () => {
  const api = await eventsApi()
  const src = new DeclarativeSource(manifest(api.origin, { cursor_field: 'id', start_value: 6, start_value_option: { type: 'RequestOption', inject_into: 'request_parameter', field_name: 'since' } }))
  const stale = [{ type: 'STATE' as const, stream: { name: 'events', namespace: null }, data: { id: 2 } }]
  const inc = await readAll(src, {}, catalogFor(['events'], 'incremental'), stale)
  assert.deepEqual(inc.records.events?.map((r) => r.id), [8, 13])
  assert.deepEqual(inc.states.map((s) => s.data), [{ id: 13 }])
  const full = await readAll(src, {}, catalogFor(['events']), [{ type: 'STATE', stream: { name: 'events', namespace: null }, data: { id: 100 } }])
  assert.deepEqual(full.states, [])
  assert.deepEqual(api.requests.map((r) => r.query.get('since')), ['6', '6'])
})

test('IncrementingCountCursor: refused with a partition router, and a start_value that is not an integer fails the read naming it', async () => {
  const withRouter = (origin: string): Record<string, unknown> => manifest(origin, { cursor_field: 'id' }, { partition_router: { type: 'ListPartitionRouter', cursor_field: 'k', values: ['a'] } })
  assert.throws(() => new DeclarativeSource(withRouter('http://127.0.0.1:1')), (e: unknown) => e instanceof SluiceError && /streams\[0\]: IncrementingCountCursor cannot be combined with a partition router/.test(e.message))
  const api = await eventsApi()
  const src = new DeclarativeSource(manifest(api.origin, { cursor_field: 'id', start_value: "{{ config['first'] }}" }))
  await assert.rejects(readAll(src, { first: 'abc' }, catalogFor(['events'], 'incremental')), /IncrementingCountCursor start_value "abc" is not an integer/)
  assert.equal(api.requests.length, 0)
})

test('IncrementingCountCursor in a StateDelegatingStream: the first sync through the full refresh stream ends with the highest id as state', async () => {
  const api = await eventsApi()
  const incremental = (manifest(api.origin, { cursor_field: 'id', start_value_option: { type: 'RequestOption', inject_into: 'request_parameter', field_name: 'since' } }, { paginator }).streams as Array<Record<string, unknown>>)[0] as Record<string, unknown>
  const full = { ...incremental, incremental_sync: undefined }
  const src = new DeclarativeSource({ streams: [{ type: 'StateDelegatingStream', name: 'events', full_refresh_stream: full, incremental_stream: incremental }] })
  const first = await readAll(src, {}, catalogFor(['events'], 'incremental'))
  assert.deepEqual(first.records.events?.map((r) => r.id), [3, 5, 8, 13])
  assert.deepEqual(first.states.map((s) => s.data), [{ id: 13 }])
  const second = await readAll(src, {}, catalogFor(['events'], 'incremental'), first.states)
  assert.deepEqual(second.records.events ?? [], [])
  assert.deepEqual(api.requests.map((r) => r.query.get('since')), [null, null, null, '13'])
})
