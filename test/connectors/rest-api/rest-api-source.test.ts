import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { restApiDefinition, RestApiSource } from '../../../src/connectors/rest-api/index.js'
import { ConnectorRegistry } from '../../../src/connectors/registry.js'
import { builtinDefinitions } from '../../../src/connectors/builtin-definitions.js'
import { SluiceError } from '../../../src/errors.js'
import { catalogFor, mockServers, readAll, runOptions } from '../declarative/helpers/mock-api.js'

const api = mockServers()

const customers = (from: number, n: number): Array<Record<string, unknown>> =>
  Array.from({ length: n }, (_, i) => ({ id: from + i, name: `c${from + i}`, updated_at: `2024-01-${String(((from + i) % 28) + 1).padStart(2, '0')}T00:00:00Z` }))

describe('REST API source: the seed form {url, api_key, method}', () => {
  test('is listed under the name the seed looks up', () => {
    const registry = new ConnectorRegistry(builtinDefinitions())
    const found = registry.sources().filter((d) => d.name.toLowerCase().includes('rest api'))
    assert.equal(found.length, 1)
    assert.equal(found[0]?.definitionId, restApiDefinition.definitionId)
    assert.equal(found[0]?.dockerRepository, 'sluice/source-rest-api')
  })

  test('check, discover and read with a bearer key and an auto-detected record array', async () => {
    const s = await api((r) => (r.headers.authorization === 'Bearer k-123' ? { body: { data: customers(1, 3), meta: { total: 3 } } } : { status: 401, body: { error: 'bad key' } }))
    const source = new RestApiSource()
    const config = { url: `${s.origin}/api.example.com/customers`, api_key: 'k-123', method: 'GET' }
    const status = await source.check(config, runOptions())
    assert.equal(status.status, 'succeeded', status.message)
    assert.equal(s.requests.length, 1)
    const catalog = await source.discover(config, runOptions())
    const stream = catalog.streams[0]
    assert.equal(stream?.name, 'customers')
    assert.deepEqual(stream?.sourceDefinedPrimaryKey, [['id']])
    const props = stream?.jsonSchema.properties as Record<string, { type: unknown; format?: string }>
    assert.equal(props.id?.type, 'integer')
    assert.equal(props.updated_at?.format, 'date-time')
    const { records } = await readAll(source, config, catalogFor(['customers']))
    assert.deepEqual(records.customers?.map((c) => c.id), [1, 2, 3])
    const bad = await source.check({ ...config, api_key: 'nope' }, runOptions())
    assert.equal(bad.status, 'failed')
    assert.match(bad.message, /401/)
    assert.doesNotMatch(bad.message, /nope/)
  })

  test('a top-level array body, api key in a header or a query parameter, records_path as JSONPath', async () => {
    const s = await api((r) => {
      if (r.path === '/list') return r.headers['x-token'] === 'h1' ? { body: customers(1, 2) } : { status: 403, body: {} }
      if (r.path === '/nested') return r.query.get('key') === 'q1' ? { body: { result: { items: customers(5, 2), other: [1, 2, 3] } } } : { status: 403, body: {} }
      return { status: 404, body: {} }
    })
    const source = new RestApiSource()
    const a = await readAll(source, { url: `${s.origin}/h/list`, api_key: 'h1', api_key_location: 'header', api_key_name: 'X-Token' }, catalogFor(['list']))
    assert.deepEqual(a.records.list?.map((c) => c.id), [1, 2])
    const b = await readAll(source, { url: `${s.origin}/h/nested`, api_key: 'q1', api_key_location: 'query', api_key_name: 'key', records_path: '$.result.items', stream_name: 'people' }, catalogFor(['people']))
    assert.deepEqual(b.records.people?.map((c) => c.id), [5, 6])
  })

  test('POST with a JSON body, extra headers and params', async () => {
    const s = await api((r) => ({ body: { rows: [{ id: 1, echo: JSON.parse(r.body || '{}'), h: r.headers['x-extra'], p: r.query.get('region') }] } }))
    const source = new RestApiSource()
    const { records } = await readAll(source, { url: `${s.origin}/h/search`, method: 'POST', body: { query: 'active', limit: 10 }, headers: { 'X-Extra': 'yes' }, params: { region: 'eu' } }, catalogFor(['search']))
    assert.deepEqual(records.search, [{ id: 1, echo: { query: 'active', limit: 10 }, h: 'yes', p: 'eu' }])
    assert.equal(s.requests[0]?.method, 'POST')
  })
})

