import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DeclarativeSource } from '../../../src/connectors/declarative/declarative-source.js'
import { catalogFor, mockServers, readAll, runOptions } from './helpers/mock-api.js'

// Components that real Airbyte manifests use and sluice refused until now, each against a mock server.

const mock = mockServers()

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

function dynamicSchemaStream(origin: string, identifier: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return stream(origin, 'rows', '/rows', {}, {
    schema_loader: {
      type: 'DynamicSchemaLoader',
      retriever: {
        type: 'SimpleRetriever',
        requester: { type: 'HttpRequester', url_base: `${origin}/api.example.com`, path: '/meta', request_parameters: { table: "{{ config['table'] }}" } },
        record_selector: { type: 'RecordSelector', extractor: { type: 'DpathExtractor', field_path: [] } },
      },
      schema_type_identifier: { type: 'SchemaTypeIdentifier', ...identifier },
      ...extra,
    },
  })
}

const metaBody = {
  table: {
    columns: [
      { name: 'id', kind: 'int' },
      { name: 'title', kind: 'text' },
      { name: 'price', kind: 'decimal', scale: 2 },
      { name: 'count', kind: 'decimal', scale: 0 },
      { name: 'tags', kind: 'list' },
      { name: 'either', kind: 'mixed' },
      { name: 'secret_note', kind: 'text' },
      { name: 'untyped' },
    ],
  },
}

test('DynamicSchemaLoader: discover builds the schema from the API (types_mapping with conditions, filter, transformations)', async () => {
  const api = await mock((r) => (r.path === '/meta' ? { body: r.query.get('table') === 'items' ? metaBody : { table: { columns: [] } } } : { body: { data: [{ id: 1, title: 'Lamp' }] } }))
  const src = new DeclarativeSource({
    streams: [
      dynamicSchemaStream(api.origin, {
        schema_pointer: ['table', 'columns'],
        key_pointer: ['name'],
        type_pointer: ['kind'],
        types_mapping: [
          { type: 'TypesMap', current_type: 'int', target_type: 'integer' },
          { type: 'TypesMap', current_type: 'text', target_type: 'string' },
          { type: 'TypesMap', current_type: 'decimal', target_type: 'integer', condition: "{{ raw_schema['scale'] == 0 }}" },
          { type: 'TypesMap', current_type: 'decimal', target_type: 'number' },
          { type: 'TypesMap', current_type: 'list', target_type: { field_type: 'array', items: 'string' } },
          { type: 'TypesMap', current_type: 'mixed', target_type: ['string', 'integer'] },
        ],
      }, {
        schema_filter: { type: 'RecordFilter', condition: "{{ 'secret' not in record.keys() | join }}" },
        schema_transformations: [{ type: 'AddFields', fields: [{ path: ['_loaded_from'], value: "{{ {'type': ['null', 'string']} }}" }] }],
      }),
    ],
  })
  const catalog = await src.discover({ table: 'items' }, runOptions())
  assert.deepEqual(catalog.streams[0]?.jsonSchema, {
    $schema: 'http://json-schema.org/draft-07/schema#',
    type: 'object',
    additionalProperties: true,
    properties: {
      id: { type: ['null', 'integer'] },
      title: { type: ['null', 'string'] },
      price: { type: ['null', 'number'] },
      count: { type: ['null', 'integer'] },
      tags: { type: ['null', 'array'], items: { type: ['null', 'string'] } },
      either: { oneOf: [{ type: ['null', 'string'] }, { type: ['null', 'integer'] }] },
      untyped: { type: ['null', 'string'] },
      _loaded_from: { type: ['null', 'string'] },
    },
  })
  assert.deepEqual(api.requests.map((r) => `${r.path}?${r.query.toString()}`), ['/meta?table=items'])
  // A read does not need the schema: the records come as served.
  const out = await readAll(src, { table: 'items' }, catalogFor(['rows']))
  assert.deepEqual(out.records.rows, [{ id: 1, title: 'Lamp' }])
})

