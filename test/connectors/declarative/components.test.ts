import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { DeclarativeSource } from '../../../src/connectors/declarative/declarative-source.js'
import { CompositeErrorHandler, DefaultErrorHandler, defaultResolution, type ObservedResponse } from '../../../src/connectors/declarative/http/error-handler.js'
import { joinUrl, redactUrl, responseHeaders } from '../../../src/connectors/declarative/http/http-requester.js'
import { RateLimiter } from '../../../src/connectors/declarative/http/rate-limiter.js'
import { evaluateNested, RequestParts } from '../../../src/connectors/declarative/http/request-parts.js'
import { loadManifest, resolveReferences } from '../../../src/connectors/declarative/manifest-loader.js'
import { validateManifest } from '../../../src/connectors/declarative/manifest-validator.js'
import { DatetimeCursor } from '../../../src/connectors/declarative/retriever/datetime-cursor.js'
import { createPaginator } from '../../../src/connectors/declarative/retriever/paginators.js'
import { autoDetectRecords, createTransformation, decodeBodies, extractRecords, normalizeToSchema, protectBigIntegers } from '../../../src/connectors/declarative/retriever/record-selector.js'
import { SluiceError } from '../../../src/errors.js'

const base = { config: {}, parameters: {} }

describe('manifest loading', () => {
  test('$ref is a shallow merge with local keys winning; bare "#/" strings are references', () => {
    const doc = resolveReferences({
      definitions: { req: { type: 'HttpRequester', url_base: 'https://a', path: '/x', request_headers: { A: '1' } }, schema: { type: 'object' } },
      streams: [{ requester: { $ref: '#/definitions/req', path: '/y', request_headers: { B: '2' } }, schema: '#/definitions/schema' }],
    })
    const s = (doc.streams as Array<Record<string, Record<string, unknown>>>)[0]
    assert.deepEqual(s?.requester, { type: 'HttpRequester', url_base: 'https://a', path: '/y', request_headers: { B: '2' } })
    assert.deepEqual(s?.schema, { type: 'object' })
  })

  test('circular and missing references are errors naming the reference', () => {
    assert.throws(() => resolveReferences({ a: { $ref: '#/b' }, b: { $ref: '#/a' } }), /circular reference/)
    assert.throws(() => resolveReferences({ a: { $ref: '#/nope/x' } }), /#\/nope\/x does not exist/)
  })

  test('default types and $parameters propagation', () => {
    const m = loadManifest({
      streams: [{ $parameters: { name: 'users', path: '/users', primary_key: 'id' }, retriever: { requester: { url_base: 'https://a' }, record_selector: { extractor: { field_path: [] } } } }],
    })
    const s = (m.streams as Array<Record<string, any>>)[0] as Record<string, any>
    assert.equal(m.type, 'DeclarativeSource')
    assert.equal(s.type, 'DeclarativeStream')
    assert.equal(s.name, 'users')
    assert.equal(s.primary_key, 'id')
    assert.equal(s.retriever.type, 'SimpleRetriever')
    assert.equal(s.retriever.requester.type, 'HttpRequester')
    assert.equal(s.retriever.requester.path, '/users')
    assert.equal(s.retriever.record_selector.extractor.type, 'DpathExtractor')
    assert.deepEqual(s.retriever.requester.$parameters, { name: 'users', path: '/users', primary_key: 'id' })
  })

  const minimal = (retriever: Record<string, unknown>): Record<string, unknown> => ({
    streams: [{ type: 'DeclarativeStream', name: 's', retriever: { type: 'SimpleRetriever', requester: { type: 'HttpRequester', url_base: 'https://a' }, record_selector: { extractor: { field_path: [] } }, ...retriever } }],
  })

  test('unsupported components are rejected with their path', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [minimal({ paginator: { type: 'DefaultPaginator', pagination_strategy: { type: 'CustomPaginationStrategy', class_name: 'x.Y' } } }), /CustomPaginationStrategy \(x\.Y\) at streams\[0\]\.retriever\.paginator\.pagination_strategy/],
      [minimal({ requester: { type: 'HttpRequester', url_base: 'https://a', authenticator: { type: 'ShopifyAuthenticator' } } }), /ShopifyAuthenticator at streams\[0\]\.retriever\.requester\.authenticator/],
      [minimal({ decoder: { type: 'ZipfileDecoder' } }), /ZipfileDecoder at streams\[0\]\.retriever\.decoder/],
      [{ dynamic_streams: [{ type: 'DynamicDeclarativeStream', components_resolver: { type: 'CustomComponentsResolver', class_name: 'x.R' } }] }, /CustomComponentsResolver \(x\.R\) at dynamic_streams\[0\]\.components_resolver/],
      [{ streams: [{ name: 'x', retriever: { class_name: 'source_x.components.Retriever' } }] }, /CustomComponent \(source_x\.components\.Retriever\) at streams\[0\]\.retriever/],
    ]
    for (const [doc, re] of cases) {
      assert.throws(() => validateManifest(loadManifest(doc)), (e: unknown) => {
        assert.ok(e instanceof SluiceError)
        assert.equal(e.code, 'SLUICE_ERR_UNSUPPORTED')
        assert.match(e.message, re)
        return true
      })
    }
  })

  test('a template syntax error is reported with its path as a warning when the source is created', () => {
    const src = new DeclarativeSource(minimal({ requester: { type: 'HttpRequester', url_base: 'https://a', path: "{{ config['x' }}" } }))
    assert.match(src.warnings.join('\n'), /streams\[0\]\.retriever\.requester\.path: template does not compile/)
  })

  test('a stream without a name is refused', () => {
    assert.throws(() => validateManifest(loadManifest({ streams: [{ retriever: { requester: { url_base: 'https://a' } } }] })), /streams\[0\]: a stream needs a name/)
  })

  test('unknown extra keys are ignored', () => {
    assert.doesNotThrow(() => validateManifest(loadManifest({ ...minimal({ some_builder_key: 1 }), metadata: { autoImportSchema: {} } })))
  })
})

