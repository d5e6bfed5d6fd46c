import assert from 'node:assert/strict'
import { createSecretKey, generateKeyPairSync } from 'node:crypto'
import { decodeProtectedHeader, jwtVerify } from 'jose'
import { test } from 'node:test'
import { DeclarativeSource } from '../../../src/connectors/declarative/declarative-source.js'
import { catalogFor, mockServers, readAll, runOptions } from './helpers/mock-api.js'

// Issue 14: components the CDK has that sluice lacked, each against a mock server.

const mock = mockServers()

function stream(origin: string, name: string, path: string, retriever: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'DeclarativeStream',
    name,
    primary_key: 'id',
    retriever: {
      type: 'SimpleRetriever',
      requester: { type: 'HttpRequester', url_base: `${origin}/api.example.com`, path },
      record_selector: { type: 'RecordSelector', extractor: { type: 'DpathExtractor', field_path: [] } },
      ...retriever,
    },
    ...extra,
  }
}

test('XmlDecoder: attributes as @name, text as #text, repeated elements as a list', async () => {
  const xml = '<?xml version="1.0"?><root><item id="1" kind="book"><name>Dune</name></item><item id="2"><name>Emma</name><note lang="en"> hi </note></item></root>'
  const api = await mock(() => ({ body: xml }))
  const src = new DeclarativeSource({ streams: [stream(api.origin, 'items', '/items', { decoder: { type: 'XmlDecoder' }, record_selector: { type: 'RecordSelector', extractor: { type: 'DpathExtractor', field_path: ['root', 'item'] } } })] })
  const out = await readAll(src, {}, catalogFor(['items']))
  assert.deepEqual(out.records.items, [
    { '@id': '1', '@kind': 'book', name: 'Dune' },
    { '@id': '2', name: 'Emma', note: { '@lang': 'en', '#text': 'hi' } },
  ])
})

test('XmlDecoder: a body that is not XML yields no records (the CDK yields {})', async () => {
  const api = await mock(() => ({ body: '<root><unclosed></root>' }))
  const src = new DeclarativeSource({ streams: [stream(api.origin, 'items', '/items', { decoder: { type: 'XmlDecoder' }, record_selector: { type: 'RecordSelector', extractor: { type: 'DpathExtractor', field_path: ['root', 'item'] } } })] })
  const out = await readAll(src, {}, catalogFor(['items']))
  assert.deepEqual(out.records.items ?? [], [])
})

test('IterableDecoder: each line is a record {record: line}', async () => {
  const api = await mock(() => ({ body: 'alpha\nbeta\n\ngamma\n' }))
  const src = new DeclarativeSource({ streams: [stream(api.origin, 'lines', '/lines', { decoder: { type: 'IterableDecoder' } })] })
  const out = await readAll(src, {}, catalogFor(['lines']))
  assert.deepEqual(out.records.lines, [{ record: 'alpha' }, { record: 'beta' }, { record: 'gamma' }])
})

test('RESET_PAGINATION restarts the partition from its first page', async () => {
  let failed = false
  const api = await mock((r) => {
    const page = Number(r.query.get('page') ?? 1)
    if (page === 2 && !failed) {
      failed = true
      return { status: 400, body: { error: 'cursor expired' } }
    }
    return { body: page <= 2 ? [{ id: page }] : [] }
  })
  const src = new DeclarativeSource({
    streams: [
      stream(api.origin, 'items', '/items', {
        paginator: { type: 'DefaultPaginator', pagination_strategy: { type: 'PageIncrement', start_from_page: 1, page_size: 1 }, page_token_option: { type: 'RequestOption', inject_into: 'request_parameter', field_name: 'page' } },
        requester: { type: 'HttpRequester', url_base: `${api.origin}/api.example.com`, path: '/items', error_handler: { type: 'DefaultErrorHandler', response_filters: [{ type: 'HttpResponseFilter', http_codes: [400], action: 'RESET_PAGINATION' }] } },
      }),
    ],
  })
  const out = await readAll(src, {}, catalogFor(['items']))
  assert.deepEqual(api.requests.map((r) => r.query.get('page')), [null, '2', null, '2', '3'])
  assert.deepEqual(out.records.items, [{ id: 1 }, { id: 1 }, { id: 2 }])
})

