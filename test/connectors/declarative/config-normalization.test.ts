import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { DeclarativeSource } from '../../../src/connectors/declarative/declarative-source.js'
import { SluiceError } from '../../../src/errors.js'
import { catalogFor, readAll, runOptions, startMockApi, type MockApi } from './helpers/mock-api.js'

const servers: MockApi[] = []
after(async () => {
  await Promise.all(servers.map((s) => s.close()))
})

function manifest(origin: string, rules: Record<string, unknown>): Record<string, unknown> {
  return {
    spec: {
      connection_specification: {
        type: 'object',
        required: ['api_key'],
        properties: { api_key: { type: 'string' }, region: { type: 'string' }, account: { type: 'string' }, account_id: { type: 'string' }, filters: { type: 'string' } },
      },
      config_normalization_rules: { type: 'ConfigNormalizationRules', ...rules },
    },
    streams: [
      {
        type: 'DeclarativeStream',
        name: 'items',
        retriever: {
          type: 'SimpleRetriever',
          requester: {
            type: 'HttpRequester',
            url_base: `${origin}/{{ config['host'] }}`,
            path: "/accounts/{{ config['account_id'] }}/items",
            request_parameters: { region: "{{ config['region'] }}", legacy: "{{ config.get('account', 'gone') }}" },
            authenticator: { type: 'BearerAuthenticator', api_token: "{{ config['api_key'] }}" },
          },
          record_selector: { type: 'RecordSelector', extractor: { type: 'DpathExtractor', field_path: [] } },
        },
      },
    ],
  }
}

const RULES = {
  config_migrations: [
    {
      type: 'ConfigMigration',
      description: 'account was renamed account_id; regions got long names',
      transformations: [
        { type: 'ConfigAddFields', fields: [{ path: ['account_id'], value: "{{ config['account'] }}" }], condition: "{{ 'account' in config and 'account_id' not in config }}" },
        { type: 'ConfigRemoveFields', field_pointers: [['account']] },
        { type: 'ConfigRemapField', field_path: ['region'], map: { eu: 'europe-west', us: 'us-east' } },
      ],
    },
  ],
  transformations: [{ type: 'ConfigAddFields', fields: [{ path: ['host'], value: "{{ 'eu.api.example.com' if config['region'] == 'europe-west' else 'api.example.com' }}" }] }],
  validations: [
    {
      type: 'DpathValidator',
      field_path: ['filters'],
      validation_strategy: { type: 'ValidateAdheresToSchema', base_schema: { type: 'object', required: ['status'], properties: { status: { type: 'string' } } } },
    },
  ],
}

test('config_normalization_rules: migrations are stored once, transformations used every run, validations pass', async () => {
  const api = await startMockApi(() => ({ body: [{ id: 1 }] }))
  servers.push(api)
  const src = new DeclarativeSource(manifest(api.origin, RULES))
  const legacy = { api_key: 'k', account: 'a-7', region: 'eu', filters: '{"status": "open"}' }
  src.validateConfig(legacy)
  const stored: Array<Record<string, unknown>> = []
  const opts = { ...runOptions(), onConfigUpdate: async (c: Record<string, unknown>) => void stored.push(c) }
  const first = await readAll(src, legacy, catalogFor(['items']), [], opts)
  assert.deepEqual(first.records.items, [{ id: 1 }])
  const migrated = { api_key: 'k', account_id: 'a-7', region: 'europe-west', filters: '{"status": "open"}' }
  // The migrated config is stored; the transformation's host is not.
  assert.deepEqual(stored, [migrated])
  const r = api.requests[0]
  assert.equal(r?.host, 'eu.api.example.com')
  assert.equal(r?.path, '/accounts/a-7/items')
  assert.equal(r?.query.get('region'), 'europe-west')
  assert.equal(r?.query.get('legacy'), 'gone')
  assert.equal(r?.headers.authorization, 'Bearer k')

  // Run with the stored config: nothing more to migrate.
  const status = await src.check(migrated, opts)
  assert.equal(status.status, 'succeeded')
  assert.equal(stored.length, 1)
  // A config without the validated key skips that validation (as the CDK does).
  const noFilters = await src.check({ api_key: 'k', account_id: 'b', region: 'us' }, opts)
  assert.equal(noFilters.status, 'succeeded')
  assert.equal(api.requests.at(-1)?.host, 'api.example.com')
})

test('config_normalization_rules: a failing validation fails check, discover and read before any request, naming the field', async () => {
  const api = await startMockApi(() => ({ body: [{ id: 1 }] }))
  servers.push(api)
  const src = new DeclarativeSource(manifest(api.origin, RULES))
  const bad = { api_key: 'k', account_id: 'a', filters: '{"status": 3}' }
  const status = await src.check(bad, runOptions())
  assert.equal(status.status, 'failed')
  assert.match(status.message ?? '', /The configuration is invalid: filters\/status must be string \(spec\.config_normalization_rules\.validations\[0\]\.validation_strategy\)/)
  await assert.rejects(src.discover(bad, runOptions()), /filters\/status must be string/)
  await assert.rejects(readAll(src, { ...bad, filters: 'not json' }, catalogFor(['items'])), /filters is not a valid JSON string/)
  assert.throws(() => src.validateConfig(bad), (e: unknown) => e instanceof SluiceError && e.failureType === 'config_error')
  assert.equal(api.requests.length, 0)
})

test('config_normalization_rules: a custom (Python) rule is refused with its path when the manifest is loaded', () => {
  const rules = { transformations: [{ type: 'CustomConfigTransformation', class_name: 'source_x.components.Fix' }] }
  assert.throws(() => new DeclarativeSource(manifest('http://127.0.0.1:1', rules)), (e: unknown) => {
    assert.ok(e instanceof SluiceError)
    assert.equal(e.code, 'SLUICE_ERR_UNSUPPORTED')
    assert.match(e.message, /CustomConfigTransformation \(source_x\.components\.Fix\) at spec\.config_normalization_rules\.transformations\[0\]/)
    return true
  })
})
