import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, test } from 'node:test'
import { readTestDestination } from '../../src/connectors/test-destination/index.js'
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js'
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js'
import { createTestDatabase as createStoreDatabase } from '../scale/pg-test-database.js'
import { startJobsServer, TEST_DESTINATION_ID, type JobsServer } from './jobs-harness.js'

const POSTGRES_SOURCE_ID = 'decd338e-5647-4c0b-adf4-da0e75f5a750'

// One source database for the file; each test works in a schema of its own.
let db: TestDatabase
before(async () => {
  db = await createTestDatabase('schemachanges')
})
after(async () => {
  await db.drop()
})

interface Setup {
  s: JobsServer
  hook: WebhookReceiver
  schema: string
  connectionId: string
  out: string
  close(): Promise<void>
}

/**
 * A server checking the schema before every sync, a webhook for every schema trigger, and a
 * connection syncing `<schema>.orders` (incremental on updated_at, deduped on id) with `preference`.
 */
async function setup(preference: string, env: Record<string, string> = {}): Promise<Setup> {
  const schema = `s_${randomBytes(4).toString('hex')}`
  await db.query(`CREATE SCHEMA ${schema}`)
  await db.query(`CREATE TABLE ${schema}.orders (id int PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now(), note text)`)
  await db.query(`INSERT INTO ${schema}.orders (id, note) VALUES (1, 'a'), (2, 'b')`)
  const hook = await startWebhookReceiver()
  const s = await startJobsServer({ SLUICE_SCHEMA_CHECK_INTERVAL_HOURS: '0', SLUICE_NOTIFICATION_BACKOFF_MS: '1', ...env })
  const slack = (path: string) => ({ notificationType: ['slack'], slackConfiguration: { webhook: `${hook.origin}${path}` } })
  const ws = await s.post('workspaces/update', {
    workspaceId: s.workspaceId,
    notificationSettings: {
      sendOnConnectionUpdate: slack('/update'),
      sendOnConnectionUpdateActionRequired: slack('/action'),
      sendOnSyncDisabled: slack('/disabled'),
      sendOnBreakingChangeSyncsDisabled: slack('/breaking'),
    },
  })
  assert.equal(ws.status, 200, JSON.stringify(ws.body))
  const source = await s.post('sources/create', {
    workspaceId: s.workspaceId,
    sourceDefinitionId: POSTGRES_SOURCE_ID,
    name: 'pg',
    connectionConfiguration: { ...db.config, schemas: [schema], replication_method: { method: 'Standard' } },
  })
  assert.equal(source.status, 200, JSON.stringify(source.body))
  const out = `${s.outDir}/${schema}`
  const destination = await s.post('destinations/create', { workspaceId: s.workspaceId, destinationDefinitionId: TEST_DESTINATION_ID, name: 'out', connectionConfiguration: { path: out } })
  assert.equal(destination.status, 200, JSON.stringify(destination.body))
  const created = await s.post('connections/create', {
    sourceId: source.body.sourceId,
    destinationId: destination.body.destinationId,
    status: 'active',
    scheduleType: 'manual',
    nonBreakingChangesPreference: preference,
    notifySchemaChanges: true,
    syncCatalog: {
      streams: [{ stream: { name: 'orders', namespace: schema }, config: { syncMode: 'incremental', destinationSyncMode: 'append_dedup', cursorField: ['updated_at'], primaryKey: [['id']] } }],
    },
  })
  assert.equal(created.status, 200, JSON.stringify(created.body))
  return {
    s,
    hook,
    schema,
    connectionId: created.body.connectionId as string,
    out,
    async close() {
      await s.close()
      await hook.close()
    },
  }
}

/** Runs a sync to its end; returns the job's status and the first attempt's failure message. */
async function sync(t: Setup): Promise<{ status: string; failure: string | undefined }> {
  const started = await t.s.post('connections/sync', { connectionId: t.connectionId })
  assert.equal(started.status, 200, JSON.stringify(started.body))
  const done = await t.s.waitFor(started.body.job.id as number, ['succeeded', 'failed'])
  return { status: done.job.status, failure: done.attempts[0]?.attempt?.failureSummary?.failures?.[0]?.externalMessage }
}

async function schemaChange(t: Setup): Promise<[string, string, boolean]> {
  const list = await t.s.post('web_backend/connections/list', { workspaceId: t.s.workspaceId })
  const item = list.body.connections.find((c: { connectionId: string }) => c.connectionId === t.connectionId)
  const read = await t.s.post('web_backend/connections/get', { connectionId: t.connectionId })
  const conn = await t.s.post('connections/get', { connectionId: t.connectionId })
  return [item.schemaChange, read.body.schemaChange, conn.body.breakingChange]
}