describe('REST API source: pagination styles', () => {
  const total = 7
  test('page number', async () => {
    const s = await api((r) => {
      const page = Number(r.query.get('page'))
      return { body: { items: customers((page - 1) * 3 + 1, Math.max(0, Math.min(3, total - (page - 1) * 3))) } }
    })
    const { records } = await readAll(new RestApiSource(), { url: `${s.origin}/h/items`, pagination: { type: 'page', page_size: 3, page_size_param: 'size' } }, catalogFor(['items']))
    assert.deepEqual(records.items?.map((c) => c.id), [1, 2, 3, 4, 5, 6, 7])
    assert.deepEqual(s.requests.map((r) => `${r.query.get('page')}/${r.query.get('size')}`), ['1/3', '2/3', '3/3'])
  })

  test('offset/limit', async () => {
    const s = await api((r) => {
      const offset = Number(r.query.get('offset'))
      const limit = Number(r.query.get('limit'))
      return { body: { items: customers(offset + 1, Math.max(0, Math.min(limit, total - offset))) } }
    })
    const { records } = await readAll(new RestApiSource(), { url: `${s.origin}/h/items`, pagination: { type: 'offset', page_size: 3 } }, catalogFor(['items']))
    assert.deepEqual(records.items?.map((c) => c.id), [1, 2, 3, 4, 5, 6, 7])
    assert.deepEqual(s.requests.map((r) => r.query.get('offset')), ['0', '3', '6'])
  })

  test('cursor from a response field', async () => {
    const s = await api((r) => {
      const c = r.query.get('after')
      if (!c) return { body: { data: customers(1, 2), paging: { next: 'tok2' } } }
      if (c === 'tok2') return { body: { data: customers(3, 2), paging: { next: null } } }
      return { status: 400, body: {} }
    })
    const { records } = await readAll(new RestApiSource(), { url: `${s.origin}/h/items`, pagination: { type: 'cursor', cursor_path: 'paging.next', cursor_param: 'after' } }, catalogFor(['items']))
    assert.deepEqual(records.items?.map((c) => c.id), [1, 2, 3, 4])
    assert.equal(s.requests.length, 2)
  })

  test('Link header', async () => {
    let origin = ''
    const s = await api((r) => {
      const page = Number(r.query.get('page') ?? 1)
      const headers: Record<string, string> = page < 3 ? { link: `<${origin}/h/items?page=${page + 1}>; rel="next", <${origin}/h/items?page=3>; rel="last"` } : {}
      return { headers, body: customers(page * 10, 2) }
    })
    origin = s.origin
    const { records } = await readAll(new RestApiSource(), { url: `${s.origin}/h/items` }, catalogFor(['items']))
    assert.equal(records.items?.length, 2, 'pagination none reads one page')
    const paged = await readAll(new RestApiSource(), { url: `${s.origin}/h/items`, pagination: { type: 'link_header' } }, catalogFor(['items']))
    assert.deepEqual(paged.records.items?.map((c) => c.id), [10, 11, 20, 21, 30, 31])
  })

  test('next URL in the body', async () => {
    let origin = ''
    const s = await api((r) => {
      const page = Number(r.query.get('p') ?? 1)
      return { body: { results: customers(page * 10, 1), links: { next: page < 3 ? `${origin}/h/items?p=${page + 1}` : null } } }
    })
    origin = s.origin
    const { records } = await readAll(new RestApiSource(), { url: `${s.origin}/h/items`, pagination: { type: 'next_url', next_url_path: 'links.next' } }, catalogFor(['items']))
    assert.deepEqual(records.items?.map((c) => c.id), [10, 20, 30])
  })
})

