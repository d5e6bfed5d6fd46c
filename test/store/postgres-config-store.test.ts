import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { ActorRecord, ConnectionRecord, WorkspaceRecord } from '../../src/store/config-store.js'
import { openPostgresStores, type PostgresStores } from '../../src/store/postgres/index.js'
import { createTestDatabase, type TestDatabase } from '../scale/pg-test-database.js'
import { configStoreContract } from './config-store-contract.js'

// The shared ConfigStore contract, unchanged, on a fresh PostgreSQL database.
configStoreContract('postgres', async () => {
  const contractDb = await createTestDatabase('configcontract')
  const stores = await openPostgresStores({ url: contractDb.url })
  return {
    store: stores.configStore,
    close: async () => {
      await stores.close()
      await contractDb.drop()
    },
  }
})

let tdb: TestDatabase
let a: PostgresStores
let b: PostgresStores

before(async () => {
  tdb = await createTestDatabase('config')
  a = await openPostgresStores({ url: tdb.url })
  b = await openPostgresStores({ url: tdb.url })
})

after(async () => {
  await a?.close()
  await b?.close()
  await tdb?.drop()
})

function workspace(id: string, slug: string, createdAt: number, tombstone = false): WorkspaceRecord {
  return {
    workspaceId: id,
    customerId: `cust-${id}`,
    organizationId: '00000000-0000-0000-0000-000000000000',
    name: slug,
    slug,
    initialSetupComplete: false,
    displaySetupWizard: false,
    anonymousDataCollection: false,
    news: false,
    securityUpdates: false,
    notifications: [],
    tombstone,
    createdAt,
  }
}

function actor(id: string, kind: ActorRecord['kind'], workspaceId: string, createdAt: number, tombstone = false): ActorRecord {
  return { id, kind, workspaceId, definitionId: 'def', name: id, configuration: { host: 'h', password: 'enc:v1:x' }, tombstone, createdAt }
}

function connection(id: string, workspaceId: string, sourceId: string, destinationId: string, status: ConnectionRecord['status']): ConnectionRecord {
  return {
    connectionId: id,
    workspaceId,
    name: id,
    sourceId,
    destinationId,
    status,
    namespaceDefinition: 'source',
    prefix: '',
    syncCatalog: { streams: [{ stream: { name: 'users' }, config: { selected: true } }] },
    schedule: { type: 'basic', units: 1, timeUnit: 'hours' },
    operationIds: [],
    extra: { geography: 'auto' },
    createdAt: 10,
    updatedAt: 10,
  }
}

