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
  /** Set when a schema check of the source caused the notification: the changes, one line each. */
  schemaChange?: { breaking: boolean; changes: string[] }
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

/** Headlines of the notifications a schema check sends (the same triggers, another cause). */
const SCHEMA_HEADLINES: Partial<Record<NotificationTrigger, (breaking: boolean) => string>> = {
  connection_update: () => 'Connection updated: schema changes were applied',
  connection_update_action_required: (breaking) => (breaking ? 'Connection needs attention: a breaking schema change' : 'Connection needs attention: the source schema changed'),
  sync_disabled: () => 'Connection disabled: the source schema changed',
  breaking_change_syncs_disabled: () => 'Connection disabled by a breaking schema change',
}

/** Changes listed in one message at most; the rest are counted. */
const MAX_CHANGE_LINES = 20

function headline(event: NotificationEvent): string {
  const schema = event.schemaChange === undefined ? undefined : SCHEMA_HEADLINES[event.trigger]
  return schema === undefined || event.schemaChange === undefined ? HEADLINES[event.trigger] : schema(event.schemaChange.breaking)
}

/**
 * A Slack incoming-webhook payload (`text` for every client, plus `blocks` for Slack's layout).
 * Plain facts only: names, counts, the failure message; never a configuration or a secret.
 */
export function slackPayload(event: NotificationEvent): { text: string; blocks: unknown[] } {
  const route = event.sourceName && event.destinationName ? ` (${event.sourceName} → ${event.destinationName})` : ''
  const lines = [`*${headline(event)}*: connection "${event.connection.name}"${route} in workspace "${event.workspace.name}".`]
  if (event.job) {
    const took = event.job.startedAt !== undefined && event.job.endedAt !== undefined ? `, ${Math.max(0, Math.round((event.job.endedAt - event.job.startedAt) / 1000))} s` : ''
    lines.push(`Job ${event.job.id}: ${event.job.recordsSynced} records, ${event.job.bytesSynced} bytes${took}.`)
  }
  if (event.detail) lines.push(event.detail)
  if (event.schemaChange) {
    const changes = event.schemaChange.changes
    lines.push(...changes.slice(0, MAX_CHANGE_LINES).map((c) => `• ${c}`))
    if (changes.length > MAX_CHANGE_LINES) lines.push(`… and ${changes.length - MAX_CHANGE_LINES} more change(s).`)
  }
  lines.push(`Connection id: ${event.connection.connectionId}`)
  const text = lines.join('\n')
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] }
}
