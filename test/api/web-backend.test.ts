import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js'
import { createHarness, type ApiHarness } from './api-harness.js'

const POSTGRES_SOURCE_ID = 'decd338e-5647-4c0b-adf4-da0e75f5a750'
const LOCAL_FILES_ID = '862a88fc-f263-4a45-aed8-2a53987631c1'

describe('web_backend/connections/* (Airbyte UI, Prefect refresh_schema, Terraform)', () => {
  let h: ApiHarness
  let db: TestDatabase
  let sourceId: string
  let destinationId: string
  let connectionId: string

  before(async () => {
    db = await createTestDatabase('webbackend')
    await db.query(`CREATE TABLE orders (id int PRIMARY KEY, updated_at timestamptz NOT NULL, note text)`)
    await db.query(`CREATE TABLE customers (id int PRIMARY KEY, name text)`)
    h = await createHarness()
    const source = await h.post('sources/create', {
      workspaceId: h.workspaceId,
      sourceDefinitionId: POSTGRES_SOURCE_ID,
      name: 'pg',
      connectionConfiguration: { ...db.config, replication_method: { method: 'Standard' } },
    })
    assert.equal(source.statusCode, 200, source.body)
    sourceId = source.json().sourceId
    const destination = await h.post('destinations/create', {
      workspaceId: h.workspaceId,
      destinationDefinitionId: LOCAL_FILES_ID,
      name: 'files',
      connectionConfiguration: { destination_path: 'wb', format: { format_type: 'JSONL' } },
    })
    destinationId = destination.json().destinationId
    // Only `orders` is listed: sluice stores the listed streams; the others come back unselected.
    const conn = await h.post('connections/create', {
      sourceId,
      destinationId,
      syncCatalog: { streams: [{ stream: { name: 'orders', namespace: 'public' }, config: { syncMode: 'incremental', destinationSyncMode: 'append', cursorField: ['updated_at'] } }] },
    })
    assert.equal(conn.statusCode, 200, conn.body)
    connectionId = conn.json().connectionId
  })
  after(async () => {
    await h.close()
    await db.drop()
  })

  it('get: the connection with source, destination, operations, sync status and the whole catalog', async () => {
    const res = await h.post('web_backend/connections/get', { connectionId })
    assert.equal(res.statusCode, 200, res.body)
    const read = res.json()
    assert.equal(read.connectionId, connectionId)
    assert.equal(read.source.sourceId, sourceId)
    assert.equal(read.source.connectionConfiguration.password, '**********')
    assert.equal(read.destination.destinationId, destinationId)
    assert.deepEqual(read.operations, [])
    assert.equal(read.isSyncing, false)
    assert.equal(read.schemaChange, 'no_change')
    assert.equal(read.catalogDiff, undefined)
    const streams = read.syncCatalog.streams.map((e: any) => [e.stream.name, e.config.selected, e.config.syncMode])
    assert.deepEqual(streams.sort(), [
      ['customers', false, 'full_refresh'],
      ['orders', true, 'incremental'],
    ])
  })

  it('get withRefreshedCatalog: a new column is a non-breaking add_field; dropping the cursor is breaking', async () => {
    await db.query(`ALTER TABLE orders ADD COLUMN amount numeric(10,2)`)
    const added = (await h.post('web_backend/connections/get', { connectionId, withRefreshedCatalog: true })).json()
    assert.equal(added.schemaChange, 'non_breaking')
    assert.equal(added.breakingChange, false)
    const transform = added.catalogDiff.transforms.find((t: any) => t.streamDescriptor.name === 'orders')
    assert.equal(transform.transformType, 'update_stream')
    assert.match(JSON.stringify(transform), /"add_field"/)
    assert.match(JSON.stringify(transform), /"amount"/)
    const orders = added.syncCatalog.streams.find((e: any) => e.stream.name === 'orders')
    assert.ok('amount' in orders.stream.jsonSchema.properties)
    assert.deepEqual([orders.config.selected, orders.config.syncMode, orders.config.cursorField], [true, 'incremental', ['updated_at']])
    assert.notEqual(added.catalogId, undefined)

    await db.query(`CREATE TABLE refunds (id int PRIMARY KEY)`)
    await db.query(`ALTER TABLE orders DROP COLUMN updated_at`)
    const broken = (await h.post('web_backend/connections/get', { connectionId, withRefreshedCatalog: true })).json()
    assert.equal(broken.schemaChange, 'breaking')
    assert.equal(broken.breakingChange, true)
    const kinds = broken.catalogDiff.transforms.map((t: any) => [t.transformType, t.streamDescriptor.name])
    assert.deepEqual(kinds, [
      ['update_stream', 'orders'],
      ['add_stream', 'refunds'],
    ])
    assert.equal(broken.syncCatalog.streams.find((e: any) => e.stream.name === 'refunds').config.selected, false)
    // sources/discover_schema with the connection gives the same diff.
    const discover = (await h.post('sources/discover_schema', { sourceId, connectionId, disable_cache: true })).json()
    assert.deepEqual(discover.catalogDiff, broken.catalogDiff)
    assert.equal(discover.breakingChange, true)
    assert.equal((await h.post('sources/discover_schema', { sourceId })).json().catalogDiff, undefined)
    // Reading does not change the stored connection.
    assert.deepEqual((await h.post('connections/get', { connectionId })).json().syncCatalog.streams.map((e: any) => e.stream.name), ['orders'])
    await db.query(`ALTER TABLE orders ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now()`)
  })

  it('update: applies the refreshed catalog, creates operations inline, and refreshes changed streams unless skipReset', async () => {
    const ws = await h.post('workspaces/update', { workspaceId: h.workspaceId, webhookConfigs: [{ name: 'hook', authToken: 't' }] })
    const webhookConfigId = ws.json().webhookConfigs[0].id
    const refreshed = (await h.post('web_backend/connections/get', { connectionId, withRefreshedCatalog: true })).json()
    const res = await h.post('web_backend/connections/update', {
      connectionId,
      syncCatalog: refreshed.syncCatalog,
      sourceCatalogId: refreshed.catalogId,
      skipReset: true,
      operations: [{ workspaceId: h.workspaceId, name: 'notify', operatorConfiguration: { operatorType: 'webhook', webhook: { webhookConfigId, executionUrl: 'http://127.0.0.1:9/x' } } }],
    })
    assert.equal(res.statusCode, 200, res.body)
    const read = res.json()
    assert.equal(read.operations.length, 1)
    assert.deepEqual(read.operationIds, [read.operations[0].operationId])
    const jobs = await h.post('jobs/list', { configTypes: ['sync', 'refresh', 'reset_connection'], configId: connectionId })
    assert.equal(jobs.json().jobs.length, 0, 'skipReset: no job')

    // A changed cursor without skipReset: the stream syncs again (refresh, merge).
    const orders = read.syncCatalog.streams.find((e: any) => e.stream.name === 'orders')
    orders.config.syncMode = 'full_refresh'
    orders.config.cursorField = []
    const again = await h.post('web_backend/connections/update', { connectionId, syncCatalog: read.syncCatalog, operations: read.operations })
    assert.equal(again.statusCode, 200, again.body)
    assert.deepEqual(again.json().operationIds, read.operationIds, 'an operation sent back with its id is updated, not recreated')
    const after = (await h.post('jobs/list', { configTypes: ['refresh'], configId: connectionId })).json().jobs
    assert.equal(after.length, 1)
    const job = await h.deps.jobStore.getJob(after[0].job.id)
    assert.deepEqual(job?.streams.map((s) => s.name), ['orders'])
    assert.equal(job?.refreshMode, 'merge')
    await h.post('jobs/cancel', { id: after[0].job.id })

    // An operation another connection also lists survives its removal from this one.
    const shared = read.operations[0].operationId
    const other = await h.post('connections/create', {
      sourceId,
      destinationId,
      operationIds: [shared],
      syncCatalog: { streams: [{ stream: { name: 'customers', namespace: 'public' }, config: { syncMode: 'full_refresh', destinationSyncMode: 'overwrite' } }] },
    })
    assert.equal(other.statusCode, 200, other.body)
    const dropped = await h.post('web_backend/connections/update', { connectionId, operations: [], skipReset: true })
    assert.deepEqual(dropped.json().operationIds, [])
    assert.equal((await h.post('operations/get', { operationId: shared })).statusCode, 200)
    await h.post('web_backend/connections/update', { connectionId: other.json().connectionId, operations: [], skipReset: true })
    assert.equal((await h.post('operations/get', { operationId: shared })).statusCode, 404, 'deleted once no connection lists it')

    // An invalid operation refuses the whole update: nothing changes.
    const beforeBad = (await h.post('connections/get', { connectionId })).json()
    const bad = await h.post('web_backend/connections/update', {
      connectionId,
      name: 'renamed',
      operations: [{ workspaceId: h.workspaceId, name: 'x', operatorConfiguration: { operatorType: 'normalization', normalization: { option: 'basic' } } }],
    })
    assert.equal(bad.statusCode, 422)
    assert.equal((await h.post('connections/get', { connectionId })).json().name, beforeBad.name)
  })

  it('list: one item per connection with snippets and status, filtered by source', async () => {
    const res = await h.post('web_backend/connections/list', { workspaceId: h.workspaceId })
    assert.equal(res.statusCode, 200, res.body)
    const item = res.json().connections.find((c: any) => c.connectionId === connectionId)
    assert.equal(item.connectionId, connectionId)
    assert.deepEqual([item.source.sourceId, item.source.sourceName, item.destination.destinationId], [sourceId, 'Postgres', destinationId])
    assert.equal(item.schemaChange, 'no_change')
    assert.equal(typeof item.isSyncing, 'boolean')
    assert.deepEqual((await h.post('web_backend/connections/list', { workspaceId: h.workspaceId, sourceId: [destinationId] })).json().connections, [])
    assert.equal((await h.post('web_backend/connections/list', { workspaceId: '0b9d2a4e-1111-4222-8333-944455566677' })).statusCode, 404)
    assert.equal((await h.post('web_backend/connections/get', { connectionId: '0b9d2a4e-1111-4222-8333-944455566677' })).statusCode, 404)
  })

  it('a selected field the source dropped leaves the selection of the refreshed catalog, which saves', async () => {
    await db.query(`CREATE TABLE contacts (id int PRIMARY KEY, name text, phone text, email text)`)
    const selection = (...names: string[]) => ({ fieldSelectionEnabled: true, selectedFields: names.map((n) => ({ fieldPath: [n] })) })
    const { catalogId } = (await h.post('sources/discover_schema', { sourceId, disable_cache: true })).json()
    const conn = await h.post('connections/create', {
      sourceId,
      destinationId,
      sourceCatalogId: catalogId,
      syncCatalog: { streams: [{ stream: { name: 'contacts', namespace: 'public' }, config: { syncMode: 'full_refresh', destinationSyncMode: 'overwrite', ...selection('id', 'phone') } }] },
    })
    assert.equal(conn.statusCode, 200, conn.body)
    const id = conn.json().connectionId
    await db.query(`ALTER TABLE contacts DROP COLUMN phone`)
    const refreshed = (await h.post('web_backend/connections/get', { connectionId: id, withRefreshedCatalog: true })).json()
    const contacts = refreshed.syncCatalog.streams.find((e: any) => e.stream.name === 'contacts')
    assert.deepEqual(contacts.config.selectedFields, [{ fieldPath: ['id'] }])
    const saved = await h.post('web_backend/connections/update', { connectionId: id, syncCatalog: refreshed.syncCatalog, sourceCatalogId: refreshed.catalogId })
    assert.equal(saved.statusCode, 200, saved.body)
    const stored = (await h.post('connections/get', { connectionId: id })).json().syncCatalog.streams.find((e: any) => e.stream.name === 'contacts')
    assert.deepEqual(stored.config.selectedFields, [{ fieldPath: ['id'] }])
  })
})
