import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHarness } from './api-harness.js'
import { startWebhookReceiver } from '../helpers/webhook-receiver.js'

test('notifications/try and try_webhook send a sample and answer NotificationRead', async () => {
  const hook = await startWebhookReceiver((r) => (r.url === '/down' ? { status: 503 } : { status: 200 }))
  const h = await createHarness()
  try {
    const ok = await h.post('notifications/try', { notificationType: 'slack', sendOnSuccess: false, sendOnFailure: true, slackConfiguration: { webhook: `${hook.origin}/ok` } })
    assert.equal(ok.statusCode, 200)
    assert.equal(ok.json().status, 'succeeded')
    const down = await h.post('notifications/try_webhook', { notificationTrigger: 'sync_disabled', slackConfiguration: { webhook: `${hook.origin}/down` } })
    assert.equal(down.json().status, 'failed')
    assert.match(down.json().message, /HTTP 503/)
    assert.equal(hook.received.length, 2)
    assert.match(JSON.parse(hook.received[1]!.body).text, /Connection disabled after repeated failures/)
    const bad = await h.post('notifications/try_webhook', { slackConfiguration: { webhook: 'ftp://nope' } })
    assert.equal(bad.statusCode, 422)
    assert.equal(bad.json().validationErrors[0].propertyPath, 'slackConfiguration.webhook')
  } finally {
    await h.close()
    await hook.close()
  }
})
