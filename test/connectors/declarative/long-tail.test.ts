import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { DeclarativeSource } from '../../../src/connectors/declarative/declarative-source.js'
import { createTransformation } from '../../../src/connectors/declarative/retriever/record-selector.js'
import { catalogFor, readAll, runOptions, startMockApi, type MockApi } from './helpers/mock-api.js'

// Less common components: SessionTokenAuthenticator, state_migrations (accepted, ignored),
// KeysToSnakeCase, KeysReplace, DpathFlattenFields.

const servers: MockApi[] = []
after(async () => {
  await Promise.all(servers.map((s) => s.close()))
})

function manifest(origin: string, extraStream: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '6.0.0',
    check: { stream_names: ['tickets'] },
    definitions: {
      auth: {
        type: 'SessionTokenAuthenticator',
        login_requester: {
          type: 'HttpRequester',
          url_base: `${origin}/login.example.com`,
          path: '/session',
          http_method: 'POST',
          request_body_json: { username: "{{ config['username'] }}", password: "{{ config['password'] }}" },
        },
        session_token_path: ['data', 'token'],
        expiration_duration: 'PT1H',
        request_authentication: { type: 'ApiKey', inject_into: { type: 'RequestOption', inject_into: 'header', field_name: 'X-Session' } },
      },
    },
    streams: [
      {
        name: 'tickets',
        primary_key: 'id',
        retriever: {
          requester: { url_base: `${origin}/api.example.com`, path: '/tickets', authenticator: { $ref: '#/definitions/auth' } },
          record_selector: { extractor: { field_path: ['tickets'] } },
          paginator: { type: 'DefaultPaginator', pagination_strategy: { type: 'PageIncrement', page_size: 1, start_from_page: 1, inject_on_first_request: true }, page_token_option: { type: 'RequestOption', inject_into: 'request_parameter', field_name: 'page' } },
        },
        state_migrations: [{ type: 'LegacyToPerPartitionStateMigration' }],
        schema_loader: { type: 'InlineSchemaLoader', schema: { type: 'object' } },
        ...extraStream,
      },
    ],
    spec: { connection_specification: { type: 'object', required: ['username', 'password'], properties: { username: { type: 'string' }, password: { type: 'string', airbyte_secret: true } } } },
  }
}

test('SessionTokenAuthenticator logs in once, injects the token, logs in again after a 401', async () => {
  let logins = 0
  let ticketCalls = 0
  const api = await startMockApi((r) => {
    if (r.host === 'login.example.com') {
      const body = JSON.parse(r.body) as { username: string; password: string }
      if (body.password !== 'pw') return { status: 401, body: { error: 'bad login' } }
      logins++
      return { body: { data: { token: `sess-${logins}` } } }
    }
    ticketCalls++
    if (ticketCalls === 2 && r.headers['x-session'] === 'sess-1') return { status: 401, body: { error: 'expired' } }
    const page = Number(r.query.get('page'))
    return { body: { tickets: page <= 2 ? [{ id: page, Subject_Line: 'Hi', 'Created-At': '2024', owner: { id: 7, name: 'x' } }] : [] } }
  })
  servers.push(api)
  const source = new DeclarativeSource(manifest(api.origin))
  const { records } = await readAll(source, { username: 'ada', password: 'pw' }, catalogFor(['tickets']))
  assert.deepEqual(records.tickets?.map((t) => t.id), [1, 2])
  assert.equal(logins, 2)
  const ticketReqs = api.requests.filter((r) => r.host === 'api.example.com')
  assert.deepEqual(ticketReqs.map((r) => r.headers['x-session']), ['sess-1', 'sess-1', 'sess-2', 'sess-2'])
  const bad = await source.check({ username: 'ada', password: 'nope' }, runOptions())
  assert.equal(bad.status, 'failed')
  assert.match(bad.message, /401/)
})

test('KeysToSnakeCase, KeysReplace and DpathFlattenFields', () => {
  const base = { config: {}, parameters: {} }
  const r: Record<string, unknown> = { Subject_Line: 'a', 'Created-At': 1, userID: 2, owner: { id: 7, name: 'x' } }
  createTransformation({ type: 'KeysToSnakeCase' }, base)(r, base)
  assert.deepEqual(Object.keys(r).sort(), ['created_at', 'owner', 'subject_line', 'user_id'])
  const k: Record<string, unknown> = { 'a.b': 1, nested: { 'c.d': 2 } }
  createTransformation({ type: 'KeysReplace', old: '.', new: '_' }, base)(k, base)
  assert.deepEqual(k, { a_b: 1, nested: { c_d: 2 } })
  const f: Record<string, unknown> = { id: 1, owner: { id: 7, name: 'x' } }
  createTransformation({ type: 'DpathFlattenFields', field_path: ['owner'], delete_origin_value: true }, base)(f, base)
  assert.deepEqual(f, { id: 1, name: 'x' })
  const g: Record<string, unknown> = { id: 1, payload: { a: 1 } }
  createTransformation({ type: 'DpathFlattenFields', field_path: ['payload'], replace_record: true }, base)(g, base)
  assert.deepEqual(g, { a: 1 })
})

