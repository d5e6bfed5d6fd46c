import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Notifier, type NotifierLog } from '../../src/notifications/notifier.js'
import { notificationTargets } from '../../src/notifications/notification-settings.js'
import { slackPayload } from '../../src/notifications/notification-messages.js'
import { startWebhookReceiver } from '../helpers/webhook-receiver.js'

function memoryLog(): NotifierLog & { lines: string[] } {
  const lines: string[] = []
  return { lines, info: (f, m) => lines.push(`info ${m} ${JSON.stringify(f)}`), warn: (f, m) => lines.push(`warn ${m} ${JSON.stringify(f)}`) }
}

const fast = { backoffMs: () => 1 }
const workspace = (settings: unknown, notifications: unknown[] = []) => ({ workspaceId: 'ws-1', name: 'analytics', notificationSettings: settings, notifications })
const event = { trigger: 'sync_failure' as const, connection: { connectionId: 'c-1', name: 'orders' }, sourceName: 'pg', destinationName: 'lake', job: { id: 7, recordsSynced: 10, bytesSynced: 100 }, detail: 'Failure: the source is down.' }

test('a failure notification reaches each Slack webhook of the trigger once, as Slack-compatible JSON', async () => {
  const hook = await startWebhookReceiver()
  try {
    const settings = {
      sendOnFailure: { notificationType: ['slack'], slackConfiguration: { webhook: `${hook.origin}/services/T000/B000/secret-part` } },
      sendOnSuccess: { notificationType: ['slack'], slackConfiguration: { webhook: `${hook.origin}/success` } },
    }
    const legacy = [{ notificationType: 'slack', sendOnFailure: true, slackConfiguration: { webhook: `${hook.origin}/services/T000/B000/secret-part` } }]
    const results = await new Notifier(memoryLog(), fast).notify(workspace(settings, legacy), event)
    assert.deepEqual(results.map((r) => r.ok), [true])
    assert.equal(hook.received.length, 1)
    const [got] = hook.received
    assert.equal(got!.url, '/services/T000/B000/secret-part')
    assert.equal(got!.contentType, 'application/json')
    const payload = JSON.parse(got!.body)
    assert.match(payload.text, /Sync failed.*"orders" \(pg → lake\).*"analytics"/)
    assert.match(payload.text, /Job 7: 10 records/)
    assert.match(payload.text, /the source is down/)
    assert.equal(payload.blocks[0].type, 'section')
  } finally {
    await hook.close()
  }
})

test('a failing webhook is retried, then logged with its origin only, and never throws', async () => {
  const hook = await startWebhookReceiver(() => ({ status: 500, body: 'boom' }))
  const log = memoryLog()
  try {
    const url = `${hook.origin}/services/T000/B000/very-secret-token`
    const results = await new Notifier(log, { ...fast, attempts: 3 }).notify(workspace({ sendOnFailure: { notificationType: ['slack'], slackConfiguration: { webhook: url } } }), event)
    assert.equal(results[0]!.ok, false)
    assert.equal(hook.received.length, 3, 'tried three times')
    assert.ok(log.lines.some((l) => l.startsWith('warn notification could not be sent') && l.includes(hook.origin) && l.includes('HTTP 500')), log.lines.join('\n'))
    assert.ok(log.lines.every((l) => !l.includes('very-secret-token')), 'the secret part of the URL is never logged')
  } finally {
    await hook.close()
  }
})

test('a 3xx answer is a failure: redirects are not followed', async () => {
  const hook = await startWebhookReceiver((r) => (r.url === '/moved' ? { status: 302, headers: { location: '/elsewhere' } } : { status: 200 }))
  try {
    const results = await new Notifier(memoryLog(), { ...fast, attempts: 1 }).notify(workspace({ sendOnFailure: { notificationType: ['slack'], slackConfiguration: { webhook: `${hook.origin}/moved` } } }), event)
    assert.equal(results[0]!.ok, false)
    assert.equal(results[0]!.status, 302)
    assert.deepEqual(hook.received.map((r) => r.url), ['/moved'])
  } finally {
    await hook.close()
  }
})

test('targets: each setting maps to its trigger; customerio is reported, not sent; bad URLs are skipped', () => {
  const settings = {
    sendOnSyncDisabled: { notificationType: ['slack', 'customerio'], slackConfiguration: { webhook: 'https://hooks.example/disabled' } },
    sendOnConnectionUpdate: { notificationType: ['slack'], slackConfiguration: { webhook: 'not a url' } },
  }
  assert.deepEqual(notificationTargets({ notificationSettings: settings }, 'sync_disabled'), { slackWebhooks: ['https://hooks.example/disabled'], customerioRequested: true })
  assert.deepEqual(notificationTargets({ notificationSettings: settings }, 'connection_update'), { slackWebhooks: [], customerioRequested: false })
  assert.deepEqual(notificationTargets({ notificationSettings: settings }, 'sync_success'), { slackWebhooks: [], customerioRequested: false })
})

test('a schema check notification names its cause and lists the changes, at most 20 of them', () => {
  const base = { workspace: { workspaceId: 'ws-1', name: 'analytics' }, connection: { connectionId: 'c-1', name: 'orders' } }
  const disabled = slackPayload({ ...base, trigger: 'sync_disabled', schemaChange: { breaking: false, changes: ["new stream 'refunds'"] } })
  assert.match(disabled.text, /Connection disabled: the source schema changed/)
  assert.match(disabled.text, /• new stream 'refunds'/)
  assert.doesNotMatch(disabled.text, /Job /)
  const breaking = slackPayload({ ...base, trigger: 'connection_update_action_required', schemaChange: { breaking: true, changes: [] } })
  assert.match(breaking.text, /a breaking schema change/)
  const many = slackPayload({ ...base, trigger: 'connection_update', schemaChange: { breaking: false, changes: Array.from({ length: 25 }, (_, i) => `change ${i}`) } })
  assert.match(many.text, /change 19\n… and 5 more change\(s\)\./)
  assert.doesNotMatch(many.text, /change 20/)
  assert.match(slackPayload({ ...base, trigger: 'sync_disabled' }).text, /Connection disabled after repeated failures/, 'without a schema change, the failure streak headline')
})