test('DynamicSchemaLoader: a type the mapping leaves unknown, or a key that is not a string, fails discover naming the field', async () => {
  const api = await mock(() => ({ body: { table: { columns: [{ name: 'id', kind: 'int' }] } } }))
  const unmapped = new DeclarativeSource({ streams: [dynamicSchemaStream(api.origin, { schema_pointer: ['table', 'columns'], key_pointer: ['name'], type_pointer: ['kind'] })] })
  await assert.rejects(unmapped.discover({ table: 'items' }, runOptions()), /stream rows: schema_loader\.schema_type_identifier: field id: invalid Airbyte data type "int"/)
  const badKey = new DeclarativeSource({ streams: [dynamicSchemaStream(api.origin, { schema_pointer: ['table', 'columns'], key_pointer: ['kind', 'missing'] })] })
  await assert.rejects(badKey.discover({ table: 'items' }, runOptions()), /schema_type_identifier\.key_pointer: expected a string field name, got null/)
  const badPointer = new DeclarativeSource({ streams: [dynamicSchemaStream(api.origin, { schema_pointer: ['table'], key_pointer: ['name'] })] })
  await assert.rejects(badPointer.discover({ table: 'items' }, runOptions()), /schema_pointer: \["table"\] does not point to a list/)
  assert.throws(() => new DeclarativeSource({ streams: [dynamicSchemaStream(api.origin, { schema_pointer: ['table', 'columns'] })] }), /streams\[0\]\.schema_loader: DynamicSchemaLoader needs a retriever and schema_type_identifier\.key_pointer/)
})

test('GroupingPartitionRouter: list partitions in batches of group_size, duplicates skipped by default', async () => {
  const api = await mock((r) => ({ body: { data: [{ id: `rows of ${r.query.get('ids') ?? ''}` }] } }))
  const src = new DeclarativeSource({
    streams: [
      stream(api.origin, 'items', '/items', {
        requester: { type: 'HttpRequester', url_base: `${api.origin}/api.example.com`, path: '/items', request_parameters: { ids: "{{ stream_partition.ids | join(',') }}" } },
        partition_router: { type: 'GroupingPartitionRouter', group_size: 2, underlying_partition_router: { type: 'ListPartitionRouter', cursor_field: 'ids', values: ['a', 'b', 'a', 'c', 'd', 'e'] } },
      }),
    ],
  })
  const out = await readAll(src, {}, catalogFor(['items']))
  assert.deepEqual(out.records.items, [{ id: 'rows of a,b' }, { id: 'rows of c,d' }, { id: 'rows of e' }])
})

test('GroupingPartitionRouter over a substream: parent ids and extra fields grouped, deduplicate: false keeps repeats', async () => {
  const api = await mock((r) => {
    if (r.path === '/boards') return { body: { data: [{ id: 1, name: 'x' }, { id: 2, name: 'y' }, { id: 1, name: 'x again' }] } }
    return { body: { data: [{ id: r.query.get('board_ids') }] } }
  })
  const parent = stream(api.origin, 'boards', '/boards')
  const src = new DeclarativeSource({
    streams: [
      stream(api.origin, 'items', '/items', {
        requester: { type: 'HttpRequester', url_base: `${api.origin}/api.example.com`, path: '/items', request_parameters: { board_ids: "{{ stream_partition.board_ids | join('|') }}" } },
        partition_router: {
          type: 'GroupingPartitionRouter',
          group_size: 2,
          deduplicate: false,
          underlying_partition_router: { type: 'SubstreamPartitionRouter', parent_stream_configs: [{ type: 'ParentStreamConfig', stream: parent, parent_key: 'id', partition_field: 'board_ids', extra_fields: [['name']] }] },
        },
      }, { transformations: [{ type: 'AddFields', fields: [{ path: ['names'], value: "{{ stream_slice.extra_fields['name'] }}" }] }] }),
    ],
  })
  const out = await readAll(src, {}, catalogFor(['items']))
  assert.deepEqual(out.records.items, [{ id: '1|2', names: ['x', 'y'] }, { id: '1', names: ['x again'] }])
})

