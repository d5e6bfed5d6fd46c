import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import type { ActorRecord, CatalogRecord, ConfigStore, ConnectionRecord, SchemaCheckRecord, WorkspaceRecord } from '../../src/store/config-store.js'
import type { SluiceError } from '../../src/errors.js'

/** A store under test. */
export interface ConfigStoreHarness {
  store: ConfigStore
  close(): Promise<void>
}

/** Builds a fresh, empty store. */
export type ConfigStoreFactory = () => Promise<ConfigStoreHarness>

function workspace(name: string, extra: Partial<WorkspaceRecord> = {}): WorkspaceRecord {
  return {
    workspaceId: randomUUID(),
    customerId: randomUUID(),
    organizationId: '00000000-0000-0000-0000-000000000000',
    name,
    slug: name.toLowerCase(),
    initialSetupComplete: false,
    displaySetupWizard: false,
    anonymousDataCollection: false,
    news: false,
    securityUpdates: false,
    notifications: [],
    tombstone: false,
    createdAt: 1_700_000_000,
    ...extra,
  }
}

function actor(kind: ActorRecord['kind'], workspaceId: string, name: string, extra: Partial<ActorRecord> = {}): ActorRecord {
  return {
    id: randomUUID(),
    kind,
    workspaceId,
    definitionId: randomUUID(),
    name,
    configuration: { host: 'h', nested: { password: 'sluice:v1:xyz' }, list: [1, 2] },
    tombstone: false,
    createdAt: 1_700_000_000,
    ...extra,
  }
}

function connection(workspaceId: string, sourceId: string, destinationId: string, extra: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return {
    connectionId: randomUUID(),
    workspaceId,
    name: 'c',
    sourceId,
    destinationId,
    status: 'active',
    namespaceDefinition: 'source',
    prefix: '',
    syncCatalog: { streams: [{ stream: { name: 'users', jsonSchema: { type: 'object' } }, config: { syncMode: 'full_refresh', destinationSyncMode: 'overwrite' } }] },
    schedule: { type: 'basic', units: 24, timeUnit: 'hours' },
    operationIds: [],
    extra: { geography: 'auto' },
    createdAt: 1_700_000_000,
    updatedAt: 1_700_000_000,
    ...extra,
  }
}

/**
 * The ConfigStore contract: every adapter (SQLite now, PostgreSQL later) must pass it
 * unchanged. Each test creates its own workspace, so tests share one store.
 */
