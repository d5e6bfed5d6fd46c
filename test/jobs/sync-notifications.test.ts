import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js'
import { startJobsServer } from './jobs-harness.js'

async function received(hook: WebhookReceiver, path: string): Promise<{ text: string }> {
  for (;;) {
    const hit = hook.received.find((r) => r.url === path)
    if (hit !== undefined) return JSON.parse(hit.body) as { text: string }
    await new Promise((r) => setTimeout(r, 20))
  }
}

test('a sync that succeeds, one that fails and the disable that follows each notify their webhook', async () => {
  const hook = await startWebhookReceiver()
  const s = await startJobsServer({ SLUICE_AUTO_DISABLE_FAILED_JOBS: '1', SLUICE_NOTIFICATION_BACKOFF_MS: '1' })
  try {
    const slack = (path: string) => ({ notificationType: ['slack'], slackConfiguration: { webhook: `${hook.origin}${path}` } })
    const ws = await s.post('workspaces/update', {
      workspaceId: s.workspaceId,
      notificationSettings: { sendOnSuccess: slack('/success'), sendOnFailure: slack('/failure'), sendOnSyncDisabled: slack('/disabled') },
    })
    assert.equal(ws.status, 200, JSON.stringify(ws.body))

    const good = await s.connection({ source: { records: 5 }, destination: { path: `${s.outDir}/good` } })
    const goodJob = (await s.post('connections/sync', { connectionId: good })).body.job.id as number
    assert.equal((await s.waitFor(goodJob, ['succeeded', 'failed'])).job.status, 'succeeded')
    const success = await received(hook, '/success')
    assert.match(success.text, /Sync succeeded/)
    assert.match(success.text, new RegExp(`Job ${goodJob}: 5 records`))

    const bad = await s.connection({ source: { failAfterRecords: 0, failureType: 'config' }, destination: { path: `${s.outDir}/bad` } })
    const badJob = (await s.post('connections/sync', { connectionId: bad })).body.job.id as number
    assert.equal((await s.waitFor(badJob, ['succeeded', 'failed'])).job.status, 'failed')
    const failure = await received(hook, '/failure')
    assert.match(failure.text, /Sync failed/)
    assert.match(failure.text, /Failure: /)
    const disabled = await received(hook, '/disabled')
    assert.match(disabled.text, /Connection disabled after repeated failures/)
    assert.equal((await s.post('connections/get', { connectionId: bad })).body.status, 'inactive')
    assert.equal(hook.received.filter((r) => r.url === '/success').length, 1, 'the failing sync sent no success')
  } finally {
    await s.close()
    await hook.close()
  }
})