async function notified(t: Setup, path: string): Promise<string> {
  // Notifications are sent in the background; the job may end first.
  for (let i = 0; i < 400; i++) {
    const hit = t.hook.received.find((r) => r.url === path)
    if (hit !== undefined) return (JSON.parse(hit.body) as { text: string }).text
    await new Promise((r) => setTimeout(r, 25))
  }
  assert.fail(`no notification on ${path}; got ${t.hook.received.map((r) => r.url).join(', ') || 'none'}`)
}

function streamNames(read: { syncCatalog: { streams: Array<{ stream: { name: string }; config: { selected?: boolean } }> } }): Array<[string, boolean]> {
  return read.syncCatalog.streams.map((e) => [e.stream.name, e.config.selected !== false] as [string, boolean]).sort()
}

test('ignore: the sync keeps the catalog, the change is pending and notified until a refreshed catalog is saved', async () => {
  const t = await setup('ignore')
  try {
    assert.equal((await sync(t)).status, 'succeeded')
    assert.deepEqual(await schemaChange(t), ['no_change', 'no_change', false])
    await db.query(`ALTER TABLE ${t.schema}.orders ADD COLUMN amount numeric`)
    assert.equal((await sync(t)).status, 'succeeded')
    assert.deepEqual(await schemaChange(t), ['non_breaking', 'non_breaking', false])
    const stored = (await t.s.post('connections/get', { connectionId: t.connectionId })).body
    assert.equal('amount' in stored.syncCatalog.streams[0].stream.jsonSchema.properties, false, 'the catalog is kept')
    assert.match(await notified(t, '/action'), /Connection needs attention: the source schema changed[\s\S]*columns added: amount/)
    assert.equal(t.hook.received.filter((r) => r.url === '/action').length, 1)

    // The next check finds the same change: no second notification.
    assert.equal((await sync(t)).status, 'succeeded')
    assert.equal(t.hook.received.filter((r) => r.url === '/action').length, 1)

    // Reviewing and saving the refreshed catalog settles it.
    const refreshed = (await t.s.post('web_backend/connections/get', { connectionId: t.connectionId, withRefreshedCatalog: true })).body
    const saved = await t.s.post('web_backend/connections/update', { connectionId: t.connectionId, syncCatalog: refreshed.syncCatalog, sourceCatalogId: refreshed.catalogId, skipReset: true })
    assert.equal(saved.status, 200, JSON.stringify(saved.body))
    assert.equal(saved.body.schemaChange, 'no_change')
    assert.deepEqual(await schemaChange(t), ['no_change', 'no_change', false])
  } finally {
    await t.close()
  }
})

test('disable: a change turns the connection off, fails the sync with the reason and notifies', async () => {
  const t = await setup('disable')
  try {
    assert.equal((await sync(t)).status, 'succeeded')
    await db.query(`CREATE TABLE ${t.schema}.refunds (id int PRIMARY KEY)`)
    const run = await sync(t)
    assert.equal(run.status, 'failed')
    assert.match(run.failure ?? '', /nonBreakingChangesPreference is 'disable': new stream '.*\.refunds'\. The connection was disabled/)
    assert.equal((await t.s.post('connections/get', { connectionId: t.connectionId })).body.status, 'inactive')
    assert.deepEqual(await schemaChange(t), ['non_breaking', 'non_breaking', false])
    assert.match(await notified(t, '/disabled'), /Connection disabled: the source schema changed[\s\S]*new stream/)
    assert.match(await notified(t, '/action'), /the source schema changed/)
  } finally {
    await t.close()
  }
})

test('propagate_columns: new columns reach the destination, a new table stays unselected, no change is left pending', async () => {
  const t = await setup('propagate_columns')
  try {
    assert.equal((await sync(t)).status, 'succeeded')
    await db.query(`ALTER TABLE ${t.schema}.orders ADD COLUMN amount numeric`)
    await db.query(`ALTER TABLE ${t.schema}.orders DROP COLUMN note`)
    await db.query(`UPDATE ${t.schema}.orders SET amount = 9.5, updated_at = now() + interval '1 minute' WHERE id = 1`)
    await db.query(`CREATE TABLE ${t.schema}.refunds (id int PRIMARY KEY)`)
    assert.equal((await sync(t)).status, 'succeeded')
    const read = (await t.s.post('web_backend/connections/get', { connectionId: t.connectionId })).body
    assert.deepEqual(streamNames(read), [
      ['orders', true],
      ['refunds', false],
    ])
    const orders = read.syncCatalog.streams.find((e: { stream: { name: string } }) => e.stream.name === 'orders')
    assert.deepEqual(Object.keys(orders.stream.jsonSchema.properties).sort(), ['amount', 'id', 'updated_at'])
    assert.deepEqual([orders.config.syncMode, orders.config.destinationSyncMode, orders.config.cursorField], ['incremental', 'append_dedup', ['updated_at']])
    const rows = await readTestDestination(t.out, { name: 'orders', namespace: t.schema })
    const one = rows.filter((r) => (r._airbyte_data as { id: number }).id === 1).at(-1)
    assert.equal(Number((one?._airbyte_data as { amount: unknown }).amount), 9.5, 'the new column was synced')
    assert.deepEqual(await schemaChange(t), ['no_change', 'no_change', false])
    assert.match(await notified(t, '/update'), /Connection updated: schema changes were applied[\s\S]*columns added: amount; columns removed: note/)
  } finally {
    await t.close()
  }
})

