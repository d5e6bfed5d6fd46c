import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createHarness, type ApiHarness } from './api-harness.js'
import { secretDestinationDefinition, secretSourceDefinition } from './secret-test-connectors.js'

// A whole second; the job's times fall inside later seconds at odd milliseconds.
const T0 = Date.UTC(2026, 0, 1, 0, 0, 0)
const S = T0 / 1000
const iso = (ms: number): string => new Date(ms).toISOString()

describe('job times: epoch ms in the store, epoch seconds in the Config API', () => {
  let h: ApiHarness
  let clock = T0
  let connectionId: string
  let jobId: number

  before(async () => {
    h = await createHarness({ definitions: [secretSourceDefinition, secretDestinationDefinition], now: () => clock })
    const config = { host: 'db', port: 5432, password: 'pw-secret' }
    const sourceId = (await h.post('sources/create', { sourceDefinitionId: secretSourceDefinition.definitionId, workspaceId: h.workspaceId, name: 'src', connectionConfiguration: config })).json().sourceId
    const destinationId = (await h.post('destinations/create', { destinationDefinitionId: secretDestinationDefinition.definitionId, workspaceId: h.workspaceId, name: 'dst', connectionConfiguration: config })).json().destinationId
    const conn = await h.post('connections/create', {
      sourceId,
      destinationId,
      syncCatalog: { streams: [{ stream: { name: 'customers', namespace: 'public' }, config: { syncMode: 'full_refresh', destinationSyncMode: 'overwrite', selected: true } }] },
    })
    assert.equal(conn.statusCode, 200, conn.body)
    connectionId = conn.json().connectionId
    const store = h.deps.jobStore
    clock = T0 + 1_700
    jobId = (await store.createJob({ configType: 'sync', configId: connectionId, streams: [{ name: 'customers', namespace: 'public' }] })).id
    clock = T0 + 2_300
    const claimed = await store.claimNext('w1', 60_000)
    assert.equal(claimed?.job.id, jobId)
    clock = T0 + 9_999
    assert.equal(await store.finishAttempt(jobId, 0, 'w1', { status: 'succeeded', failures: [] }, { status: 'succeeded' }), true)
  })
  after(async () => {
    await h.close()
  })

  it('the store keeps milliseconds', async () => {
    const job = await h.deps.jobStore.getJob(jobId)
    assert.deepEqual([job?.createdAt, job?.startedAt, job?.updatedAt], [T0 + 1_700, T0 + 2_300, T0 + 9_999])
  })

  it('jobs/get: JobRead and AttemptRead carry whole epoch seconds', async () => {
    const res = await h.post('jobs/get', { id: jobId })
    assert.equal(res.statusCode, 200, res.body)
    const { job, attempts } = res.json()
    assert.deepEqual([job.createdAt, job.startedAt, job.updatedAt], [S + 1, S + 2, S + 9])
    const attempt = attempts[0].attempt
    assert.deepEqual([attempt.createdAt, attempt.updatedAt, attempt.endedAt], [S + 2, S + 9, S + 9])
  })

  it('jobs/list: items in seconds; date-time bounds compare whole seconds, as before', async () => {
    const list = async (range: Record<string, string>): Promise<number[]> => {
      const res = await h.post('jobs/list', { configTypes: ['sync'], configId: connectionId, ...range })
      assert.equal(res.statusCode, 200, res.body)
      return res.json().jobs.map((j: { id: number; createdAt: number; updatedAt: number; job: { createdAt: number } }) => {
        assert.deepEqual([j.createdAt, j.updatedAt, j.job.createdAt], [S + 1, S + 9, S + 1])
        return j.id
      })
    }
    assert.deepEqual(await list({}), [jobId])
    // Created at second S+1 (.700): a start later in that second and an end earlier in it both match.
    assert.deepEqual(await list({ createdAtStart: iso(T0 + 1_900), createdAtEnd: iso(T0 + 1_000) }), [jobId])
    assert.deepEqual(await list({ createdAtStart: iso(T0 + 2_000) }), [])
    assert.deepEqual(await list({ createdAtEnd: iso(T0 + 999) }), [])
    assert.deepEqual(await list({ updatedAtStart: iso(T0 + 9_000), updatedAtEnd: iso(T0 + 9_000) }), [jobId])
  })

  it('connections/status and web_backend/connections/list report the latest job in seconds', async () => {
    const status = await h.post('connections/status', { connectionIds: [connectionId] })
    assert.equal(status.statusCode, 200, status.body)
    const [read] = status.json()
    assert.equal(read.lastSyncJobCreatedAt, S + 1)
    assert.equal(read.lastSuccessfulSync, S + 9)
    const listed = await h.post('web_backend/connections/list', { workspaceId: h.workspaceId })
    assert.equal(listed.statusCode, 200, listed.body)
    const item = listed.json().connections.find((c: { connectionId: string }) => c.connectionId === connectionId)
    assert.equal(item.latestSyncJobCreatedAt, S + 1)
  })
})