test('GroupingPartitionRouter: a request_option on the grouped router or a group_size below 1 is refused', () => {
  const grouped = (under: Record<string, unknown>, groupSize: unknown = 2): Record<string, unknown> => ({ streams: [stream('http://127.0.0.1:9', 'items', '/items', { partition_router: { type: 'GroupingPartitionRouter', group_size: groupSize, underlying_partition_router: under } })] })
  const list = { type: 'ListPartitionRouter', cursor_field: 'ids', values: ['a'] }
  assert.throws(() => new DeclarativeSource(grouped({ ...list, request_option: { type: 'RequestOption', inject_into: 'request_parameter', field_name: 'id' } })), /streams\[0\]\.retriever\.partition_router\.underlying_partition_router: request options are not supported under a GroupingPartitionRouter/)
  assert.throws(() => new DeclarativeSource(grouped(list, 0)), /partition_router\.group_size: group_size must be an integer greater than 0/)
})

/** A contacts API answering only the properties asked for, two records a page. */
function contactsApi(r: { path: string; query: URLSearchParams }): { body: unknown } {
  const props = (r.query.get('properties') ?? '').split(',')
  const page = Number(r.query.get('page') ?? '1')
  const ids = page === 1 ? [1, 2] : [3]
  return { body: { data: ids.map((id) => Object.fromEntries([['id', id], ...props.filter((p) => p !== 'id').map((p) => [p, `${p}-${id}`]), ['meta', { [`seen_${props.length}`]: true }]])) } }
}

test('QueryProperties: static property_list chunked by property_count, always_include_properties, records of the chunks merged by id per page', async () => {
  const api = await mock((r) => contactsApi(r))
  const src = new DeclarativeSource({
    streams: [
      stream(api.origin, 'contacts', '/contacts', {
        requester: {
          type: 'HttpRequester',
          url_base: `${api.origin}/api.example.com`,
          path: '/contacts',
          request_parameters: {
            properties: { type: 'QueryProperties', property_list: ['a', 'b', 'c', 'd', 'e'], always_include_properties: ['id'], property_chunking: { type: 'PropertyChunking', property_limit_type: 'property_count', property_limit: 2, record_merge_strategy: { type: 'GroupByKey', key: 'id' } } },
          },
        },
        paginator: { type: 'DefaultPaginator', pagination_strategy: { type: 'PageIncrement', page_size: 2, start_from_page: 1, inject_on_first_request: true }, page_token_option: { type: 'RequestOption', inject_into: 'request_parameter', field_name: 'page' } },
      }),
    ],
  })
  const out = await readAll(src, {}, catalogFor(['contacts']))
  assert.deepEqual(api.requests.map((r) => `${r.query.get('page')}:${r.query.get('properties')}`), ['1:id,a,b', '1:id,c,d', '1:id,e', '2:id,a,b', '2:id,c,d', '2:id,e'])
  const full = (id: number): Record<string, unknown> => ({ id, a: `a-${id}`, b: `b-${id}`, c: `c-${id}`, d: `d-${id}`, e: `e-${id}`, meta: { seen_3: true, seen_2: true } })
  assert.deepEqual(out.records.contacts, [full(1), full(2), full(3)])
})