export function configStoreContract(name: string, factory: ConfigStoreFactory): void {
  describe(`ConfigStore contract: ${name}`, () => {
    let harness: ConfigStoreHarness
    let store: ConfigStore
    before(async () => {
      harness = await factory()
      store = harness.store
    })
    after(async () => {
      await harness.close()
    })

    test('workspaces: put, get, get by slug, replace, list without tombstones', async () => {
      const ws = workspace('Alpha', { email: 'a@b.c', notificationSettings: { x: 1 } })
      await store.putWorkspace(ws)
      assert.deepEqual(await store.getWorkspace(ws.workspaceId), ws)
      assert.deepEqual(await store.getWorkspaceBySlug('alpha'), ws)
      assert.equal(await store.getWorkspace(randomUUID()), undefined)
      assert.equal(await store.getWorkspaceBySlug('no-such-slug'), undefined)

      await store.putWorkspace({ ...ws, name: 'Alpha 2', slug: 'alpha-2' })
      assert.equal((await store.getWorkspace(ws.workspaceId))?.name, 'Alpha 2')
      assert.equal(await store.getWorkspaceBySlug('alpha'), undefined, 'the old slug is gone')

      const dead = workspace('Dead', { tombstone: true })
      await store.putWorkspace(dead)
      const live = (await store.listWorkspaces()).map((w) => w.workspaceId)
      assert.ok(live.includes(ws.workspaceId))
      assert.ok(!live.includes(dead.workspaceId))
      assert.ok((await store.listWorkspaces({ includeTombstone: true })).some((w) => w.workspaceId === dead.workspaceId))
    })

    test('actors: put, get by kind, list by workspace, tombstones, documents round-trip exactly', async () => {
      const ws = workspace('Actors')
      await store.putWorkspace(ws)
      const src = actor('source', ws.workspaceId, 's1')
      const src2 = actor('source', ws.workspaceId, 's2', { createdAt: 1_700_000_100 })
      const dst = actor('destination', ws.workspaceId, 'd1')
      for (const a of [src, src2, dst]) await store.putActor(a)
      assert.deepEqual(await store.getActor('source', src.id), { ...src, version: 1 }, 'the stored record carries its version')
      assert.equal(await store.getActor('destination', src.id), undefined, 'the kind is part of the key')
      assert.deepEqual(
        (await store.listActors('source', ws.workspaceId)).map((a) => a.name),
        ['s1', 's2'],
      )
      assert.deepEqual(
        (await store.listActors('destination', ws.workspaceId)).map((a) => a.id),
        [dst.id],
      )
      await store.putActor({ ...src2, version: 1, tombstone: true })
      assert.deepEqual(
        (await store.listActors('source', ws.workspaceId)).map((a) => a.name),
        ['s1'],
      )
      assert.equal((await store.listActors('source', ws.workspaceId, { includeTombstone: true })).length, 2)
      assert.ok((await store.listActors('source')).some((a) => a.id === src.id), 'without workspace: all workspaces')
    })

    test('connections: filters by workspace, actor and deprecation', async () => {
      const ws = workspace('Conns')
      await store.putWorkspace(ws)
      const src = actor('source', ws.workspaceId, 's')
      const dst = actor('destination', ws.workspaceId, 'd')
      const other = actor('destination', ws.workspaceId, 'o')
      for (const a of [src, dst, other]) await store.putActor(a)
      const c1 = connection(ws.workspaceId, src.id, dst.id)
      const c2 = connection(ws.workspaceId, src.id, other.id, { status: 'deprecated', createdAt: 1_700_000_001 })
      await store.putConnection(c1)
      await store.putConnection(c2)
      assert.deepEqual(await store.getConnection(c1.connectionId), { ...c1, version: 1 })
      assert.deepEqual(
        (await store.listConnections({ workspaceId: ws.workspaceId })).map((c) => c.connectionId),
        [c1.connectionId],
      )
      assert.deepEqual(
        (await store.listConnections({ workspaceId: ws.workspaceId, includeDeprecated: true })).map((c) => c.connectionId),
        [c1.connectionId, c2.connectionId],
      )
      assert.deepEqual(
        (await store.listConnections({ actorId: other.id, includeDeprecated: true })).map((c) => c.connectionId),
        [c2.connectionId],
      )
      assert.deepEqual(
        (await store.listConnections({ actorId: dst.id })).map((c) => c.connectionId),
        [c1.connectionId],
      )
      await store.putConnection({ ...c1, version: 1, name: 'renamed', status: 'inactive' })
      assert.equal((await store.getConnection(c1.connectionId))?.name, 'renamed')
      assert.equal(await store.getConnection(randomUUID()), undefined)
    })

    test('sources, destinations and connections are written by compare and set: the second of two writers gets a conflict', async () => {
      const ws = workspace('Versions')
      await store.putWorkspace(ws)
      const src = actor('source', ws.workspaceId, 's')
      const dst = actor('destination', ws.workspaceId, 'd')
      for (const a of [src, dst]) await store.putActor(a)
      const conn = connection(ws.workspaceId, src.id, dst.id)
      await store.putConnection(conn)

      const [apiRead, workerRead] = [await store.getConnection(conn.connectionId), await store.getConnection(conn.connectionId)]
      await store.putConnection({ ...apiRead!, name: 'edited by the API' })
      await assert.rejects(store.putConnection({ ...workerRead!, status: 'inactive' }), (e: SluiceError) => e.code === 'SLUICE_ERR_CONFLICT' && e.httpStatus === 409)
      const stored = await store.getConnection(conn.connectionId)
      assert.equal(stored?.name, 'edited by the API')
      assert.equal(stored?.status, conn.status, 'the losing write changed nothing')
      await store.putConnection({ ...stored!, status: 'inactive' })
      assert.deepEqual([(await store.getConnection(conn.connectionId))?.name, (await store.getConnection(conn.connectionId))?.status], ['edited by the API', 'inactive'], 're-read and repeated: both changes kept')

      const a = (await store.getActor('source', src.id))!
      await store.putActor({ ...a, name: 'first' })
      await assert.rejects(store.putActor({ ...a, name: 'second' }), (e: SluiceError) => e.code === 'SLUICE_ERR_CONFLICT')
      assert.equal((await store.getActor('source', src.id))?.name, 'first')
      await assert.rejects(store.putActor(actor('source', ws.workspaceId, 'reused id', { id: src.id })), (e: SluiceError) => e.code === 'SLUICE_ERR_CONFLICT', 'a blind insert does not overwrite a stored record')
    })

    test('catalogs: get, newest per source, filtered by config hash', async () => {
      const ws = workspace('Cats')
      await store.putWorkspace(ws)
      const src = actor('source', ws.workspaceId, 's')
      await store.putActor(src)
      const cat = (hash: string, createdAt: number, name: string): CatalogRecord => ({
        catalogId: randomUUID(),
        sourceId: src.id,
        configHash: hash,
        createdAt,
        catalog: { streams: [{ name, jsonSchema: {}, supportedSyncModes: ['full_refresh'] }] },
      })
      const a1 = cat('a', 1000, 'a1')
      const a2 = cat('a', 2000, 'a2')
      const b1 = cat('b', 3000, 'b1')
      for (const c of [a1, a2, b1]) await store.putCatalog(c)
      assert.deepEqual(await store.getCatalog(a1.catalogId), a1)
      assert.equal((await store.latestCatalog(src.id, 'a'))?.catalogId, a2.catalogId)
      assert.equal((await store.latestCatalog(src.id))?.catalogId, b1.catalogId)
      assert.equal(await store.latestCatalog(src.id, 'zzz'), undefined)
      assert.equal(await store.latestCatalog(randomUUID()), undefined)
    })

    test('custom definitions: put and list', async () => {
      const id = randomUUID()
      const v0 = await store.customDefinitionsVersion()
      await store.putCustomDefinition({ definitionId: id, kind: 'source', name: 'My API', payload: { manifest: { version: '6.0.0' } }, createdAt: 5 })
      const v1 = await store.customDefinitionsVersion()
      assert.notEqual(v1, v0)
      assert.equal(await store.customDefinitionsVersion(), v1, 'the fingerprint is stable while nothing changes')
      await store.putCustomDefinition({ definitionId: id, kind: 'source', name: 'My API v2', payload: { manifest: { version: '6.1.0' } }, createdAt: 5 })
      assert.notEqual(await store.customDefinitionsVersion(), v1, 'a replaced definition changes it')
      const defs = (await store.listCustomDefinitions()).filter((d) => d.definitionId === id)
      assert.equal(defs.length, 1)
      assert.equal(defs[0]!.name, 'My API v2')
      assert.deepEqual(defs[0]!.payload, { manifest: { version: '6.1.0' } })
    })

    test('operations: put, get, list by workspace (tombstoned on request) and replace', async () => {
      const ws = workspace('Ops')
      await store.putWorkspace(ws)
      const op = (name: string, createdAt: number) => ({
        operationId: randomUUID(),
        workspaceId: ws.workspaceId,
        name,
        operatorConfiguration: { operatorType: 'webhook', webhook: { webhookConfigId: randomUUID(), executionUrl: 'https://example.com/' } },
        tombstone: false,
        createdAt,
      })
      const first = op('first', 1)
      const second = op('second', 2)
      await store.putOperation(second)
      await store.putOperation(first)
      assert.deepEqual(await store.getOperation(first.operationId), first)
      assert.deepEqual((await store.listOperations(ws.workspaceId)).map((o) => o.name), ['first', 'second'])
      await store.putOperation({ ...second, name: 'renamed', tombstone: true })
      assert.deepEqual((await store.listOperations(ws.workspaceId)).map((o) => o.name), ['first'])
      assert.deepEqual((await store.listOperations(ws.workspaceId, { includeTombstone: true })).map((o) => o.name), ['first', 'renamed'])
      assert.equal(await store.getOperation(randomUUID()), undefined)
      await store.deleteWorkspace(ws.workspaceId)
      assert.equal(await store.getOperation(first.operationId), undefined)
    })

    test('schema checks: one per connection, replaced by the next, listed per workspace, documents round-trip exactly', async () => {
      const ws = workspace('Checks')
      await store.putWorkspace(ws)
      const src = actor('source', ws.workspaceId, 's')
      const dst = actor('destination', ws.workspaceId, 'd')
      for (const a of [src, dst]) await store.putActor(a)
      const conn = connection(ws.workspaceId, src.id, dst.id)
      const other = connection(ws.workspaceId, src.id, dst.id)
      await store.putConnection(conn)
      await store.putConnection(other)
      assert.equal(await store.getSchemaCheck(conn.connectionId), undefined)
      const first: SchemaCheckRecord = {
        connectionId: conn.connectionId,
        checkedAt: 1_700_000_000_123,
        catalogId: randomUUID(),
        schemaChange: 'non_breaking',
        baselineCatalogId: randomUUID(),
        diff: { transforms: [{ transformType: 'add_stream', streamDescriptor: { name: 'new' } }] },
      }
      await store.putSchemaCheck(first)
      assert.deepEqual(await store.getSchemaCheck(conn.connectionId), first)
      const second: SchemaCheckRecord = { connectionId: conn.connectionId, checkedAt: 1_700_000_100_000, catalogId: randomUUID(), schemaChange: 'no_change', diff: { transforms: [] } }
      await store.putSchemaCheck(second)
      assert.deepEqual(await store.getSchemaCheck(conn.connectionId), second)
      assert.equal(await store.getSchemaCheck(other.connectionId), undefined)
      const elsewhere = workspace('Other checks')
      await store.putWorkspace(elsewhere)
      const otherSrc = actor('source', elsewhere.workspaceId, 's')
      const otherDst = actor('destination', elsewhere.workspaceId, 'd')
      for (const a of [otherSrc, otherDst]) await store.putActor(a)
      const foreign = connection(elsewhere.workspaceId, otherSrc.id, otherDst.id)
      await store.putConnection(foreign)
      await store.putSchemaCheck({ ...second, connectionId: foreign.connectionId })
      assert.deepEqual(await store.listSchemaChecks(ws.workspaceId), [second], 'only the connections of the workspace')
    })

    test('deleteWorkspace removes the workspace and everything in it, nothing else', async () => {
      const ws = workspace('Doomed')
      const keep = workspace('Keep')
      await store.putWorkspace(ws)
      await store.putWorkspace(keep)
      const src = actor('source', ws.workspaceId, 's')
      const dst = actor('destination', ws.workspaceId, 'd')
      const keptSrc = actor('source', keep.workspaceId, 'k')
      for (const a of [src, dst, keptSrc]) await store.putActor(a)
      const conn = connection(ws.workspaceId, src.id, dst.id)
      await store.putConnection(conn)
      const cat: CatalogRecord = { catalogId: randomUUID(), sourceId: src.id, configHash: 'h', createdAt: 1, catalog: { streams: [] } }
      await store.putCatalog(cat)
      await store.putSchemaCheck({ connectionId: conn.connectionId, checkedAt: 1, catalogId: cat.catalogId, schemaChange: 'no_change', diff: { transforms: [] } })
      await store.deleteWorkspace(ws.workspaceId)
      assert.equal(await store.getWorkspace(ws.workspaceId), undefined)
      assert.equal(await store.getActor('source', src.id), undefined)
      assert.equal(await store.getConnection(conn.connectionId), undefined)
      assert.equal(await store.getCatalog(cat.catalogId), undefined)
      assert.equal(await store.getSchemaCheck(conn.connectionId), undefined)
      assert.ok(await store.getActor('source', keptSrc.id))
    })

    test('transaction: all writes land together, or none when the callback throws', async () => {
      const ws = workspace('Tx')
      await store.putWorkspace(ws)
      const a = actor('source', ws.workspaceId, 'a')
      const b = actor('source', ws.workspaceId, 'b')
      await assert.rejects(
        store.transaction(async () => {
          await store.putActor(a)
          await store.putActor(b)
          throw new Error('abort')
        }),
        /abort/,
      )
      assert.equal(await store.getActor('source', a.id), undefined)
      assert.equal(await store.getActor('source', b.id), undefined)

      const result = await store.transaction(async () => {
        await store.putActor(a)
        // Nested calls join the outer transaction.
        await store.transaction(async () => store.putActor(b))
        return 42
      })
      assert.equal(result, 42)
      assert.ok(await store.getActor('source', a.id))
      assert.ok(await store.getActor('source', b.id))
    })

    test('transaction: concurrent callers are serialised, each sees its own writes', async () => {
      const ws = workspace('Conc')
      await store.putWorkspace(ws)
      const order: string[] = []
      await Promise.all(
        ['x', 'y', 'z'].map((tag) =>
          store.transaction(async () => {
            order.push(`${tag}-start`)
            await new Promise((r) => setTimeout(r, 5))
            await store.putActor(actor('destination', ws.workspaceId, tag))
            order.push(`${tag}-end`)
          }),
        ),
      )
      assert.deepEqual(order, ['x-start', 'x-end', 'y-start', 'y-end', 'z-start', 'z-end'])
      assert.equal((await store.listActors('destination', ws.workspaceId)).length, 3)
    })
  })
}
