import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DeclarativeSource } from '../../../src/connectors/declarative/declarative-source.js'
import { SluiceError } from '../../../src/errors.js'
import { catalogFor, type MockApi, mockServers, readAll, runOptions } from './helpers/mock-api.js'

const mock = mockServers()

function template(origin: string): Record<string, unknown> {
  return {
    type: 'DeclarativeStream',
    name: 'placeholder',
    primary_key: 'id',
    retriever: {
      type: 'SimpleRetriever',
      requester: { type: 'HttpRequester', url_base: `${origin}/api.example.com`, path: '/placeholder', request_parameters: { dims: 'none' } },
      record_selector: { type: 'RecordSelector', extractor: { type: 'DpathExtractor', field_path: ['rows'] } },
    },
  }
}

function httpManifest(origin: string): Record<string, unknown> {
  return {
    check: { type: 'CheckStream', dynamic_streams_check_configs: [{ type: 'DynamicStreamCheckConfig', dynamic_stream_name: 'tables', stream_count: 1 }] },
    dynamic_streams: [
      {
        type: 'DynamicDeclarativeStream',
        name: 'tables',
        stream_template: template(origin),
        components_resolver: {
          type: 'HttpComponentsResolver',
          retriever: {
            type: 'SimpleRetriever',
            requester: { type: 'HttpRequester', url_base: `${origin}/api.example.com`, path: '/tables' },
            record_selector: { type: 'RecordSelector', extractor: { type: 'DpathExtractor', field_path: ['tables'] } },
          },
          components_mapping: [
            { type: 'ComponentMappingDefinition', field_path: ['name'], value: "{{ components_values['name'] }}" },
            { type: 'ComponentMappingDefinition', field_path: ['retriever', 'requester', 'path'], value: "/tables/{{ components_values['id'] }}/rows" },
            { type: 'ComponentMappingDefinition', field_path: ['retriever', 'requester', 'request_parameters', 'dims'], value: "{{ components_values['dims'] | join(',') }}" },
            // dpath.set never creates a path: this mapping changes nothing.
            { type: 'ComponentMappingDefinition', field_path: ['retriever', 'requester', 'request_headers', 'x-table'], value: "{{ components_values['id'] }}" },
          ],
        },
      },
    ],
  }
}

const TABLES = [
  { id: 't1', name: 'orders', dims: ['day'] },
  { id: 't2', name: 'users', dims: ['country', 'plan'] },
]

function tablesApi(): Promise<MockApi> {
  return mock((r) => {
    if (r.path === '/tables') return { body: { tables: TABLES } }
    const m = /^\/tables\/(t\d)\/rows$/.exec(r.path)
    if (m) return { body: { rows: [{ id: 1, table: m[1] }, { id: 2, table: m[1] }] } }
    return { status: 404, body: { error: 'no such path' } }
  })
}

test('HttpComponentsResolver: discover returns one stream per record of the resolver; read works per generated stream', async () => {
  const api = await tablesApi()
  const src = new DeclarativeSource(httpManifest(api.origin))
  const catalog = await src.discover({}, runOptions())
  assert.deepEqual(catalog.streams.map((s) => [s.name, s.sourceDefinedPrimaryKey]), [['orders', [['id']]], ['users', [['id']]]])

  api.requests.length = 0
  const out = await readAll(src, {}, catalogFor(['users']))
  assert.deepEqual(out.records.users, [{ id: 1, table: 't2' }, { id: 2, table: 't2' }])
  assert.deepEqual(api.requests.map((r) => `${r.path}?${r.query.toString()}`), ['/tables?', '/tables/t2/rows?dims=country%2Cplan'])
  assert.equal(api.requests[1]?.headers['x-table'], undefined)

  // check reads the first generated stream, as dynamic_streams_check_configs asks.
  api.requests.length = 0
  assert.deepEqual(await src.check({}, runOptions()), { status: 'succeeded', message: 'Connection succeeded.' })
  assert.deepEqual(api.requests.map((r) => r.path), ['/tables', '/tables/t1/rows'])
})

