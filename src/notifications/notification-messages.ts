import type { NotificationTrigger } from './notification-settings.js'

/** What a notification is about: the connection and, for syncs, the job. */
export interface NotificationEvent {
  trigger: NotificationTrigger
  workspace: { workspaceId: string; name: string }
  connection: { connectionId: string; name: string }
  sourceName?: string
  destinationName?: string
  job?: { id: number; recordsSynced: number; bytesSynced: number; startedAt?: number; endedAt?: number }
  /** Failure message, reason for a disable, or the schema changes applied. */
  detail?: string
}

const HEADLINES: Record<NotificationTrigger, string> = {
  sync_success: 'Sync succeeded',
  sync_failure: 'Sync failed',
  connection_update: 'Connection updated: schema changes were applied',
  connection_update_action_required: 'Connection needs attention: a breaking schema change',
  sync_disabled: 'Connection disabled after repeated failures',
  sync_disabled_warning: 'Connection will be disabled if it keeps failing',
  breaking_change_warning: 'A breaking schema change needs your action',
  breaking_change_syncs_disabled: 'Connection disabled by a breaking schema change',
}

/**
 * A Slack incoming-webhook payload (`text` for every client, plus `blocks` for Slack's layout).
 * Plain facts only: names, counts, the failure message; never a configuration or a secret.
 */
export function slackPayload(event: NotificationEvent): { text: string; blocks: unknown[] } {
  const route = event.sourceName && event.destinationName ? ` (${event.sourceName} → ${event.destinationName})` : ''
  const lines = [`*${HEADLINES[event.trigger]}*: connection "${event.connection.name}"${route} in workspace "${event.workspace.name}".`]
  if (event.job) {
    const took = event.job.startedAt !== undefined && event.job.endedAt !== undefined ? `, ${Math.max(0, Math.round((event.job.endedAt - event.job.startedAt) / 1000))} s` : ''
    lines.push(`Job ${event.job.id}: ${event.job.recordsSynced} records, ${event.job.bytesSynced} bytes${took}.`)
  }
  if (event.detail) lines.push(event.detail)
  lines.push(`Connection id: ${event.connection.connectionId}`)
  const text = lines.join('\n')
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] }
}
