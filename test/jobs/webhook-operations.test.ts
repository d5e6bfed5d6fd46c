import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { startJobsServer, type JobsServer } from './jobs-harness.js'

const TOKEN = 'hook-token-8c1e77'

interface Received {
  method: string
  url: string
  authorization: string | undefined
  contentType: string | undefined
  body: string
}

async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

describe('webhook operations run after a successful sync', () => {
  let s: JobsServer
  let hooks: Server
  let origin: string
  const received: Received[] = []

  before(async () => {
    hooks = createServer((req, res) => {
      void bodyOf(req).then((body) => {
        received.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, contentType: req.headers['content-type'], body })
        res.statusCode = req.url === '/ok' ? 200 : 500
        res.end(req.url === '/ok' ? '{"data":{"id":1}}' : 'boom')
      })
    })
    await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve))
    origin = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}`
    s = await startJobsServer({ SLUICE_WEBHOOK_ATTEMPTS: '3', SLUICE_WEBHOOK_BACKOFF_MS: '10' })
  })
  after(async () => {
    await s.close()
    await new Promise((resolve) => hooks.close(resolve))
  })

  it('calls each webhook with the workspace token, retries a failing one, and the job stays succeeded', async () => {
    const ws = await s.post('workspaces/update', { workspaceId: s.workspaceId, webhookConfigs: [{ name: 'hooks', authToken: TOKEN }] })
    assert.equal(ws.status, 200, JSON.stringify(ws.body))
    const webhookConfigId = ws.body.webhookConfigs[0].id as string
    const create = async (name: string, webhook: Record<string, unknown>): Promise<string> => {
      const res = await s.post('operations/create', { workspaceId: s.workspaceId, name, operatorConfiguration: { operatorType: 'webhook', webhook: { webhookConfigId, ...webhook } } })
      assert.equal(res.status, 200, JSON.stringify(res.body))
      return res.body.operationId as string
    }
    const ok = await create('notify', { webhookType: 'generic', generic: { executionUrl: `${origin}/ok`, executionBody: '{"cause":"test"}' } })
    const failing = await create('broken', { executionUrl: `${origin}/fail` })
    const connectionId = await s.connection({ streams: [{ name: 'items', syncMode: 'full_refresh', destinationSyncMode: 'overwrite' }], extra: { operationIds: [ok, failing] } })

    const jobId = (await s.post('connections/sync', { connectionId })).body.job.id as number
    const done = await s.waitFor(jobId, ['succeeded', 'failed', 'cancelled'], 30_000)
    assert.equal(done.job.status, 'succeeded')
    assert.equal(done.attempts.length, 1)

    assert.deepEqual(received[0], { method: 'POST', url: '/ok', authorization: `Bearer ${TOKEN}`, contentType: 'application/json', body: '{"cause":"test"}' })
    const failed = received.filter((r) => r.url === '/fail')
    assert.equal(failed.length, 3, 'three tries of the failing webhook')
    assert.ok(failed.every((r) => r.method === 'GET' && r.authorization === `Bearer ${TOKEN}`))

    const log = (done.attempts[0].logs.logLines as string[]).join('\n')
    assert.match(log, /Operation "notify" succeeded \(HTTP 200\)/)
    assert.match(log, /Operation "broken" failed: HTTP 500 boom/)
    assert.doesNotMatch(log, new RegExp(TOKEN))
  })

  it('does not run operations for a reset, nor after a failed sync', async () => {
    const before = received.length
    const ws = await s.post('workspaces/get', { workspaceId: s.workspaceId })
    const op = await s.post('operations/create', {
      workspaceId: s.workspaceId,
      name: 'after failure',
      operatorConfiguration: { operatorType: 'webhook', webhook: { webhookConfigId: ws.body.webhookConfigs[0].id, executionUrl: `${origin}/ok` } },
    })
    const connectionId = await s.connection({
      // A config error is not retried: the job fails after its first attempt.
      source: { failAfterRecords: 5, failureType: 'config' },
      streams: [{ name: 'items', syncMode: 'full_refresh', destinationSyncMode: 'overwrite' }],
      extra: { operationIds: [op.body.operationId] },
    })
    const sync = await s.post('connections/sync', { connectionId })
    assert.equal((await s.waitFor(sync.body.job.id as number, ['succeeded', 'failed', 'cancelled'], 30_000)).job.status, 'failed')
    const reset = await s.post('connections/reset', { connectionId })
    assert.equal((await s.waitFor(reset.body.job.id as number, ['succeeded', 'failed'], 30_000)).job.status, 'succeeded')
    assert.equal(received.length, before)
  })
})
