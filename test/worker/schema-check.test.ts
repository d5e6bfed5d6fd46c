import assert from 'node:assert/strict'
import { test } from 'node:test'
import { pino } from 'pino'
import { ConnectorRegistry } from '../../src/connectors/registry.js'
import { testDestinationDefinition } from '../../src/connectors/test-destination/index.js'
import { testSourceDefinition } from '../../src/connectors/test-source/index.js'
import { Notifier } from '../../src/notifications/notifier.js'
import type { AirbyteCatalog, AirbyteStream, SourceDefinition } from '../../src/protocol/index.js'
import type { ConfigStore } from '../../src/store/config-store.js'
import type { RunAttemptFn } from '../../src/worker/worker-options.js'
import { startWebhookReceiver } from '../helpers/webhook-receiver.js'
import { fixture, succeed, type Fixture } from './worker-fixture.js'

const HOUR = 3_600_000

function items(columns: string[]): AirbyteStream {
  return {
    name: 'items',
    jsonSchema: { type: 'object', properties: Object.fromEntries(columns.map((c) => [c, { type: 'string' }])) },
    supportedSyncModes: ['full_refresh', 'incremental'],
    sourceDefinedPrimaryKey: [['id']],
  }
}

/** The test source, with a discover the test controls and counts. */
function scriptedSource(discover: () => Promise<AirbyteCatalog>): { definition: SourceDefinition; calls: () => number } {
  let calls = 0
  const inner = testSourceDefinition.source
  return {
    calls: () => calls,
    definition: {
      ...testSourceDefinition,
      source: {
        spec: inner.spec,
        check: (config, opts) => inner.check(config, opts),
        discover: () => {
          calls++
          return discover()
        },
        read: (config, catalog, state, opts) => inner.read(config, catalog, state, opts),
      },
    },
  }
}

/** Makes the fixture's connection incremental + deduped on `items(id, updated_at, name)`, with the given preference. */
async function configure(f: Fixture, extra: Record<string, unknown>): Promise<void> {
  const conn = await f.configStore.getConnection(f.connectionId)
  assert.ok(conn)
  await f.configStore.putConnection({
    ...conn,
    syncCatalog: {
      streams: [
        {
          stream: items(['id', 'updated_at', 'name']) as unknown as Record<string, unknown>,
          config: { syncMode: 'incremental', destinationSyncMode: 'append_dedup', cursorField: ['updated_at'], primaryKey: [['id']], selected: true },
        },
      ],
    },
    extra,
  })
}

async function sync(f: Fixture): Promise<{ id: number; status: string; log: string }> {
  const job = await f.jobStore.createJob({ configType: 'sync', configId: f.connectionId, streams: [] })
  const done = await f.waitJob(job.id, ['succeeded', 'failed'])
  return { id: job.id, status: done.status, log: (await f.jobStore.readLogs(job.id, 0)).join('\n') }
}

test('the schema is checked at most once per interval (injected clock), and before every sync with 0', async () => {
  const f = await fixture()
  const source = scriptedSource(async () => ({ streams: [items(['id', 'updated_at', 'name'])] }))
  let clock = 1_700_000_000_000
  const registry = new ConnectorRegistry([source.definition, testDestinationDefinition])
  const worker = f.worker(f.jobStore, succeed, { registry, now: () => clock, schemaCheckIntervalHours: 24 })
  try {
    await configure(f, {})
    await worker.start()
    const first = await sync(f)
    assert.equal(first.status, 'succeeded', first.log)
    assert.equal(source.calls(), 1)
    assert.match(first.log, /Schema check: the source schema has not changed\./)
    assert.equal((await f.configStore.getSchemaCheck(f.connectionId))?.checkedAt, clock)

    clock += 23 * HOUR
    const second = await sync(f)
    assert.equal(source.calls(), 1, 'within the interval: no discover')
    assert.match(second.log, /Schema check skipped: the source was checked at 2023-11-14T22:13:20\.000Z \(at most once every 24 h\)/)

    clock += 2 * HOUR
    await sync(f)
    assert.equal(source.calls(), 2, 'the interval passed: discovered again')
    assert.equal((await f.configStore.getSchemaCheck(f.connectionId))?.checkedAt, clock)
  } finally {
    await worker.stop()
    await f.close()
  }

  const g = await fixture()
  const every = scriptedSource(async () => ({ streams: [items(['id', 'updated_at', 'name'])] }))
  const always = g.worker(g.jobStore, succeed, { registry: new ConnectorRegistry([every.definition, testDestinationDefinition]), now: () => 0, schemaCheckIntervalHours: 0 })
  try {
    await configure(g, {})
    await always.start()
    await sync(g)
    await sync(g)
    assert.equal(every.calls(), 2, 'interval 0: before every sync')
  } finally {
    await always.stop()
    await g.close()
  }
})

