import { slackPayload, type NotificationEvent } from './notification-messages.js'
import { notificationTargets } from './notification-settings.js'
import { deliverJson, webhookOrigin, type DeliveryOptions, type DeliveryResult } from './webhook-delivery.js'

/** Where the notifier reports (the process log); the webhook URL's secret part never reaches it. */
export interface NotifierLog {
  info(fields: Record<string, unknown>, message: string): void
  warn(fields: Record<string, unknown>, message: string): void
}

/** A workspace as the notifier reads it. */
export interface NotifiedWorkspace {
  workspaceId: string
  name: string
  notificationSettings?: unknown
  notifications?: unknown[]
}

/**
 * Sends the workspace's notifications for an event to every Slack-compatible webhook configured
 * for its trigger. Deliveries are retried and never throw: a notification that cannot be sent is
 * logged (with the hook's origin only) and the job, update or disable that caused it goes on.
 */
export class Notifier {
  readonly #log: NotifierLog
  readonly #delivery: DeliveryOptions

  constructor(log: NotifierLog, delivery: DeliveryOptions = {}) {
    this.#log = log
    this.#delivery = delivery
  }

  /** Sends the event's notifications; resolves with one result per webhook once all are done. */
  async notify(workspace: NotifiedWorkspace, event: Omit<NotificationEvent, 'workspace'>): Promise<DeliveryResult[]> {
    const targets = notificationTargets(workspace, event.trigger)
    if (targets.customerioRequested) {
      this.#log.info({ trigger: event.trigger, workspaceId: workspace.workspaceId }, 'customerio (e-mail) notifications are an Airbyte Cloud service: sluice sends Slack-compatible webhooks only')
    }
    const payload = slackPayload({ ...event, workspace: { workspaceId: workspace.workspaceId, name: workspace.name } })
    return Promise.all(targets.slackWebhooks.map((url) => this.send(url, payload, event.trigger)))
  }

  /** Delivers one payload to one webhook and logs the outcome. */
  async send(url: string, payload: unknown, trigger: string): Promise<DeliveryResult> {
    const result = await deliverJson(url, payload, this.#delivery)
    const fields = { trigger, webhook: webhookOrigin(url), tries: result.tries }
    if (result.ok) this.#log.info(fields, 'notification sent')
    else this.#log.warn({ ...fields, reason: result.detail }, 'notification could not be sent')
    return result
  }
}