test('StateDelegatingStream: full refresh stream without state, incremental stream with it', async () => {
  const api = await mock((r) => {
    if (r.path === '/export') return { body: [{ id: 1, updated: '2024-01-01T00:00:00Z' }, { id: 2, updated: '2024-01-03T00:00:00Z' }] }
    return { body: [{ id: 3, updated: `${r.query.get('since')}` }] }
  })
  const incremental = stream(api.origin, 'items', '/changes', {}, {
    incremental_sync: {
      type: 'DatetimeBasedCursor',
      cursor_field: 'updated',
      datetime_format: '%Y-%m-%dT%H:%M:%SZ',
      start_datetime: '2024-01-01T00:00:00Z',
      end_datetime: '2024-01-05T00:00:00Z',
      start_time_option: { type: 'RequestOption', inject_into: 'request_parameter', field_name: 'since' },
    },
  })
  const src = new DeclarativeSource({ streams: [{ type: 'StateDelegatingStream', name: 'items', full_refresh_stream: stream(api.origin, 'items', '/export'), incremental_stream: incremental }] })
  const first = await readAll(src, {}, catalogFor(['items'], 'incremental'))
  assert.deepEqual(first.records.items?.map((r) => r.id), [1, 2])
  assert.deepEqual(first.states.map((s) => s.data), [{ updated: '2024-01-03T00:00:00Z' }])
  const second = await readAll(src, {}, catalogFor(['items'], 'incremental'), first.states)
  assert.deepEqual(api.requests.map((r) => r.path), ['/export', '/changes'])
  assert.deepEqual(second.records.items, [{ id: 3, updated: '2024-01-03T00:00:00Z' }])
  const catalog = await src.discover({}, runOptions())
  assert.deepEqual(catalog.streams[0]?.defaultCursorField, ['updated'])
})

test('JwtAuthenticator: HS256 with claims, headers and prefix, verified by the server', async () => {
  const api = await mock(() => ({ body: [{ id: 1 }] }))
  const auth = {
    type: 'JwtAuthenticator',
    secret_key: "{{ config['secret'] }}",
    algorithm: 'HS256',
    token_duration: 600,
    header_prefix: 'Bearer',
    jwt_headers: { kid: "{{ config['kid'] }}", typ: 'JWT' },
    jwt_payload: { iss: "{{ config['issuer'] }}", aud: 'api.example.com' },
    additional_jwt_payload: { scope: 'read' },
  }
  const src = new DeclarativeSource({ streams: [stream(api.origin, 'items', '/items', { requester: { type: 'HttpRequester', url_base: `${api.origin}/api.example.com`, path: '/items', authenticator: auth } })] })
  await readAll(src, { secret: 's3cret-s3cret-s3cret-s3cret-s3cret', kid: 'k1', issuer: 'sluice' }, catalogFor(['items']))
  const header = String(api.requests[0]?.headers.authorization)
  assert.match(header, /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/)
  const token = header.slice('Bearer '.length)
  const { payload } = await jwtVerify(token, createSecretKey(Buffer.from('s3cret-s3cret-s3cret-s3cret-s3cret')), { issuer: 'sluice', audience: 'api.example.com' })
  assert.equal(payload.scope, 'read')
  assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 600)
  assert.equal(payload.nbf, payload.iat)
  assert.deepEqual(decodeProtectedHeader(token), { kid: 'k1', typ: 'JWT', alg: 'HS256' })
  await assert.rejects(jwtVerify(token, createSecretKey(Buffer.from('another-secret-another-secret-123'))))
})

test('JwtAuthenticator: RS256 with a PEM private key; a reserved claim in additional_jwt_payload fails', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const api = await mock(() => ({ body: [{ id: 1 }] }))
  const make = (extra: Record<string, unknown>) =>
    new DeclarativeSource({ streams: [stream(api.origin, 'items', '/items', { requester: { type: 'HttpRequester', url_base: `${api.origin}/api.example.com`, path: '/items', authenticator: { type: 'JwtAuthenticator', secret_key: "{{ config['pem'] }}", algorithm: 'RS256', token_duration: 60, ...extra } } })] })
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  await readAll(make({}), { pem }, catalogFor(['items']))
  const token = String(api.requests[0]?.headers.authorization)
  await jwtVerify(token, publicKey)
  await assert.rejects(readAll(make({ additional_jwt_payload: { exp: 1 } }), { pem }, catalogFor(['items'])), /reserved/)
})