test('incremental_dependency: the parent is read from its own state, kept in the child state as parent_state', async () => {
  const tickets = [
    { id: 1, updated: '2024-01-05' },
    { id: 2, updated: '2024-02-10' },
  ]
  const api = await startMockApi((r) => {
    if (r.path === '/tickets') return { body: { data: tickets.filter((t) => t.updated >= (r.query.get('since') ?? '')) } }
    const m = /^\/tickets\/(\d+)\/comments$/.exec(r.path)
    if (m) return { body: { data: [{ id: `c${m[1]}`, created: m[1] === '1' ? '2024-01-06' : '2024-02-11' }] } }
    return { status: 404, body: {} }
  })
  servers.push(api)
  const requester = { type: 'HttpRequester', url_base: `${api.origin}/api.example.com` }
  const parent = {
    type: 'DeclarativeStream',
    name: 'tickets',
    primary_key: 'id',
    retriever: { type: 'SimpleRetriever', requester: { ...requester, path: '/tickets' }, record_selector: { extractor: { field_path: ['data'] } } },
    incremental_sync: { type: 'DatetimeBasedCursor', cursor_field: 'updated', datetime_format: '%Y-%m-%d', start_datetime: '2024-01-01', start_time_option: { type: 'RequestOption', inject_into: 'request_parameter', field_name: 'since' } },
  }
  const source = new DeclarativeSource({
    streams: [
      parent,
      {
        type: 'DeclarativeStream',
        name: 'comments',
        primary_key: 'id',
        retriever: {
          type: 'SimpleRetriever',
          requester: { ...requester, path: '/tickets/{{ stream_partition.ticket_id }}/comments' },
          record_selector: { extractor: { field_path: ['data'] } },
          partition_router: { type: 'SubstreamPartitionRouter', parent_stream_configs: [{ type: 'ParentStreamConfig', stream: parent, parent_key: 'id', partition_field: 'ticket_id', incremental_dependency: true }] },
        },
        incremental_sync: { type: 'DatetimeBasedCursor', cursor_field: 'created', datetime_format: '%Y-%m-%d', start_datetime: '2024-01-01' },
      },
    ],
  })
  const first = await readAll(source, {}, catalogFor(['comments'], 'incremental'))
  assert.deepEqual(first.records.comments?.map((c) => c.id), ['c1', 'c2'])
  const state = first.states.at(-1)?.data as { parent_state: Record<string, unknown>; states: unknown[] }
  assert.deepEqual(state.parent_state, { tickets: { updated: '2024-02-10' } })
  assert.equal(state.states.length, 2)

  tickets.push({ id: 3, updated: '2024-03-01' })
  const before = api.requests.length
  const second = await readAll(source, {}, catalogFor(['comments'], 'incremental'), [{ type: 'STATE', stream: { name: 'comments' }, data: state }])
  const reqs = api.requests.slice(before)
  assert.equal(reqs[0]?.query.get('since'), '2024-02-10', 'the parent resumes from parent_state')
  assert.deepEqual(reqs.slice(1).map((r) => r.path), ['/tickets/2/comments', '/tickets/3/comments'])
  assert.deepEqual(second.records.comments?.map((c) => c.id), ['c2', 'c3'])
  assert.deepEqual((second.states.at(-1)?.data as { parent_state: unknown }).parent_state, { tickets: { updated: '2024-03-01' } })
})

test('past maxPartitionStates partitions the state becomes one global cursor (the lowest value)', async () => {
  const days: Record<string, string> = { a: '2024-02-01', b: '2024-01-15', c: '2024-03-01', d: '2024-01-20' }
  const api = await startMockApi((r) => ({ body: { data: [{ id: r.query.get('k'), day: days[r.query.get('k') ?? ''] }] } }))
  servers.push(api)
  const source = new DeclarativeSource(
    {
      streams: [
        {
          name: 'events',
          retriever: {
            requester: { url_base: `${api.origin}/api.example.com`, path: '/events' },
            record_selector: { extractor: { field_path: ['data'] } },
            partition_router: { type: 'ListPartitionRouter', values: ['a', 'b', 'c', 'd'], cursor_field: 'k', request_option: { type: 'RequestOption', inject_into: 'request_parameter', field_name: 'k' } },
          },
          incremental_sync: { type: 'DatetimeBasedCursor', cursor_field: 'day', datetime_format: '%Y-%m-%d', start_datetime: '2024-01-01', start_time_option: { type: 'RequestOption', inject_into: 'request_parameter', field_name: 'since' } },
        },
      ],
    },
    { maxPartitionStates: 2 },
  )
  const first = await readAll(source, {}, catalogFor(['events'], 'incremental'))
  assert.equal(first.records.events?.length, 4)
  assert.deepEqual(first.states.at(-1)?.data, { use_global_cursor: true, state: { day: '2024-01-15' } })
  const before = api.requests.length
  await readAll(source, {}, catalogFor(['events'], 'incremental'), first.states)
  assert.deepEqual(api.requests.slice(before).map((r) => r.query.get('since')), ['2024-01-15', '2024-01-15', '2024-01-15', '2024-01-15'])
})