test('propagate_fully on the PostgreSQL store: a new table is synced, a dropped one leaves the catalog', async () => {
  const store = await createStoreDatabase('schemastore')
  const t = await setup('propagate_fully', { SLUICE_DATABASE_URL: store.url })
  try {
    await db.query(`CREATE TABLE ${t.schema}.gone (id int PRIMARY KEY)`)
    const withGone = (await t.s.post('web_backend/connections/get', { connectionId: t.connectionId, withRefreshedCatalog: true })).body
    const gone = withGone.syncCatalog.streams.find((e: { stream: { name: string } }) => e.stream.name === 'gone')
    gone.config.selected = true
    gone.config.syncMode = 'full_refresh'
    gone.config.destinationSyncMode = 'overwrite'
    const saved = await t.s.post('web_backend/connections/update', { connectionId: t.connectionId, syncCatalog: withGone.syncCatalog, sourceCatalogId: withGone.catalogId, skipReset: true })
    assert.equal(saved.status, 200, JSON.stringify(saved.body))
    assert.equal((await sync(t)).status, 'succeeded')

    await db.query(`DROP TABLE ${t.schema}.gone`)
    await db.query(`CREATE TABLE ${t.schema}.refunds (id int PRIMARY KEY, amount numeric)`)
    await db.query(`INSERT INTO ${t.schema}.refunds VALUES (7, 1.5)`)
    assert.equal((await sync(t)).status, 'succeeded')
    const read = (await t.s.post('web_backend/connections/get', { connectionId: t.connectionId })).body
    assert.deepEqual(streamNames(read), [
      ['orders', true],
      ['refunds', true],
    ])
    const refunds = await readTestDestination(t.out, { name: 'refunds', namespace: t.schema })
    assert.deepEqual(refunds.map((r) => (r._airbyte_data as { id: number }).id), [7])
    assert.deepEqual(await schemaChange(t), ['no_change', 'no_change', false])
    assert.match(await notified(t, '/update'), /new stream '.*\.refunds'[\s\S]*stream '.*\.gone' removed|stream '.*\.gone' removed[\s\S]*new stream '.*\.refunds'/)
  } finally {
    await t.close()
    await store.drop()
  }
})

test('breaking: a dropped cursor disables the connection whatever the preference; saving a fixed catalog clears it', async () => {
  const t = await setup('propagate_fully')
  try {
    assert.equal((await sync(t)).status, 'succeeded')
    await db.query(`ALTER TABLE ${t.schema}.orders DROP COLUMN updated_at`)
    const run = await sync(t)
    assert.equal(run.status, 'failed')
    assert.match(run.failure ?? '', /breaks this connection.*cursor or primary-key column removed \(breaking\): updated_at/)
    const conn = (await t.s.post('connections/get', { connectionId: t.connectionId })).body
    assert.equal(conn.status, 'inactive')
    assert.deepEqual(await schemaChange(t), ['breaking', 'breaking', true])
    assert.match(await notified(t, '/breaking'), /Connection disabled by a breaking schema change[\s\S]*updated_at/)
    assert.match(await notified(t, '/action'), /a breaking schema change/)

    const refreshed = (await t.s.post('web_backend/connections/get', { connectionId: t.connectionId, withRefreshedCatalog: true })).body
    const orders = refreshed.syncCatalog.streams.find((e: { stream: { name: string } }) => e.stream.name === 'orders')
    orders.config.syncMode = 'full_refresh'
    orders.config.destinationSyncMode = 'overwrite'
    orders.config.cursorField = []
    const saved = await t.s.post('web_backend/connections/update', { connectionId: t.connectionId, syncCatalog: refreshed.syncCatalog, sourceCatalogId: refreshed.catalogId, status: 'active', skipReset: true })
    assert.equal(saved.status, 200, JSON.stringify(saved.body))
    assert.equal(saved.body.breakingChange, false)
    assert.deepEqual(await schemaChange(t), ['no_change', 'no_change', false])
    assert.equal((await sync(t)).status, 'succeeded')
  } finally {
    await t.close()
  }
})