describe('requests', () => {
  test('URL joining follows the CDK (leading slash stripped, absolute paths win)', () => {
    assert.equal(joinUrl('https://a.com/api/v1', '/users'), 'https://a.com/api/v1/users')
    assert.equal(joinUrl('https://a.com/api/v1/', 'users?x=1'), 'https://a.com/api/v1/users?x=1')
    assert.equal(joinUrl('https://a.com/api', 'https://b.com/next?page=2'), 'https://b.com/next?page=2')
    assert.equal(joinUrl('https://a.com/api', ''), 'https://a.com/api')
  })

  test('empty values are dropped, duplicates across sources are errors, nested body keeps non-empty leaves', () => {
    const p = new RequestParts()
    p.set('request_parameter', 'a', '', 'x')
    p.set('request_parameter', 'b', null, 'x')
    p.set('request_parameter', 'c', 0, 'x')
    assert.deepEqual([...p.params.keys()], ['c'])
    p.set('header', 'h', 'v', 'requester')
    assert.throws(() => p.set('header', 'h', 'w', 'paginator'), /set twice/)
    assert.deepEqual(evaluateNested({ a: "{{ config.missing }}", b: { c: '{{ config.x }}', d: '' }, e: 1 }, { config: { x: 'y' } }), { b: { c: 'y' }, e: 1 })
    p.set('body_json', ['outer', 'inner'], 5, 'slicer')
    assert.deepEqual(p.bodyJson, { outer: { inner: 5 } })
  })

  test('Link headers are parsed into rels; header lookups ignore case; URLs are redacted for logs', () => {
    const h = responseHeaders(new Headers({ Link: '<https://x/a?page=2>; rel="next", <https://x/a?page=9>; rel="last"', 'X-Total': '9' }))
    assert.deepEqual((h.link as Record<string, Record<string, string>>).next?.url, 'https://x/a?page=2')
    assert.equal(h['X-Total'], '9')
    assert.equal(redactUrl('https://x/a?api_key=secret&b=1'), 'https://x/a?api_key=…&b=…')
  })
})

