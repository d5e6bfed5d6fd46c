import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { DeclarativeSource } from '../../../src/connectors/declarative/declarative-source.js'
import { catalogFor, readAll, startMockApi, type MockApi, type MockHandler } from './helpers/mock-api.js'

// Components that real Airbyte manifests use and sluice refused until now, each against a mock server.

const servers: MockApi[] = []
after(async () => {
  await Promise.all(servers.map((s) => s.close()))
})

async function mock(handler: MockHandler): Promise<MockApi> {
  const s = await startMockApi(handler)
  servers.push(s)
  return s
}

function stream(origin: string, name: string, path: string, retriever: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'DeclarativeStream',
    name,
    primary_key: 'id',
    retriever: {
      type: 'SimpleRetriever',
      requester: { type: 'HttpRequester', url_base: `${origin}/api.example.com`, path },
      record_selector: { type: 'RecordSelector', extractor: { type: 'DpathExtractor', field_path: ['data'] } },
      ...retriever,
    },
    ...extra,
  }
}

const nested = { id: 1, owner: { id: 7, name: 'x', address: { city: 'Oslo' } }, tags: ['a', 'b'], meta: { name: 'm' } }

test('FlattenFields: nested keys keep their name unless taken, then parent.key; lists become parent.index', async () => {
  const api = await mock(() => ({ body: { data: [nested, { id: 2, items: [{ sku: 's1', qty: 2 }, { sku: 's2' }], empty: {}, none: null }] } }))
  const src = new DeclarativeSource({ streams: [stream(api.origin, 'things', '/things', {}, { transformations: [{ type: 'FlattenFields' }] })] })
  const out = await readAll(src, {}, catalogFor(['things']))
  // Expected values computed with the CDK's FlattenFields on the same records.
  assert.deepEqual(out.records.things, [
    { name: 'm', 'tags.1': 'b', 'tags.0': 'a', 'owner.address.city': 'Oslo', 'owner.name': 'x', 'owner.id': 7, id: 1 },
    { none: null, 'items.1.sku': 's2', 'items.0.qty': 2, 'items.0.sku': 's1', id: 2 },
  ])
})

test('FlattenFields with flatten_lists: false keeps lists; a nested key emitted first wins, as in the CDK', async () => {
  const api = await mock(() => ({ body: { data: [nested] } }))
  const src = new DeclarativeSource({ streams: [stream(api.origin, 'things', '/things', {}, { transformations: [{ type: 'FlattenFields', flatten_lists: false }] })] })
  const out = await readAll(src, {}, catalogFor(['things']))
  // The CDK walks the last key first: owner.id is emitted as `id` and then replaced by the top-level id.
  assert.deepEqual(out.records.things, [{ name: 'm', tags: ['a', 'b'], city: 'Oslo', 'owner.name': 'x', id: 1 }])
})

test('FlattenFields: a flatten_lists that is not a boolean is refused with its path', () => {
  assert.throws(
    () => new DeclarativeSource({ streams: [stream('http://127.0.0.1:9', 'things', '/things', {}, { transformations: [{ type: 'FlattenFields', flatten_lists: 'sometimes' }] })] }),
    /streams\[0\]\.transformations\[0\]\.flatten_lists: flatten_lists must be true or false/,
  )
})