test('a discover that fails is a warning: the sync goes on and the next one checks again', async () => {
  const f = await fixture()
  const source = scriptedSource(async () => {
    throw new Error('the source is unreachable')
  })
  const worker = f.worker(f.jobStore, succeed, { registry: new ConnectorRegistry([source.definition, testDestinationDefinition]) })
  try {
    await configure(f, {})
    await worker.start()
    const run = await sync(f)
    assert.equal(run.status, 'succeeded', run.log)
    assert.match(run.log, /WARN Schema check not finished, the sync goes on with the connection's catalog: the source is unreachable/)
    assert.equal(await f.configStore.getSchemaCheck(f.connectionId), undefined, 'no check recorded')
    await sync(f)
    assert.equal(source.calls(), 2)
  } finally {
    await worker.stop()
    await f.close()
  }
})

test('a lost cursor disables the connection, fails the sync with the reason and notifies the workspace', async () => {
  const hook = await startWebhookReceiver()
  const f = await fixture()
  const source = scriptedSource(async () => ({ streams: [items(['id', 'name'])] }))
  const notifier = new Notifier(pino({ level: 'silent' }), { attempts: 1 })
  const worker = f.worker(f.jobStore, succeed, { registry: new ConnectorRegistry([source.definition, testDestinationDefinition]), notifier })
  try {
    const conn = await f.configStore.getConnection(f.connectionId)
    const ws = await f.configStore.getWorkspace(conn?.workspaceId ?? '')
    assert.ok(ws)
    const slack = (path: string) => ({ notificationType: ['slack'], slackConfiguration: { webhook: `${hook.origin}${path}` } })
    await f.configStore.putWorkspace({
      ...ws,
      notificationSettings: { sendOnBreakingChangeSyncsDisabled: slack('/breaking'), sendOnConnectionUpdateActionRequired: slack('/action'), sendOnSyncDisabled: slack('/disabled') },
    })
    await configure(f, { nonBreakingChangesPreference: 'propagate_fully', notifySchemaChanges: true })
    await worker.start()
    const run = await sync(f)
    assert.equal(run.status, 'failed')
    const attempt = (await f.jobStore.listAttempts(run.id))[0]
    assert.match(attempt?.failures[0]?.externalMessage ?? '', /The source schema changed in a way that breaks this connection.*cursor or primary-key column removed \(breaking\): updated_at.*The connection was disabled/)
    assert.equal(attempt?.failures[0]?.failureType, 'config_error')
    const stored = await f.configStore.getConnection(f.connectionId)
    assert.equal(stored?.status, 'inactive')
    assert.equal(stored?.extra.breakingChange, true)
    assert.equal((stored?.syncCatalog.streams[0]?.config as { cursorField: string[] }).cursorField[0], 'updated_at', 'nothing propagated')
    assert.equal((await f.configStore.getSchemaCheck(f.connectionId))?.schemaChange, 'breaking')
    await worker.stop()
    const paths = hook.received.map((r) => r.url).sort()
    assert.deepEqual(paths, ['/action', '/breaking'], 'no sync_disabled: that trigger is for the disable preference')
    const breaking = JSON.parse(hook.received.find((r) => r.url === '/breaking')?.body ?? '{}') as { text: string }
    assert.match(breaking.text, /Connection disabled by a breaking schema change/)
    assert.match(breaking.text, /• stream 'items': cursor or primary-key column removed \(breaking\): updated_at/)
  } finally {
    await worker.stop()
    await f.close()
    await hook.close()
  }
})

test('propagation is a compare-and-set write: an API edit made meanwhile is kept, the sync runs with the new columns', async () => {
  const f = await fixture()
  const source = scriptedSource(async () => ({ streams: [items(['id', 'updated_at', 'name', 'price'])] }))
  let raced = false
  // The first write of the check loses a race against a rename made through the API.
  const racing = new Proxy(f.configStore, {
    get(target, prop) {
      if (prop === 'putConnection') {
        return async (conn: Parameters<ConfigStore['putConnection']>[0]) => {
          if (!raced) {
            raced = true
            const current = await target.getConnection(conn.connectionId)
            assert.ok(current)
            await target.putConnection({ ...current, name: 'renamed meanwhile' })
          }
          return target.putConnection(conn)
        }
      }
      const value: unknown = Reflect.get(target, prop)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  const columns: string[][] = []
  const capture: RunAttemptFn = async (input) => {
    columns.push(Object.keys((input.catalog.streams[0]?.stream.jsonSchema as { properties: object }).properties))
    return succeed(input)
  }
  const worker = f.worker(f.jobStore, capture, { registry: new ConnectorRegistry([source.definition, testDestinationDefinition]), configStore: racing })
  try {
    await configure(f, { nonBreakingChangesPreference: 'propagate_columns' })
    await worker.start()
    const run = await sync(f)
    assert.equal(run.status, 'succeeded', run.log)
    assert.ok(raced)
    const stored = await f.configStore.getConnection(f.connectionId)
    assert.equal(stored?.name, 'renamed meanwhile')
    assert.deepEqual(Object.keys((stored?.syncCatalog.streams[0]?.stream.jsonSchema as { properties: object }).properties), ['id', 'updated_at', 'name', 'price'])
    assert.deepEqual(columns, [['id', 'updated_at', 'name', 'price']])
    assert.match(run.log, /propagate_columns applied 1 change\(s\) to the connection: stream 'items': columns added: price/)
    assert.equal((await f.configStore.getSchemaCheck(f.connectionId))?.schemaChange, 'no_change')
  } finally {
    await worker.stop()
    await f.close()
  }
})