describe('records', () => {
  test('decoding: top-level arrays split, invalid JSON is {} (lenient) or an error (strict)', () => {
    assert.deepEqual(decodeBodies('[{"a":1},{"a":2}]', 'JsonDecoder', false), { bodies: [{ a: 1 }, { a: 2 }], array: true })
    assert.deepEqual(decodeBodies('<html>', 'JsonDecoder', false).bodies, [{}])
    assert.throws(() => decodeBodies('<html>', 'JsonDecoder', true), /not valid JSON/)
    assert.deepEqual(decodeBodies('{"a":1}\n{"a":2}\n', 'JsonlDecoder', false).bodies, [{ a: 1 }, { a: 2 }])
  })

  test('integers beyond 2^53 stay exact (as strings); strings and floats are untouched', () => {
    const body = decodeBodies('{"id": 1234567890123456789, "neg": -9007199254740993, "ok": 9007199254740991, "s": "12345678901234567890 \\" 12345678901234567890", "f": 1234567890123456789.5, "e": 12345678901234567e3}', 'JsonDecoder', true).bodies[0]
    assert.deepEqual(body, { id: '1234567890123456789', neg: '-9007199254740993', ok: 9007199254740991, s: '12345678901234567890 " 12345678901234567890', f: 1234567890123456789.5, e: 12345678901234567e3 })
    assert.equal(protectBigIntegers('{"a":1}'), '{"a":1}')
  })

  test('dpath extraction: [], nested keys, * wildcard, missing path, single object', () => {
    const body = { data: { items: [{ id: 1 }, { id: 2 }] }, entries: [{ event: { id: 'a' } }, { event: { id: 'b' } }], one: { id: 9 } }
    assert.deepEqual(extractRecords(body, ['data', 'items']), [{ id: 1 }, { id: 2 }])
    assert.deepEqual(extractRecords(body, ['entries', '*', 'event']), [{ id: 'a' }, { id: 'b' }])
    assert.deepEqual(extractRecords(body, ['nope']), [])
    assert.deepEqual(extractRecords(body, ['one']), [{ id: 9 }])
    assert.deepEqual(extractRecords({}, []), [])
  })

  test('schema_normalization Default casts to the declared types', () => {
    const schema = { type: 'object', properties: { n: { type: ['null', 'integer'] }, s: { type: 'string' }, b: { type: 'boolean' }, tags: { type: 'array', items: { type: 'string' } }, x: { type: 'number' }, o: { type: 'object', properties: { f: { type: 'number' } } } } }
    const r = { n: '42', s: 7, b: 'TRUE', tags: 3, x: 'abc', o: { f: '1.5' }, extra: '1' }
    normalizeToSchema(r, schema)
    assert.deepEqual(r, { n: 42, s: '7', b: true, tags: ['3'], x: 'abc', o: { f: 1.5 }, extra: '1' })
  })

  test('record auto-detection for the REST API source', () => {
    assert.deepEqual(autoDetectRecords({ meta: { n: 1 }, tags: ['x'], results: [{ id: 1 }] }), [{ id: 1 }])
    assert.deepEqual(autoDetectRecords({ id: 1, name: 'solo' }), [{ id: 1, name: 'solo' }])
  })

  test('AddFields (nested path, value_type, condition) and RemoveFields (globs)', () => {
    const add = createTransformation({ type: 'AddFields', condition: "{{ record.kind == 'a' }}", fields: [{ path: ['meta', 'n'], value: '{{ record.v * 2 }}' }, { path: ['s'], value: '{{ record.v }}', value_type: 'string' }] }, base)
    const r1: Record<string, unknown> = { kind: 'a', v: 21 }
    add(r1, base)
    assert.deepEqual(r1, { kind: 'a', v: 21, meta: { n: 42 }, s: '21' })
    const r2: Record<string, unknown> = { kind: 'b', v: 1 }
    add(r2, base)
    assert.deepEqual(r2, { kind: 'b', v: 1 })
    const rm = createTransformation({ type: 'RemoveFields', field_pointers: [['secret'], ['nested', '*', 'pii'], ['missing']] }, base)
    const r3: Record<string, unknown> = { secret: 1, keep: 2, nested: { a: { pii: 1, ok: 1 }, b: { pii: 2 } } }
    rm(r3, base)
    assert.deepEqual(r3, { keep: 2, nested: { a: { ok: 1 }, b: {} } })
  })
})

