import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { ConnectorRegistry } from '../../../src/connectors/registry.js'
import { loadCustomDefinitions } from '../../../src/custom-definitions.js'
import { createHarness, type ApiHarness } from '../../api/api-harness.js'
import { airbyteManifest, startMockApi, type MockApi } from './helpers/mock-api.js'

// Definitions from manifests through the Config API: create_manifest (Airbyte's shape) and
// source_definitions/create with `manifest`, then a source of that definition is checked and
// discovered through the API against a loopback server.

function manifestFor(origin: string): Record<string, unknown> {
  return {
    version: '6.0.0',
    type: 'DeclarativeSource',
    check: { type: 'CheckStream', stream_names: ['widgets'] },
    definitions: {
      requester: { type: 'HttpRequester', url_base: `${origin}/widgets.example.com`, authenticator: { type: 'BearerAuthenticator', api_token: "{{ config['token'] }}" } },
    },
    streams: [
      {
        type: 'DeclarativeStream',
        name: 'widgets',
        primary_key: 'id',
        retriever: {
          type: 'SimpleRetriever',
          requester: { $ref: '#/definitions/requester', path: '/v1/widgets' },
          record_selector: { type: 'RecordSelector', extractor: { type: 'DpathExtractor', field_path: ['items'] } },
        },
        schema_loader: { type: 'InlineSchemaLoader', schema: { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' } } } },
      },
    ],
    spec: {
      type: 'Spec',
      connection_specification: { type: 'object', required: ['token'], properties: { token: { type: 'string', airbyte_secret: true } } },
    },
  }
}

describe('declarative definitions through the Config API', () => {
  let h: ApiHarness
  let mock: MockApi
  before(async () => {
    h = await createHarness()
    mock = await startMockApi((r) => (r.headers.authorization === 'Bearer t0k' ? { body: { items: [{ id: 1, name: 'a' }, { id: 2, name: 'b' }] } } : { status: 401, body: { error: 'no' } }))
  })
  after(async () => {
    await h.close()
    await mock.close()
  })

  test('create_manifest makes a definition whose spec is the manifest spec; a source of it checks and discovers', async () => {
    const res = await h.post('declarative_source_definitions/create_manifest', {
      workspaceId: h.workspaceId,
      declarativeManifest: { manifest: manifestFor(mock.origin), spec: {}, version: 1, description: 'Widgets API' },
      name: 'Widgets',
    })
    assert.equal(res.statusCode, 200, res.body)
    const def = res.json() as { sourceDefinitionId: string; name: string; custom: boolean }
    assert.equal(def.name, 'Widgets')
    assert.equal(def.custom, true)
    const list = (await h.post('source_definitions/list', {})).json() as { sourceDefinitions: Array<{ sourceDefinitionId: string }> }
    assert.ok(list.sourceDefinitions.some((d) => d.sourceDefinitionId === def.sourceDefinitionId))
    const spec = (await h.post('source_definition_specifications/get', { sourceDefinitionId: def.sourceDefinitionId, workspaceId: h.workspaceId })).json() as { connectionSpecification: { required: string[] } }
    assert.deepEqual(spec.connectionSpecification.required, ['token'])

    const created = await h.post('sources/create', { workspaceId: h.workspaceId, sourceDefinitionId: def.sourceDefinitionId, name: 'w', connectionConfiguration: { token: 't0k' } })
    assert.equal(created.statusCode, 200, created.body)
    const sourceId = (created.json() as { sourceId: string }).sourceId
    const check = (await h.post('sources/check_connection', { sourceId })).json() as { status: string }
    assert.equal(check.status, 'succeeded')
    const discovered = (await h.post('sources/discover_schema', { sourceId })).json() as { catalog: { streams: Array<{ stream: { name: string; sourceDefinedPrimaryKey: string[][] } }> } }
    assert.equal(discovered.catalog.streams[0]?.stream.name, 'widgets')
    assert.deepEqual(discovered.catalog.streams[0]?.stream.sourceDefinedPrimaryKey, [['id']])

    // The definition is persisted: a fresh registry loads it from the store.
    const registry = new ConnectorRegistry([])
    assert.equal(await loadCustomDefinitions(h.deps.configStore, registry, { warn: () => undefined }), 1)
    assert.equal(registry.getSource(def.sourceDefinitionId)?.name, 'Widgets')
  })

  test('source_definitions/create accepts YAML text (a real Airbyte manifest)', async () => {
    const res = await h.post('source_definitions/create', { workspaceId: h.workspaceId, manifest: airbyteManifest('source-xkcd'), name: 'xkcd' })
    assert.equal(res.statusCode, 200, res.body)
    const def = res.json() as { sourceDefinitionId: string; dockerRepository: string }
    assert.equal(def.dockerRepository, 'airbyte/source-declarative-manifest')
  })

  test('sources of real Airbyte manifests are created with their own specs (secrets masked)', async () => {
    for (const [name, config, secret] of [
      ['source-stockdata', { api_key: 'sd-key', symbols: ['AAPL'], industries: ['Technology'], filter_entities: true, start_date: '2024-01-01T00:00:00Z' }, 'sd-key'],
      ['source-exchange-rates', { access_key: 'test-key', start_date: '2024-01-01', base: 'EUR', ignore_weekends: true }, 'test-key'],
      ['source-chargedesk', { username: 'sk_test_chargedesk', start_date: 1704067200 }, undefined],
    ] as const) {
      const def = (await h.post('source_definitions/create', { manifest: airbyteManifest(name), name })).json() as { sourceDefinitionId: string }
      const created = await h.post('sources/create', { workspaceId: h.workspaceId, sourceDefinitionId: def.sourceDefinitionId, name, connectionConfiguration: config })
      assert.equal(created.statusCode, 200, `${name}: ${created.body}`)
      if (secret) assert.doesNotMatch(created.body, new RegExp(secret))
    }
  })

  test('an unsupported component is refused at creation with its path in the manifest', async () => {
    const m = manifestFor(mock.origin)
    const stream = (m.streams as Array<Record<string, unknown>>)[0] as { retriever: Record<string, unknown> }
    stream.retriever.paginator = { type: 'DefaultPaginator', pagination_strategy: { type: 'CustomPaginationStrategy', class_name: 'source_x.components.Pager' } }
    const res = await h.post('source_definitions/create', { manifest: m })
    assert.equal(res.statusCode, 422)
    const body = res.json() as { message: string }
    assert.match(body.message, /CustomPaginationStrategy/)
    assert.match(body.message, /streams\[0\]\.retriever\.paginator\.pagination_strategy/)
  })

  test('without a manifest, or with an invalid one, the request is a 422', async () => {
    assert.equal((await h.post('source_definitions/create', { name: 'x' })).statusCode, 422)
    const bad = await h.post('source_definitions/create', { manifest: 'streams: [' })
    assert.equal(bad.statusCode, 422)
    assert.match((bad.json() as { message: string }).message, /YAML/)
  })

  test('a built-in definition cannot be replaced', async () => {
    const builtin = h.deps.registry.sources().find((d) => !d.custom)
    assert.ok(builtin)
    const res = await h.post('declarative_source_definitions/create_manifest', { workspaceId: h.workspaceId, sourceDefinitionId: builtin.definitionId, declarativeManifest: { manifest: manifestFor(mock.origin) } })
    assert.equal(res.statusCode, 409)
  })
})