test('partitions are read concurrently up to concurrency_level; records and state stay in partition order', async () => {
  let inFlight = 0
  let maxInFlight = 0
  const api = await mock(async (r) => {
    inFlight++
    maxInFlight = Math.max(maxInFlight, inFlight)
    const p = Number(r.query.get('p'))
    // Later partitions answer sooner: order must come from the source, not from the server.
    await new Promise((resolve) => setTimeout(resolve, 5 + (12 - p) * 3))
    inFlight--
    return { body: [{ id: p, updated: `2024-01-0${1 + (p % 5)}T00:00:00Z` }] }
  })
  const values = Array.from({ length: 12 }, (_, i) => String(i))
  const src = new DeclarativeSource({
    concurrency_level: { type: 'ConcurrencyLevel', default_concurrency: 4, max_concurrency: 8 },
    streams: [
      stream(api.origin, 'items', '/items', { partition_router: { type: 'ListPartitionRouter', values, cursor_field: 'p', request_option: { type: 'RequestOption', inject_into: 'request_parameter', field_name: 'p' } } }, {
        incremental_sync: { type: 'DatetimeBasedCursor', cursor_field: 'updated', datetime_format: '%Y-%m-%dT%H:%M:%SZ', start_datetime: '2024-01-01T00:00:00Z', end_datetime: '2024-01-09T00:00:00Z' },
      }),
    ],
  })
  const out = await readAll(src, {}, catalogFor(['items'], 'incremental'))
  assert.equal(maxInFlight, 4)
  assert.deepEqual(out.records.items?.map((r) => r.id), values.map(Number))
  const final = out.states.at(-1)?.data as { states: Array<{ partition: { p: string } }> }
  assert.deepEqual(final.states.map((s) => s.partition.p), values)
})

test('LegacySessionTokenAuthenticator: a valid configured token is used; otherwise one login per run', async () => {
  const api = await mock((r) => {
    const session = r.headers['x-session']
    if (r.path === '/validate') return session === 'good' ? { body: { ok: true } } : { status: 401, body: {} }
    if (r.path === '/login') {
      const body = JSON.parse(r.body) as { username: string; password: string }
      return body.username === 'ada' && body.password === 'pw' ? { body: { id: 'tok-1' } } : { status: 403, body: {} }
    }
    return session === 'good' || session === 'tok-1' ? { body: [{ id: 1, session }] } : { status: 401, body: {} }
  })
  const auth = {
    type: 'LegacySessionTokenAuthenticator',
    header: 'X-Session',
    api_url: `${api.origin}/api.example.com`,
    session_token: "{{ config['session_token'] }}",
    session_token_response_key: 'id',
    username: "{{ config['username'] }}",
    password: "{{ config['password'] }}",
    login_url: '/login',
    validate_session_url: '/validate',
  }
  const requester = { type: 'HttpRequester', url_base: `${api.origin}/api.example.com`, authenticator: auth }
  const src = new DeclarativeSource({
    streams: ['a', 'b'].map((name) => stream(api.origin, name, `/${name}`, { requester: { ...requester, path: `/${name}` } })),
  })
  const valid = await readAll(src, { session_token: 'good' }, catalogFor(['a']))
  assert.deepEqual(valid.records.a, [{ id: 1, session: 'good' }])
  assert.deepEqual(api.requests.map((r) => r.path), ['/validate', '/a'])
  api.requests.length = 0
  const loggedIn = await readAll(src, { session_token: 'stale', username: 'ada', password: 'pw' }, catalogFor(['a', 'b']))
  assert.deepEqual(loggedIn.records.b, [{ id: 1, session: 'tok-1' }])
  assert.deepEqual(api.requests.map((r) => r.path), ['/validate', '/login', '/a', '/b'])
  await assert.rejects(readAll(src, { session_token: 'stale', username: 'ada', password: 'wrong' }, catalogFor(['a'])), /session login failed: HTTP 403/)
})
