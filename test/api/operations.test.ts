import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createHarness, type ApiHarness } from './api-harness.js'

const FAKER_ID = 'dfd88b22-b603-4c3d-aad7-3701784586b1'
const LOCAL_FILES_ID = '862a88fc-f263-4a45-aed8-2a53987631c1'
const TOKEN = 'dbt-cloud-token-5f0b'

describe('operations/* and workspace webhook configs', () => {
  let h: ApiHarness
  let connectionId: string
  let webhookConfigId: string

  before(async () => {
    h = await createHarness()
    const source = await h.post('sources/create', { workspaceId: h.workspaceId, sourceDefinitionId: FAKER_ID, name: 'faker', connectionConfiguration: { count: 10 } })
    const destination = await h.post('destinations/create', {
      workspaceId: h.workspaceId,
      destinationDefinitionId: LOCAL_FILES_ID,
      name: 'files',
      connectionConfiguration: { destination_path: 'ops', format: { format_type: 'JSONL' } },
    })
    const conn = await h.post('connections/create', {
      sourceId: source.json().sourceId,
      destinationId: destination.json().destinationId,
      syncCatalog: { streams: [{ stream: { name: 'users' }, config: { syncMode: 'full_refresh', destinationSyncMode: 'overwrite', selected: true } }] },
    })
    assert.equal(conn.statusCode, 200, conn.body)
    connectionId = conn.json().connectionId
  })
  after(async () => {
    await h.close()
  })

  it('stores webhook tokens encrypted and never returns them', async () => {
    const res = await h.post('workspaces/update', { workspaceId: h.workspaceId, webhookConfigs: [{ name: 'dbt cloud', authToken: TOKEN }] })
    assert.equal(res.statusCode, 200, res.body)
    const configs = res.json().webhookConfigs
    assert.equal(configs.length, 1)
    assert.deepEqual(Object.keys(configs[0]).sort(), ['id', 'name'])
    webhookConfigId = configs[0].id
    assert.doesNotMatch(res.body, new RegExp(TOKEN))
    assert.doesNotMatch((await h.post('workspaces/get', { workspaceId: h.workspaceId })).body, new RegExp(TOKEN))
    const stored = h.db.prepare('SELECT doc FROM workspaces WHERE workspace_id = ?').get(h.workspaceId) as { doc: string }
    assert.doesNotMatch(stored.doc, new RegExp(TOKEN))
    assert.match(stored.doc, /sluice:v1:/)

    // The same name keeps its id and, with no token given, its token; a new name gets a new id.
    const again = await h.post('workspaces/update', { workspaceId: h.workspaceId, webhookConfigs: [{ name: 'dbt cloud' }, { name: 'other', authToken: 'x' }] })
    const [first, second] = again.json().webhookConfigs
    assert.equal(first.id, webhookConfigId)
    assert.notEqual(second.id, webhookConfigId)
    const doc = JSON.parse((h.db.prepare('SELECT doc FROM workspaces WHERE workspace_id = ?').get(h.workspaceId) as { doc: string }).doc)
    assert.equal(h.deps.secrets.decrypt(doc.webhookConfigs[0].authToken), TOKEN)

    const bad = await h.post('workspaces/update', { workspaceId: h.workspaceId, webhookConfigs: [{ authToken: 'no name' }] })
    assert.equal(bad.statusCode, 422)
    assert.match(bad.body, /webhookConfigs/)
  })

  it('creates, gets, lists, updates and deletes webhook operations of a connection', async () => {
    const created = await h.post('operations/create', {
      workspaceId: h.workspaceId,
      name: 'run dbt',
      operatorConfiguration: { operatorType: 'webhook', webhook: { webhookConfigId, webhookType: 'dbtCloud', dbtCloud: { accountId: 12, jobId: 34 } } },
    })
    assert.equal(created.statusCode, 200, created.body)
    const op = created.json()
    assert.equal(op.workspaceId, h.workspaceId)
    assert.equal(op.name, 'run dbt')
    assert.deepEqual((await h.post('operations/get', { operationId: op.operationId })).json(), op)

    const generic = (
      await h.post('operations/create', {
        workspaceId: h.workspaceId,
        name: 'notify',
        operatorConfiguration: { operatorType: 'webhook', webhook: { webhookConfigId, webhookType: 'generic', generic: { executionUrl: 'http://127.0.0.1:9/hook', executionBody: '{"a":1}' } } },
      })
    ).json()

    // Dagster's asset loader asks this of every connection: an empty list before any is attached.
    assert.deepEqual((await h.post('operations/list', { connectionId })).json(), { operations: [] })
    const updatedConn = await h.post('connections/update', { connectionId, operationIds: [generic.operationId, op.operationId] })
    assert.equal(updatedConn.statusCode, 200, updatedConn.body)
    assert.deepEqual(updatedConn.json().operationIds, [generic.operationId, op.operationId])
    assert.deepEqual(
      (await h.post('operations/list', { connectionId })).json().operations.map((o: { name: string }) => o.name),
      ['notify', 'run dbt'],
    )

    const renamed = await h.post('operations/update', { operationId: op.operationId, name: 'run dbt job', operatorConfiguration: op.operatorConfiguration })
    assert.equal(renamed.statusCode, 200, renamed.body)
    assert.equal(renamed.json().name, 'run dbt job')

    assert.equal((await h.post('operations/delete', { operationId: op.operationId })).statusCode, 204)
    assert.equal((await h.post('operations/get', { operationId: op.operationId })).statusCode, 404)
    assert.deepEqual((await h.post('connections/get', { connectionId })).json().operationIds, [generic.operationId])
    assert.deepEqual((await h.post('operations/list', { connectionId })).json().operations.map((o: { name: string }) => o.name), ['notify'])
  })

  it('refuses what cannot run, naming the field, and stores nothing', async () => {
    const before = (h.db.prepare('SELECT count(*) AS n FROM operations').get() as { n: number }).n
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ operatorType: 'normalization', normalization: { option: 'basic' } }, /normalization is not run by sluice/],
      [{ operatorType: 'dbt', dbt: { gitRepoUrl: 'https://example.com/x.git' } }, /custom dbt transformations are not run/],
      [{ operatorType: 'webhook', webhook: { webhookConfigId: '6f1b2c3d-0000-4000-8000-000000000000', executionUrl: 'http://127.0.0.1:9/' } }, /webhookConfigId is not a webhook config of this workspace/],
      [{ operatorType: 'webhook', webhook: { webhookConfigId, executionUrl: 'ftp://example.com/' } }, /webhook\.executionUrl must be an http\(s\) URL/],
      [{ operatorType: 'webhook', webhook: { webhookConfigId, webhookType: 'dbtCloud', dbtCloud: { accountId: 1 } } }, /dbtCloud needs a positive integer accountId and jobId/],
      [{ operatorType: 'webhook' }, /operatorConfiguration\.webhook is required/],
      [{ operatorType: 'sql' }, /operatorType/],
    ]
    for (const [operatorConfiguration, message] of cases) {
      const res = await h.post('operations/create', { workspaceId: h.workspaceId, name: 'x', operatorConfiguration })
      assert.equal(res.statusCode, 422, `${JSON.stringify(operatorConfiguration)}: ${res.body}`)
      assert.match(res.body, message)
      assert.doesNotMatch(res.body, /at .*\.js:\d+/)
    }
    assert.equal((h.db.prepare('SELECT count(*) AS n FROM operations').get() as { n: number }).n, before)

    const check = await h.post('operations/check', { operatorType: 'normalization', normalization: { option: 'basic' } })
    assert.equal(check.json().status, 'failed')
    assert.match(check.json().message, /normalization/)
    const ok = await h.post('operations/check', { operatorType: 'webhook', webhook: { webhookConfigId, executionUrl: 'https://example.com/hook' } })
    assert.deepEqual(ok.json(), { status: 'succeeded' })
  })

  it('gives 404 for unknown operations and connections, and keeps connections from naming them', async () => {
    const unknown = '0b9d2a4e-1111-4222-8333-944455566677'
    assert.equal((await h.post('operations/get', { operationId: unknown })).statusCode, 404)
    assert.equal((await h.post('operations/delete', { operationId: unknown })).statusCode, 404)
    assert.equal((await h.post('operations/list', { connectionId: unknown })).statusCode, 404)
    const before = (await h.post('connections/get', { connectionId })).json().operationIds
    const res = await h.post('connections/update', { connectionId, operationIds: [unknown] })
    assert.equal(res.statusCode, 404)
    assert.match(res.body, new RegExp(unknown))
    assert.deepEqual((await h.post('connections/get', { connectionId })).json().operationIds, before)
    assert.equal((await h.post('operations/get', { operationId: 'not-a-uuid' })).statusCode, 422)
  })
})