describe('paginators', () => {
  const page = (rawCount: number, response: unknown = {}, headers: Record<string, unknown> = {}) => ({ response, headers, rawCount, lastRecord: null, ctx: base })

  test('PageIncrement: start page, injection on first request, short page stops', () => {
    const p = createPaginator({ type: 'DefaultPaginator', pagination_strategy: { type: 'PageIncrement', page_size: 2, start_from_page: 1, inject_on_first_request: true }, page_token_option: { type: 'RequestOption', inject_into: 'request_parameter', field_name: 'page' } })
    assert.equal(p.initialToken(base), 1)
    assert.equal(p.nextToken(page(2), 1), 2)
    assert.equal(p.nextToken(page(1), 2), null)
    const q = createPaginator({ type: 'DefaultPaginator', pagination_strategy: { type: 'PageIncrement' }, page_token_option: { type: 'RequestOption', inject_into: 'request_parameter', field_name: 'page' } })
    assert.equal(q.initialToken(base), undefined)
    assert.equal(q.nextToken(page(5), undefined), 1)
    assert.equal(q.nextToken(page(0), 1), null)
  })

  test('OffsetIncrement: running offset; without page_size only an empty page stops', () => {
    const p = createPaginator({ type: 'DefaultPaginator', pagination_strategy: { type: 'OffsetIncrement', page_size: 3, inject_on_first_request: true } })
    assert.equal(p.initialToken(base), 0)
    assert.equal(p.nextToken(page(3), 0), 3)
    assert.equal(p.nextToken(page(2), 3), null)
    const q = createPaginator({ type: 'DefaultPaginator', pagination_strategy: { type: 'OffsetIncrement' } })
    assert.equal(q.nextToken(page(7), undefined), 7)
    assert.equal(q.nextToken(page(0), 7), null)
  })

  test('CursorPagination: stop_condition first, then cursor_value; RequestPath overrides the path', () => {
    const p = createPaginator({ type: 'DefaultPaginator', pagination_strategy: { type: 'CursorPagination', cursor_value: "{{ response.next }}", stop_condition: '{{ not response.more }}' }, page_token_option: { type: 'RequestPath' } })
    assert.equal(p.nextToken(page(1, { more: true, next: 'https://x/p2' }), undefined), 'https://x/p2')
    assert.equal(p.nextToken(page(1, { more: false, next: 'https://x/p3' }), undefined), null)
    const parts = new RequestParts()
    p.inject(parts, 'https://x/p2', base)
    assert.equal(parts.pathOverride, 'https://x/p2')
  })
})

describe('DatetimeBasedCursor', () => {
  const cursor = (extra: Record<string, unknown>) =>
    new DatetimeCursor({ type: 'DatetimeBasedCursor', cursor_field: 'updated', datetime_format: '%Y-%m-%d', start_datetime: '2024-01-01', end_datetime: '2024-01-10', ...extra }, base)
  const windows = (c: DatetimeCursor, state?: unknown) => [...c.windows(c.startFrom(state))].map((w) => [c.format(w.lo), c.format(w.hi)])

  test('no step: one slice; step + granularity: windows, last ends at end_datetime', () => {
    assert.deepEqual(windows(cursor({})), [['2024-01-01', '2024-01-10']])
    assert.deepEqual(windows(cursor({ step: 'P4D', cursor_granularity: 'P1D' })), [['2024-01-01', '2024-01-04'], ['2024-01-05', '2024-01-08'], ['2024-01-09', '2024-01-10']])
  })

  test('state resumes (minus lookback, never before start); a start after the end gives no slices', () => {
    assert.deepEqual(windows(cursor({ lookback_window: 'P2D' }), '2024-01-06'), [['2024-01-04', '2024-01-10']])
    assert.deepEqual(windows(cursor({ lookback_window: 'P30D' }), '2024-01-06'), [['2024-01-01', '2024-01-10']])
    assert.deepEqual(windows(cursor({}), '2024-02-01'), [])
  })

  test('record cursor values parse with cursor_datetime_formats', () => {
    const c = cursor({ cursor_datetime_formats: ['%s', '%Y-%m-%dT%H:%M:%SZ'] })
    assert.equal(c.format(c.recordCursor({ updated: 1704153600 }) as never), '2024-01-02')
    assert.equal(c.format(c.recordCursor({ updated: '2024-01-03T05:00:00Z' }) as never), '2024-01-03')
    assert.equal(c.recordCursor({ updated: 'garbage' }), undefined)
  })
})