test('HttpComponentsResolver: a failing resolver request fails discover and check with the reason; an unknown stream fails read', async () => {
  const api = await mock((r) => (r.path === '/tables' ? { status: 403, body: { error: 'forbidden' } } : { body: { rows: [] } }))
  const src = new DeclarativeSource(httpManifest(api.origin))
  await assert.rejects(src.discover({}, runOptions()), (e: unknown) => e instanceof SluiceError && e.failureType === 'config_error' && /Resolving dynamic streams: .*\/tables failed/.test(e.message))
  const status = await src.check({}, runOptions())
  assert.equal(status.status, 'failed')
  assert.match(status.message ?? '', /Resolving dynamic streams/)

  const ok = await tablesApi()
  await assert.rejects(readAll(new DeclarativeSource(httpManifest(ok.origin)), {}, catalogFor(['invoices'])), /The stream invoices is not defined/)
})

function configManifest(origin: string, extraMapping: Record<string, unknown>[] = []): Record<string, unknown> {
  return {
    spec: { connection_specification: { type: 'object', properties: { reports: { type: 'array' }, account: { type: 'string' } } } },
    check: { type: 'CheckDynamicStream', stream_count: 1 },
    dynamic_streams: [
      {
        type: 'DynamicDeclarativeStream',
        name: 'reports',
        stream_template: template(origin),
        components_resolver: {
          type: 'ConfigComponentsResolver',
          stream_config: { type: 'StreamConfig', configs_pointer: ['reports'] },
          components_mapping: [
            { type: 'ComponentMappingDefinition', field_path: ['name'], value: "report_{{ components_values['name'] }}" },
            { type: 'ComponentMappingDefinition', field_path: ['retriever', 'requester', 'path'], value: "/reports/{{ components_values['name'] }}" },
            { type: 'ComponentMappingDefinition', field_path: ['retriever', 'requester', 'request_parameters', 'dims'], value: "{{ components_values['dims'] }}", condition: "{{ 'dims' in components_values }}" },
            // create_or_update creates the path; the YAML text becomes a mapping.
            { type: 'ComponentMappingDefinition', field_path: ['retriever', 'requester', 'request_headers'], value: "{'x-account': '{{ config['account'] }}'}", create_or_update: true },
            ...extraMapping,
          ],
        },
      },
    ],
  }
}

test('ConfigComponentsResolver: one stream per config item, conditions, create_or_update, YAML values', async () => {
  const api = await mock((r) => ({ body: { rows: [{ id: r.path, dims: r.query.get('dims'), account: r.headers['x-account'] }] } }))
  const src = new DeclarativeSource(configManifest(api.origin))
  const config = { account: 'acme', reports: [{ name: 'daily', dims: 'day,country' }, { name: 'weekly' }] }
  const catalog = await src.discover(config, runOptions())
  assert.deepEqual(catalog.streams.map((s) => s.name), ['report_daily', 'report_weekly'])
  const out = await readAll(src, config, catalogFor(['report_daily', 'report_weekly']))
  assert.deepEqual(out.records.report_daily, [{ id: '/reports/daily', dims: 'day,country', account: 'acme' }])
  // The condition is false for weekly: its dims keep the template's value.
  assert.deepEqual(out.records.report_weekly, [{ id: '/reports/weekly', dims: 'none', account: 'acme' }])
  assert.equal((await src.check(config, runOptions())).status, 'succeeded')
  assert.equal(api.requests.at(-1)?.path, '/reports/daily')
  const none = await src.check({ account: 'acme', reports: [] }, runOptions())
  assert.deepEqual(none, { status: 'failed', message: 'The manifest defines no stream for this configuration (its dynamic streams generated none).' })
})

test('ConfigComponentsResolver: duplicate generated names and a mapped custom component are config errors', async () => {
  const api = await mock(() => ({ body: { rows: [] } }))
  const src = new DeclarativeSource(configManifest(api.origin))
  await assert.rejects(src.discover({ reports: [{ name: 'daily' }, { name: 'daily' }] }, runOptions()), (e: unknown) => e instanceof SluiceError && e.failureType === 'config_error' && /duplicate name: report_daily; check the configuration/.test(e.message))
  const custom = new DeclarativeSource(configManifest(api.origin, [{ type: 'ComponentMappingDefinition', field_path: ['retriever', 'paginator'], value: "{'type': 'DefaultPaginator', 'pagination_strategy': {'type': 'CustomPager', 'class_name': 'x.Pager'}}", create_or_update: true }]))
  await assert.rejects(custom.discover({ reports: [{ name: 'daily' }] }, runOptions()), /Unsupported manifest component CustomPager \(x\.Pager\) at streams\[0\]\.retriever\.paginator\.pagination_strategy/)
  assert.equal(api.requests.length, 0)
})
