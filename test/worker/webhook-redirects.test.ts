import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { SecretService } from '../../src/secrets/secret-service.js'
import { runWebhookOperations } from '../../src/worker/webhook-operations.js'
import { startWebhookReceiver } from '../helpers/webhook-receiver.js'

test('a webhook operation answered with a redirect failed: the redirect is not followed with the token', async () => {
  const hook = await startWebhookReceiver((r) => (r.url === '/moved' ? { status: 302, headers: { location: '/elsewhere' } } : { status: 200 }))
  const secrets = new SecretService(randomBytes(32))
  const warnings: string[] = []
  try {
    const failed = await runWebhookOperations(
      [{ operationId: 'op-1', workspaceId: 'ws', name: 'notify', tombstone: false, createdAt: 0, operatorConfiguration: { operatorType: 'webhook', webhook: { webhookConfigId: 'wh', executionUrl: `${hook.origin}/moved` } } }],
      [{ id: 'wh', name: 'hooks', authToken: secrets.encrypt('tok-3xx') }],
      { secrets, signal: new AbortController().signal, attempts: 1, log: { info: () => undefined, warn: (m) => void warnings.push(m), addSecrets: () => undefined } },
    )
    assert.deepEqual(failed, ['notify'])
    assert.deepEqual(hook.received.map((r) => r.url), ['/moved'], 'never sent to the redirect target')
    assert.ok(warnings.some((w) => /HTTP 302/.test(w)), warnings.join('\n'))
  } finally {
    await hook.close()
  }
})