describe('REST API source: errors, retries and incremental state', () => {
  test('429 with Retry-After is honoured, then the request succeeds', async () => {
    let calls = 0
    const s = await api(() => (++calls === 1 ? { status: 429, headers: { 'retry-after': '1' }, body: { error: 'slow down' } } : { body: customers(1, 2) }))
    const started = Date.now()
    const { records } = await readAll(new RestApiSource(), { url: `${s.origin}/h/items` }, catalogFor(['items']))
    assert.equal(records.items?.length, 2)
    assert.equal(calls, 2)
    assert.ok(Date.now() - started >= 950, `waited ${Date.now() - started} ms`)
  })

  test('a 500 then success is retried with backoff; a permanent 500 fails as transient', async () => {
    const waits: number[] = []
    let calls = 0
    const s = await api((r) => (r.path === '/always' ? { status: 500, body: 'boom' } : ++calls === 1 ? { status: 500, body: 'boom' } : { body: customers(1, 1) }))
    const source = new RestApiSource({ sleep: async (ms) => void waits.push(ms) })
    const { records } = await readAll(source, { url: `${s.origin}/h/items` }, catalogFor(['items']))
    assert.equal(records.items?.length, 1)
    assert.deepEqual(waits, [1000])
    await assert.rejects(readAll(source, { url: `${s.origin}/h/always` }, catalogFor(['always'])), (e: unknown) => {
      assert.ok(e instanceof SluiceError)
      assert.equal(e.failureType, 'transient_error')
      assert.match(e.message, /after 5 retries/)
      return true
    })
    assert.deepEqual(waits, [1000, 1000, 2000, 4000, 8000, 16000])
  })

  test('incremental: cursor sent as a parameter, older records dropped, state = newest value', async () => {
    const s = await api(() => ({ body: { data: [{ id: 1, updated_at: '2024-01-01T00:00:00Z' }, { id: 2, updated_at: '2024-02-01T00:00:00Z' }, { id: 3, updated_at: '2024-01-15T00:00:00Z' }] } }))
    const source = new RestApiSource()
    const config = { url: `${s.origin}/h/events`, cursor_field: 'updated_at', cursor_param: 'since' }
    const first = await readAll(source, config, catalogFor(['events'], 'incremental'))
    assert.equal(first.records.events?.length, 3)
    assert.equal(s.requests[0]?.query.has('since'), false)
    assert.deepEqual(first.states.at(-1)?.data, { updated_at: '2024-02-01T00:00:00Z' })
    const second = await readAll(source, config, catalogFor(['events'], 'incremental'), first.states)
    assert.equal(s.requests[1]?.query.get('since'), '2024-02-01T00:00:00Z')
    assert.deepEqual(second.records.events?.map((e) => e.id), [2])
    const catalog = await source.discover(config, runOptions())
    assert.deepEqual(catalog.streams[0]?.supportedSyncModes, ['full_refresh', 'incremental'])
    assert.deepEqual(catalog.streams[0]?.defaultCursorField, ['updated_at'])
  })

  test('a malformed JSON body fails clearly and the state does not advance', async () => {
    let calls = 0
    const s = await api(() => (++calls === 1 ? { body: { data: [{ id: 1, updated_at: '2024-03-01' }], next: 'p2' } } : { body: '{"data": [ {"id": 2,' }))
    const source = new RestApiSource()
    const config = { url: `${s.origin}/h/events`, cursor_field: 'updated_at', pagination: { type: 'cursor', cursor_path: 'next' } }
    const seen: string[] = []
    await assert.rejects(
      (async () => {
        for await (const m of source.read(config, catalogFor(['events'], 'incremental'), [], runOptions())) seen.push(m.type)
      })(),
      (e: unknown) => {
        assert.ok(e instanceof SluiceError)
        assert.equal(e.failureType, 'config_error')
        assert.match(e.message, /not valid JSON/)
        return true
      },
    )
    assert.equal(seen.includes('STATE'), false)
  })

  test('an invalid url is a failed check, not a crash', async () => {
    const status = await new RestApiSource().check({ url: 'ftp://example.com/x' }, runOptions())
    assert.equal(status.status, 'failed')
    assert.match(status.message, /http or https/)
  })
})

