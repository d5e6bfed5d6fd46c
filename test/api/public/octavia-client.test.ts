import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Ajv } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { pollUntil, send, startPublicServer, TEST_DESTINATION_ID, TEST_SOURCE_ID, TOKEN, type PublicServer } from './public-harness.js'

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv

/**
 * octavia-cli 0.50 (`octavia apply` of a connection), replayed from octavia_cli/apply/resources.py
 * and its generated airbyte_api_client: Basic auth and `X-Airbyte-Analytic-Source: octavia-cli`;
 * the source and destination exist (sources/get, destinations/get); a new connection is created
 * with web_backend/connections/create (the whole discovered catalog with each stream's config,
 * scheduleType manual without scheduleData, geography and nonBreakingChangesPreference
 * defaulted); the answer is read as a WebBackendConnectionRead (connectionId kept in the state
 * file). A later apply reads it with web_backend/connections/get and changes it with
 * web_backend/connections/update.
 */
describe('octavia-cli 0.50 web_backend/connections/create', () => {
  let server: PublicServer
  let ajv: Ajv
  const headers = { authorization: `Basic ${Buffer.from(`airbyte:${TOKEN}`).toString('base64')}`, 'x-airbyte-analytic-source': 'octavia-cli', accept: 'application/json' }
  const api = (path: string, json: unknown) => send(`${server.base}/api/v1/${path}`, { json, headers })
  const webBackendRead = (body: unknown): void => {
    const validate = ajv.getSchema('config#/components/schemas/WebBackendConnectionRead')
    assert.ok(validate?.(body), JSON.stringify(validate?.errors))
  }

  before(async () => {
    server = await startPublicServer()
    const doc = (await send(`${server.base}/api/v1/openapi.json`, { headers })).body
    ajv = addFormats(new Ajv({ allErrors: true, strict: false }))
    ajv.addSchema({ $id: 'config', components: doc.components })
  })
  after(async () => {
    await server.close()
  })

  it('creates a connection from a generated configuration, reads it back, updates it and syncs it', async () => {
    const source = await api('sources/create', { workspaceId: server.workspaceId, sourceDefinitionId: TEST_SOURCE_ID, name: 'octavia source', connectionConfiguration: { streams: ['items', 'more'], records: 20, runKey: 'octavia' } })
    const destination = await api('destinations/create', {
      workspaceId: server.workspaceId,
      destinationDefinitionId: TEST_DESTINATION_ID,
      name: 'octavia destination',
      connectionConfiguration: { path: join(server.dataDir, 'out', 'octavia'), runKey: 'octavia' },
    })
    assert.equal((await api('sources/get', { sourceId: source.body.sourceId })).status, 200)
    assert.equal((await api('destinations/get', { destinationId: destination.body.destinationId })).status, 200)
    // `octavia generate connection` discovered the catalog; the YAML keeps every stream with its config.
    const discovered = await api('sources/discover_schema', { sourceId: source.body.sourceId, disable_cache: true })
    const streams = discovered.body.catalog.streams.map((e: any) => ({
      stream: e.stream,
      config: { ...e.config, syncMode: 'incremental', destinationSyncMode: 'append_dedup', cursorField: ['updated_at'], primaryKey: [['id']], selected: e.stream.name === 'items' },
    }))
    const created = await api('web_backend/connections/create', {
      name: 'octavia connection',
      sourceId: source.body.sourceId,
      destinationId: destination.body.destinationId,
      syncCatalog: { streams },
      namespaceDefinition: 'source',
      namespaceFormat: '${SOURCE_NAMESPACE}',
      prefix: 'oct_',
      nonBreakingChangesPreference: 'ignore',
      geography: 'auto',
      scheduleType: 'manual',
      status: 'active',
    })
    assert.equal(created.status, 200, created.text)
    webBackendRead(created.body)
    const connectionId = created.body.connectionId as string
    assert.equal(created.body.name, 'octavia connection')
    assert.equal(created.body.prefix, 'oct_')
    assert.equal(created.body.source.sourceId, source.body.sourceId)
    assert.equal(created.body.destination.destinationId, destination.body.destinationId)
    assert.equal(created.body.isSyncing, false)
    assert.deepEqual(
      created.body.syncCatalog.streams.map((e: any) => [e.stream.name, e.config.selected]),
      [
        ['items', true],
        ['more', false],
      ],
    )

    // The next apply: get, then update when the YAML changed.
    const got = await api('web_backend/connections/get', { connectionId, withRefreshedCatalog: false })
    assert.equal(got.status, 200)
    webBackendRead(got.body)
    assert.deepEqual(got.body.syncCatalog, created.body.syncCatalog)
    const updated = await api('web_backend/connections/update', { connectionId, scheduleType: 'basic', scheduleData: { basicSchedule: { timeUnit: 'hours', units: 6 } }, skipReset: true })
    assert.equal(updated.status, 200, updated.text)
    assert.deepEqual(updated.body.scheduleData, { basicSchedule: { timeUnit: 'hours', units: 6 } })

    const job = (await api('connections/sync', { connectionId })).body.job
    const done = await pollUntil(
      async () => (await api('jobs/get', { id: job.id })).body.job,
      (j) => ['succeeded', 'failed', 'cancelled'].includes(j.status),
    )
    assert.equal(done.status, 'succeeded')
    assert.equal(done.summary.recordsSynced, 20, 'only the selected stream synced')
  })

  it('refuses an unknown source (404) and an invalid catalog (422 naming the stream) and stores nothing', async () => {
    const missing = await api('web_backend/connections/create', { sourceId: '00000000-0000-0000-0000-0000000000bb', destinationId: '00000000-0000-0000-0000-0000000000cc' })
    assert.equal(missing.status, 404)
    assert.match(missing.body.message, /0000000000bb/)
    const source = await api('sources/create', { workspaceId: server.workspaceId, sourceDefinitionId: TEST_SOURCE_ID, name: 's', connectionConfiguration: { runKey: 'octavia-2' } })
    const destination = await api('destinations/create', { workspaceId: server.workspaceId, destinationDefinitionId: TEST_DESTINATION_ID, name: 'd', connectionConfiguration: { path: 'octavia-2' } })
    const before = (await api('connections/list', { workspaceId: server.workspaceId })).body.connections.length
    const bad = await api('web_backend/connections/create', {
      sourceId: source.body.sourceId,
      destinationId: destination.body.destinationId,
      scheduleType: 'manual',
      syncCatalog: { streams: [{ stream: { name: 'nope' }, config: { syncMode: 'full_refresh', destinationSyncMode: 'overwrite', selected: true } }] },
    })
    assert.equal(bad.status, 422)
    assert.equal(bad.body.validationErrors[0].propertyPath, 'syncCatalog.streams[0].stream.name')
    const badOperation = await api('web_backend/connections/create', {
      sourceId: source.body.sourceId,
      destinationId: destination.body.destinationId,
      scheduleType: 'manual',
      operations: [{ workspaceId: server.workspaceId, name: 'normalize', operatorConfiguration: { operatorType: 'normalization', normalization: { option: 'basic' } } }],
    })
    assert.equal(badOperation.status, 422, badOperation.text)
    assert.equal((await api('connections/list', { workspaceId: server.workspaceId })).body.connections.length, before)
  })
})