/** PostgreSQL-specific behaviour: several processes (pools) on one database. */
describe('PostgresConfigStore across processes', () => {
  test('documents round-trip and are visible to every process', async () => {
    const ws = workspace('w1', 'team', 100)
    await a.configStore.putWorkspace(ws)
    assert.deepEqual(await b.configStore.getWorkspace('w1'), ws)
    assert.deepEqual(await b.configStore.getWorkspaceBySlug('team'), ws)
    await a.configStore.putWorkspace({ ...ws, tombstone: true })
    assert.equal(await b.configStore.getWorkspaceBySlug('team'), undefined)
    assert.deepEqual((await b.configStore.listWorkspaces()).map((w) => w.workspaceId), [])
    assert.deepEqual((await b.configStore.listWorkspaces({ includeTombstone: true })).map((w) => w.workspaceId), ['w1'])
    await a.configStore.putWorkspace(ws)
  })

  test('actor and connection filters', async () => {
    await a.configStore.putActor(actor('s2', 'source', 'w1', 20))
    await a.configStore.putActor(actor('s1', 'source', 'w1', 10))
    await a.configStore.putActor(actor('s3', 'source', 'w1', 30, true))
    await a.configStore.putActor(actor('d1', 'destination', 'w1', 10))
    assert.deepEqual((await b.configStore.listActors('source', 'w1')).map((x) => x.id), ['s1', 's2'])
    assert.deepEqual((await b.configStore.listActors('source', undefined, { includeTombstone: true })).map((x) => x.id), ['s1', 's2', 's3'])
    assert.equal(await b.configStore.getActor('destination', 's1'), undefined)
    assert.deepEqual((await b.configStore.getActor('source', 's1'))?.configuration, { host: 'h', password: 'enc:v1:x' })

    await a.configStore.putConnection(connection('c1', 'w1', 's1', 'd1', 'active'))
    await a.configStore.putConnection(connection('c2', 'w1', 's2', 'd1', 'deprecated'))
    assert.deepEqual((await b.configStore.listConnections({ workspaceId: 'w1' })).map((c) => c.connectionId), ['c1'])
    assert.deepEqual((await b.configStore.listConnections({ includeDeprecated: true, actorId: 'd1' })).map((c) => c.connectionId), ['c1', 'c2'])
    assert.deepEqual((await b.configStore.listConnections({ actorId: 's2', includeDeprecated: true })).map((c) => c.connectionId), ['c2'])
    assert.deepEqual((await b.configStore.getConnection('c1'))?.schedule, { type: 'basic', units: 1, timeUnit: 'hours' })
  })

  test('latest catalog by source and config hash, ties broken by write order', async () => {
    const catalog = { streams: [] }
    await a.configStore.putCatalog({ catalogId: 'k1', sourceId: 's1', configHash: 'h1', catalog, createdAt: 5 })
    await a.configStore.putCatalog({ catalogId: 'k2', sourceId: 's1', configHash: 'h1', catalog, createdAt: 5 })
    await a.configStore.putCatalog({ catalogId: 'k3', sourceId: 's1', configHash: 'h2', catalog, createdAt: 4 })
    assert.equal((await b.configStore.latestCatalog('s1', 'h1'))?.catalogId, 'k2')
    assert.equal((await b.configStore.latestCatalog('s1'))?.catalogId, 'k2')
    assert.equal((await b.configStore.latestCatalog('s1', 'h2'))?.catalogId, 'k3')
    assert.equal(await b.configStore.latestCatalog('s1', 'nope'), undefined)
  })

  test('a failed transaction leaves nothing behind; a committed one lands whole', async () => {
    await assert.rejects(
      a.configStore.transaction(async () => {
        await a.configStore.putWorkspace(workspace('w-tx', 'tx', 1))
        assert.equal(await b.configStore.getWorkspace('w-tx'), undefined, 'not visible to others before commit')
        throw new Error('boom')
      }),
      /boom/,
    )
    assert.equal(await a.configStore.getWorkspace('w-tx'), undefined)
    await a.configStore.transaction(async () => {
      await a.configStore.putWorkspace(workspace('w-tx', 'tx', 1))
      await a.configStore.transaction(async () => a.configStore.putActor(actor('s-tx', 'source', 'w-tx', 1)))
    })
    assert.equal((await b.configStore.getActor('source', 's-tx'))?.workspaceId, 'w-tx')
  })

  test('config transactions of two processes never interleave', async () => {
    const order: string[] = []
    const slow = a.configStore.transaction(async () => {
      order.push('a-start')
      await new Promise((r) => setTimeout(r, 200))
      order.push('a-end')
    })
    await new Promise((r) => setTimeout(r, 50))
    const fast = b.configStore.transaction(async () => {
      order.push('b-start')
      order.push('b-end')
    })
    await Promise.all([slow, fast])
    assert.deepEqual(order, ['a-start', 'a-end', 'b-start', 'b-end'])
  })

  test('deleteWorkspace removes everything in it and nothing else', async () => {
    await a.configStore.putCustomDefinition({ definitionId: 'cd1', kind: 'source', workspaceId: 'w-tx', name: 'x', payload: {}, createdAt: 1 })
    await a.configStore.putCustomDefinition({ definitionId: 'cd2', kind: 'source', name: 'global', payload: { m: 1 }, createdAt: 2 })
    await a.configStore.putCatalog({ catalogId: 'k-tx', sourceId: 's-tx', configHash: 'h', catalog: { streams: [] }, createdAt: 1 })
    await a.configStore.deleteWorkspace('w-tx')
    assert.equal(await b.configStore.getWorkspace('w-tx'), undefined)
    assert.equal(await b.configStore.getActor('source', 's-tx'), undefined)
    assert.equal(await b.configStore.getCatalog('k-tx'), undefined)
    assert.deepEqual((await b.configStore.listCustomDefinitions()).map((d) => d.definitionId), ['cd2'])
    assert.ok(await b.configStore.getWorkspace('w1'))
  })
})
