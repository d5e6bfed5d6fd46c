import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DeclarativeSource, type DeclarativeSourceOptions } from '../../../src/connectors/declarative/declarative-source.js'
import { SluiceError } from '../../../src/errors.js'
import { catalogFor, mockServers, readAll } from './helpers/mock-api.js'

// Issue 14 A: cursor and stop values follow Python truthiness, and no manifest can make a
// partition page forever (same token, same request, request ceiling).

const mock = mockServers()

function source(origin: string, paginator: Record<string, unknown>, opts: DeclarativeSourceOptions = {}): DeclarativeSource {
  return new DeclarativeSource(
    {
      streams: [
        {
          name: 'items',
          primary_key: 'id',
          retriever: {
            requester: { url_base: `${origin}/api.example.com`, path: '/items' },
            record_selector: { extractor: { field_path: ['data'] } },
            paginator: { type: 'DefaultPaginator', ...paginator },
          },
        },
      ],
    },
    opts,
  )
}

const cursorOption = { page_token_option: { type: 'RequestOption', inject_into: 'request_parameter', field_name: 'cursor' } }

for (const [label, fallback] of [['empty dict', '{}'], ['empty list', '[]'], ['empty string', "''"], ['zero', '0'], ['None', 'None']] as const) {
  test(`a cursor_value that evaluates to ${label} ends pagination (Python truthiness)`, async () => {
    const api = await mock(() => ({ body: { data: [{ id: 1 }] } }))
    const src = source(api.origin, { pagination_strategy: { type: 'CursorPagination', cursor_value: `{{ response.get('next', ${fallback}) }}` }, ...cursorOption })
    const out = await readAll(src, {}, catalogFor(['items']))
    assert.equal(api.requests.length, 1)
    assert.deepEqual(out.records.items, [{ id: 1 }])
  })
}

test("a stop_condition that renders {} does not stop; True does (the CDK's InterpolatedBoolean)", async () => {
  const api = await mock((r) => (r.query.get('cursor') === 'p2' ? { body: { data: [{ id: 2 }], done: true, next: 'p3' } } : { body: { data: [{ id: 1 }], next: 'p2' } }))
  const src = source(api.origin, { pagination_strategy: { type: 'CursorPagination', cursor_value: "{{ response.next }}", stop_condition: "{{ response.get('done', {}) }}" }, ...cursorOption })
  const out = await readAll(src, {}, catalogFor(['items']))
  assert.deepEqual(out.records.items, [{ id: 1 }, { id: 2 }])
  assert.equal(api.requests.length, 2)
})

function assertLoopError(e: unknown, what: RegExp): true {
  assert.ok(e instanceof SluiceError)
  assert.equal(e.failureType, 'config_error')
  assert.match(e.message, what)
  return true
}

test('the same next-page token twice in a row ends the partition with an error', async () => {
  const api = await mock(() => ({ body: { data: [{ id: 1 }], next: 'abc' } }))
  const src = source(api.origin, { pagination_strategy: { type: 'CursorPagination', cursor_value: '{{ response.next }}' }, ...cursorOption })
  await assert.rejects(readAll(src, {}, catalogFor(['items'])), (e) => assertLoopError(e, /same next-page token twice in a row \(abc\)/))
  assert.equal(api.requests.length, 2)
})

test('the same request twice in a row ends the partition with an error (token never injected)', async () => {
  let n = 0
  const api = await mock(() => ({ body: { data: [{ id: ++n }], next: `t${n}` } }))
  const src = source(api.origin, { pagination_strategy: { type: 'CursorPagination', cursor_value: '{{ response.next }}' } })
  await assert.rejects(readAll(src, {}, catalogFor(['items'])), (e) => assertLoopError(e, /same request twice in a row/))
  assert.equal(api.requests.length, 2)
})

test('a ceiling on requests per partition stops a paginator that never ends', async () => {
  const api = await mock((r) => ({ body: { data: [{ id: Number(r.query.get('page')) }] } }))
  const src = source(api.origin, { pagination_strategy: { type: 'PageIncrement', start_from_page: 1, inject_on_first_request: true }, page_token_option: { type: 'RequestOption', inject_into: 'request_parameter', field_name: 'page' } }, { maxRequestsPerPartition: 5 })
  await assert.rejects(readAll(src, {}, catalogFor(['items'])), (e) => assertLoopError(e, /more than 5 requests for one partition/))
  assert.equal(api.requests.length, 5)
})
