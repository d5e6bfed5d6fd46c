import type { FastifyInstance } from 'fastify'
import { slackPayload } from '../../notifications/notification-messages.js'
import { NOTIFICATION_TRIGGERS, type NotificationTrigger } from '../../notifications/notification-settings.js'
import { deliverJson, webhookOrigin } from '../../notifications/webhook-delivery.js'
import type { ApiDeps } from '../deps.js'
import { bool, objectSchema, postRoute } from '../route-helpers.js'

const slackConfiguration = objectSchema({ webhook: { type: 'string', format: 'uri', pattern: '^https?://' } }, ['webhook'])
const tryBody = objectSchema(
  { notificationType: { type: 'string', enum: ['slack', 'customerio'] }, sendOnSuccess: bool, sendOnFailure: bool, slackConfiguration, customerioConfiguration: { type: 'object' } },
  ['notificationType'],
)
const tryWebhookBody = objectSchema({ notificationTrigger: { type: 'string', enum: [...NOTIFICATION_TRIGGERS] }, slackConfiguration }, ['slackConfiguration'])

/**
 * notifications/try and notifications/try_webhook: send one sample message to a webhook now and
 * answer Airbyte's `NotificationRead` (`succeeded`, or `failed` with why). One try, no retry: the
 * user is waiting for the answer.
 */
export function registerNotificationRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const trySend = async (webhook: string, trigger: NotificationTrigger): Promise<{ status: 'succeeded' | 'failed'; message: string }> => {
    const payload = slackPayload({
      trigger,
      workspace: { workspaceId: '00000000-0000-0000-0000-000000000000', name: 'sluice' },
      connection: { connectionId: '00000000-0000-0000-0000-000000000000', name: 'test notification' },
      detail: 'This is a test message from sluice: your notification settings work.',
    })
    const result = await deliverJson(webhook, payload, { attempts: 1, timeoutMs: 10_000 })
    deps.logger.info({ trigger, webhook: webhookOrigin(webhook), ok: result.ok }, 'test notification')
    return result.ok ? { status: 'succeeded', message: `Sent (HTTP ${result.status}).` } : { status: 'failed', message: `The webhook did not accept the message: ${result.detail}.` }
  }

  postRoute<{ notificationType: string; sendOnSuccess?: boolean; slackConfiguration?: { webhook: string } }>(
    app,
    'notifications/try',
    { summary: 'Send a sample notification to a Slack-compatible webhook.', requestSchema: tryBody, response: 'NotificationRead' },
    async (body) => {
      if (body.notificationType !== 'slack' || body.slackConfiguration === undefined) {
        return { status: 'failed', message: 'sluice sends Slack-compatible webhook notifications only: set notificationType "slack" and slackConfiguration.webhook.' }
      }
      return trySend(body.slackConfiguration.webhook, body.sendOnSuccess === true ? 'sync_success' : 'sync_failure')
    },
  )

  postRoute<{ notificationTrigger?: NotificationTrigger; slackConfiguration: { webhook: string } }>(
    app,
    'notifications/try_webhook',
    { summary: 'Send a sample notification of one trigger to a Slack-compatible webhook.', requestSchema: tryWebhookBody, response: 'NotificationRead' },
    async (body) => trySend(body.slackConfiguration.webhook, body.notificationTrigger ?? 'sync_failure'),
  )
}