describe('error handling and rate limits', () => {
  const resp = (status: number, headers: Record<string, unknown> = {}, json: unknown = {}, text = ''): ObservedResponse => ({ status, headers, json, text, bytes: Buffer.from(text) })

  test('the default mapping', () => {
    assert.equal(defaultResolution(resp(200)).action, 'SUCCESS')
    assert.equal(defaultResolution(resp(429)).action, 'RATE_LIMITED')
    for (const s of [408, 500, 502, 503, 504]) assert.equal(defaultResolution(resp(s)).action, 'RETRY')
    assert.deepEqual([defaultResolution(resp(401)).action, defaultResolution(resp(401)).failureType], ['FAIL', 'config_error'])
    assert.deepEqual([defaultResolution(resp(404)).action, defaultResolution(resp(404)).failureType], ['FAIL', 'system_error'])
    assert.equal(defaultResolution({ ...resp(0), networkError: 'ECONNRESET' }).action, 'RETRY')
  })

  test('filters by code, predicate and message; composite: IGNORE beats FAIL; backoff strategies', () => {
    const h = new DefaultErrorHandler(
      {
        max_retries: 2,
        response_filters: [
          { action: 'IGNORE', http_codes: [404] },
          { action: 'RETRY', predicate: "{{ response.error == 'busy' }}" },
          { action: 'FAIL', error_message_contains: 'quota', error_message: 'quota: {{ response.msg }}', failure_type: 'config_error' },
        ],
        backoff_strategies: [{ type: 'WaitTimeFromHeader', header: 'Retry-After' }, { type: 'ExponentialBackoffStrategy', factor: 3 }],
      },
      base,
    )
    assert.equal(h.maxRetries, 2)
    assert.equal(h.interpret(resp(404)).action, 'IGNORE')
    assert.equal(h.interpret(resp(400, {}, { error: 'busy' })).action, 'RETRY')
    assert.deepEqual(h.interpret(resp(403, {}, { msg: 'over' }, 'quota exceeded')), { action: 'FAIL', failureType: 'config_error', message: 'quota: over' })
    assert.equal(h.interpret(resp(500)).action, 'RETRY')
    assert.equal(h.backoffSeconds(resp(429, { 'retry-after': '7' }), 1), 7)
    assert.equal(h.backoffSeconds(resp(429), 2), 12)
    const c = new CompositeErrorHandler([new DefaultErrorHandler({}, base), new DefaultErrorHandler({ response_filters: [{ action: 'IGNORE', http_codes: [404] }] }, base)])
    assert.equal(c.interpret(resp(404))?.action, 'IGNORE')
    assert.equal(c.interpret(resp(400))?.action, 'FAIL')
    const capped = new DefaultErrorHandler({ backoff_strategies: [{ type: 'WaitTimeFromHeader', header: 'Retry-After', max_waiting_time_in_seconds: 5 }] }, base)
    assert.throws(() => capped.backoffSeconds(resp(429, { 'retry-after': '60' }), 1), /max_waiting_time_in_seconds/)
  })

  test('requests per second are spaced; concurrency is capped', async () => {
    const limiter = new RateLimiter({ requestsPerSecond: 20, maxConcurrency: 10 })
    const started = Date.now()
    for (let i = 0; i < 5; i++) (await limiter.acquire())()
    assert.ok(Date.now() - started >= 190, `5 requests at 20/s took ${Date.now() - started} ms`)
    const one = new RateLimiter({ maxConcurrency: 1 })
    const release = await one.acquire()
    let second = false
    const pending = one.acquire().then((r) => {
      second = true
      r()
    })
    await new Promise((r) => setTimeout(r, 20))
    assert.equal(second, false)
    release()
    await pending
    assert.equal(second, true)
  })
})