describe('REST API source through the Config API (the seed\'s create_api_source)', () => {
  test('sources/create with {url, api_key, method: "GET"} validates, checks and discovers', async () => {
    const { createHarness } = await import('../../api/api-harness.js')
    const h = await createHarness()
    const s = await api((r) => (r.headers.authorization === 'Bearer your-api-key' ? { body: { customers: customers(1, 2) } } : { status: 401, body: {} }))
    try {
      const list = (await h.post('source_definitions/list', { workspaceId: h.workspaceId })).json() as { sourceDefinitions: Array<{ name: string; sourceDefinitionId: string }> }
      const def = list.sourceDefinitions.find((d) => d.name.toLowerCase().includes('rest api'))
      assert.ok(def)
      const created = await h.post('sources/create', {
        sourceDefinitionId: def.sourceDefinitionId,
        connectionConfiguration: { url: `${s.origin}/api.example.com/customers`, api_key: 'your-api-key', method: 'GET' },
        workspaceId: h.workspaceId,
        name: 'CRM API',
      })
      assert.equal(created.statusCode, 200, created.body)
      const source = created.json() as { sourceId: string; connectionConfiguration: { api_key: string } }
      assert.notEqual(source.connectionConfiguration.api_key, 'your-api-key', 'the key is masked in responses')
      const check = (await h.post('sources/check_connection', { sourceId: source.sourceId })).json() as { status: string }
      assert.equal(check.status, 'succeeded')
      const discovered = (await h.post('sources/discover_schema', { sourceId: source.sourceId })).json() as { catalog: { streams: Array<{ stream: { name: string } }> } }
      assert.equal(discovered.catalog.streams[0]?.stream.name, 'customers')
      const bad = await h.post('sources/create', { sourceDefinitionId: def.sourceDefinitionId, connectionConfiguration: { url: 'not a url' }, workspaceId: h.workspaceId, name: 'bad' })
      assert.equal(bad.statusCode, 422)
    } finally {
      await h.close()
    }
  })
})

test('a root-relative next URL resolves against the host', async () => {
  const s = await api((r) => (r.query.get('p') === '2' ? { body: { results: [{ id: 2 }], next: null } } : { body: { results: [{ id: 1 }], next: '/h/items?p=2' } }))
  const { records } = await readAll(new RestApiSource(), { url: `${s.origin}/h/items?x=1`, pagination: { type: 'next_url' } }, catalogFor(['items']))
  assert.deepEqual(records.items?.map((r) => r.id), [1, 2])
  assert.equal(s.requests[0]?.query.get('x'), '1')
  assert.equal(s.requests[1]?.path, '/items')
})

test('requests_per_second spaces the requests of a source', async () => {
  const s = await api((r) => {
    const page = Number(r.query.get('page'))
    return { body: { items: page <= 4 ? [{ id: page }] : [] } }
  })
  const started = Date.now()
  const { records } = await readAll(new RestApiSource(), { url: `${s.origin}/h/items`, pagination: { type: 'page' }, requests_per_second: 20 }, catalogFor(['items']))
  assert.equal(records.items?.length, 4)
  assert.equal(s.requests.length, 5)
  // 5 requests at 20/s: the last one starts at least 200 ms after the first.
  assert.ok(Date.now() - started >= 190, `took ${Date.now() - started} ms`)
})