test('QueryProperties: PropertiesFromEndpoint read once per run, chunked by characters', async () => {
  const api = await mock((r) => {
    if (r.path === '/properties') return { body: { results: [{ name: 'alpha' }, { name: 'beta' }, { name: 'gamma' }] } }
    const props = (r.query.get('props') ?? '').split(',')
    return { body: { data: [Object.fromEntries([['id', `${r.query.get('list')}-1`], ...props.map((p) => [p, p.length])])] } }
  })
  const src = new DeclarativeSource({
    streams: [
      stream(api.origin, 'deals', '/deals', {
        requester: {
          type: 'HttpRequester',
          url_base: `${api.origin}/api.example.com`,
          path: '/deals',
          request_parameters: {
            props: {
              type: 'QueryProperties',
              property_list: {
                type: 'PropertiesFromEndpoint',
                property_field_path: ['name'],
                retriever: { type: 'SimpleRetriever', requester: { type: 'HttpRequester', url_base: `${api.origin}/api.example.com`, path: '/properties' }, record_selector: { type: 'RecordSelector', extractor: { type: 'DpathExtractor', field_path: ['results'] } } },
              },
              property_chunking: { type: 'PropertyChunking', property_limit_type: 'characters', property_limit: 16 },
            },
          },
        },
        partition_router: { type: 'ListPartitionRouter', cursor_field: 'list', values: ['x', 'y'], request_option: { type: 'RequestOption', inject_into: 'request_parameter', field_name: 'list' } },
      }),
    ],
  })
  const out = await readAll(src, {}, catalogFor(['deals']))
  assert.deepEqual(api.requests.map((r) => `${r.path}?${r.query.toString()}`), ['/properties?', '/deals?props=alpha%2Cbeta&list=x', '/deals?props=gamma&list=x', '/deals?props=alpha%2Cbeta&list=y', '/deals?props=gamma&list=y'])
  assert.deepEqual(out.records.deals, [{ id: 'x-1', alpha: 5, beta: 4, gamma: 5 }, { id: 'y-1', alpha: 5, beta: 4, gamma: 5 }])
})

test('QueryProperties: an unknown property_limit_type or two QueryProperties in one requester are refused with the path', () => {
  const withParams = (params: Record<string, unknown>): Record<string, unknown> => ({ streams: [stream('http://127.0.0.1:9', 'deals', '/deals', { requester: { type: 'HttpRequester', url_base: 'http://127.0.0.1:9', path: '/deals', request_parameters: params } })] })
  const qp = (limitType: string): Record<string, unknown> => ({ type: 'QueryProperties', property_list: ['a'], property_chunking: { type: 'PropertyChunking', property_limit_type: limitType, property_limit: 2 } })
  assert.throws(() => new DeclarativeSource(withParams({ props: qp('bytes') })), /streams\[0\]\.retriever\.requester\.request_parameters\.props\.property_chunking\.property_limit_type: property_limit_type must be characters or property_count/)
  assert.throws(() => new DeclarativeSource(withParams({ props: qp('characters'), more: qp('characters') })), /request_parameters may hold only one QueryProperties/)
})

test('DynamicSchemaLoader and the QueryProperties merge keep a field named __proto__ as a plain property', async () => {
  const api = await mock((r) => {
    if (r.path === '/meta') return { body: '{"table": {"columns": [{"name": "__proto__"}, {"name": "id"}]}}' }
    // Only the second chunk's record has the key: the merge must add it, not merge into Object.prototype.
    return { body: r.query.get('p') === 'b' ? '{"data": [{"id": 1, "__proto__": {"polluted": "b"}}]}' : '{"data": [{"id": 1, "a": 1}]}' }
  })
  const schemaSrc = new DeclarativeSource({ streams: [dynamicSchemaStream(api.origin, { schema_pointer: ['table', 'columns'], key_pointer: ['name'] })] })
  const props = (await schemaSrc.discover({ table: 'items' }, runOptions())).streams[0]?.jsonSchema.properties as Record<string, unknown>
  assert.deepEqual(Object.keys(props), ['__proto__', 'id'])
  assert.equal(Object.getPrototypeOf(props), Object.prototype)
  const qpSrc = new DeclarativeSource({
    streams: [stream(api.origin, 'rows', '/rows', { requester: { type: 'HttpRequester', url_base: `${api.origin}/api.example.com`, path: '/rows', request_parameters: { p: { type: 'QueryProperties', property_list: ['a', 'b'], property_chunking: { type: 'PropertyChunking', property_limit_type: 'property_count', property_limit: 1 } } } } })],
  })
  const out = await readAll(qpSrc, {}, catalogFor(['rows']))
  const row = out.records.rows?.[0] as Record<string, unknown>
  assert.equal(Object.getPrototypeOf(row), Object.prototype)
  assert.deepEqual(Object.getOwnPropertyDescriptor(row, '__proto__')?.value, { polluted: 'b' })
  assert.equal(row.a, 1)
  assert.equal(({} as Record<string, unknown>).polluted, undefined)
})
