import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { DeclarativeSource } from '../../../src/connectors/declarative/declarative-source.js'
import { SluiceError } from '../../../src/errors.js'
import { catalogFor, readAll, startMockApi, type MockApi } from './helpers/mock-api.js'

// Issue 14 D-H: manifests load the way the CDK loads them (duplicate keys, $ref to a list,
// https meta-schema, unknown keys, templates compiled lazily).

const servers: MockApi[] = []
after(async () => {
  await Promise.all(servers.map((s) => s.close()))
})

async function itemsApi(): Promise<MockApi> {
  const s = await startMockApi((r) => (r.path === '/items' ? { body: { data: [{ id: 1 }] } } : { status: 404, body: { error: r.path } }))
  servers.push(s)
  return s
}

test('D: a duplicate YAML key keeps its last value, with a warning', async () => {
  const api = await itemsApi()
  const yaml = `
version: 6.0.0
type: DeclarativeSource
streams:
  - type: DeclarativeStream
    name: items
    retriever:
      type: SimpleRetriever
      requester:
        type: HttpRequester
        url_base: ${api.origin}/api.example.com
        path: /wrong
        path: /items
      record_selector:
        type: RecordSelector
        extractor:
          type: DpathExtractor
          field_path: [data]
`
  const src = new DeclarativeSource(yaml)
  assert.deepEqual(src.warnings, ["duplicate key 'path' in the manifest: the last value is used"])
  const out = await readAll(src, {}, catalogFor(['items']))
  assert.deepEqual(out.records.items, [{ id: 1 }])
  assert.deepEqual(api.requests.map((r) => r.path), ['/items'])
})

function manifest(origin: string, stream: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    streams: [
      {
        type: 'DeclarativeStream',
        name: 'items',
        retriever: {
          type: 'SimpleRetriever',
          requester: { type: 'HttpRequester', url_base: `${origin}/api.example.com`, path: '/items' },
          record_selector: { type: 'RecordSelector', extractor: { type: 'DpathExtractor', field_path: ['data'] } },
        },
        ...stream,
      },
    ],
    ...extra,
  }
}

test('E: a $ref to a list resolves to the list', async () => {
  const api = await itemsApi()
  const m = manifest(api.origin, { transformations: { $ref: '#/definitions/shared_transforms' } }, {
    definitions: { shared_transforms: [{ type: 'AddFields', fields: [{ path: ['source'], value: 'shared' }] }] },
  })
  const out = await readAll(new DeclarativeSource(m), {}, catalogFor(['items']))
  assert.deepEqual(out.records.items, [{ id: 1, source: 'shared' }])
})

test('F: an https draft-07 $schema in the spec is normalized, so configs validate', () => {
  const m = manifest('http://127.0.0.1:1', {}, {
    spec: { type: 'Spec', connection_specification: { $schema: 'https://json-schema.org/draft-07/schema#', type: 'object', required: ['key'], properties: { key: { type: 'string' } } } },
  })
  const src = new DeclarativeSource(m)
  assert.equal(src.spec.connectionSpecification.$schema, 'http://json-schema.org/draft-07/schema#')
  assert.doesNotThrow(() => src.validateConfig({ key: 'k' }))
  assert.throws(() => src.validateConfig({}), (e: unknown) => e instanceof SluiceError && /must have required property 'key'/.test(e.message))
})

test('G: unknown keys inside known components are ignored, whatever they hold', async () => {
  const api = await itemsApi()
  const m = manifest(api.origin, { some_future_option: { type: 'CustomThing', class_name: 'source_x.components.Thing' }, notes: ['a', { type: 'Nope' }] })
  const retriever = (m.streams as Array<Record<string, Record<string, unknown>>>)[0]!.retriever!
  retriever.experimental = { type: 'NotAComponent' }
  const out = await readAll(new DeclarativeSource(m), {}, catalogFor(['items']))
  assert.deepEqual(out.records.items, [{ id: 1 }])
})

test('G: an unsupported component under a known component field is still refused with its path', () => {
  const m = manifest('http://127.0.0.1:1', { transformations: [{ type: 'CustomTransformation', class_name: 'source_x.components.T' }] })
  assert.throws(() => new DeclarativeSource(m), (e: unknown) => e instanceof SluiceError && /CustomTransformation .* at streams\[0\]\.transformations\[0\]/.test(e.message))
})

test('H: a template that does not compile is a load-time warning and fails only when evaluated', async () => {
  const api = await itemsApi()
  const m = manifest(api.origin)
  const broken = structuredClone((m.streams as unknown[])[0]) as Record<string, Record<string, Record<string, unknown>>>
  broken.name = 'broken' as never
  broken.retriever!.requester!.path = "{{ config['p'] if }}"
  ;(m.streams as unknown[]).push(broken)
  const src = new DeclarativeSource(m)
  assert.equal(src.warnings.length, 1)
  assert.match(src.warnings[0]!, /^streams\[1\]\.retriever\.requester\.path: template does not compile/)
  const ok = await readAll(src, {}, catalogFor(['items']))
  assert.deepEqual(ok.records.items, [{ id: 1 }])
  await assert.rejects(readAll(src, {}, catalogFor(['broken'])), (e: unknown) => {
    assert.ok(e instanceof SluiceError)
    assert.equal(e.failureType, 'config_error')
    assert.match(e.message, /Stream broken: .*does not compile/)
    return true
  })
  assert.equal(api.requests.length, 1, 'the broken stream sent no request')
})
