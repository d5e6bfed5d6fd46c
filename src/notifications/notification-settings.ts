import { isHttpUrl } from '../domain/operator-problem.js'

/** Airbyte's notification triggers (`NotificationTrigger`), one per workspace setting. */
export const NOTIFICATION_TRIGGERS = [
  'sync_success',
  'sync_failure',
  'connection_update',
  'connection_update_action_required',
  'sync_disabled',
  'sync_disabled_warning',
  'breaking_change_warning',
  'breaking_change_syncs_disabled',
] as const
export type NotificationTrigger = (typeof NOTIFICATION_TRIGGERS)[number]

/** The key of Airbyte 1.x's `notificationSettings` that holds each trigger's configuration. */
export const SETTING_OF_TRIGGER: Record<NotificationTrigger, string> = {
  sync_success: 'sendOnSuccess',
  sync_failure: 'sendOnFailure',
  connection_update: 'sendOnConnectionUpdate',
  connection_update_action_required: 'sendOnConnectionUpdateActionRequired',
  sync_disabled: 'sendOnSyncDisabled',
  sync_disabled_warning: 'sendOnSyncDisabledWarning',
  breaking_change_warning: 'sendOnBreakingChangeWarning',
  breaking_change_syncs_disabled: 'sendOnBreakingChangeSyncsDisabled',
}

/** Where the workspace wants a trigger's notifications. */
export interface NotificationTargets {
  /** Slack-compatible incoming webhooks (Slack, Mattermost, Rocket.Chat, ...). */
  slackWebhooks: string[]
  /** customerio (Airbyte Cloud's e-mail) was asked for: sluice has no mail service and says so. */
  customerioRequested: boolean
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function slackWebhook(item: Record<string, unknown>): string | undefined {
  const slack = item.slackConfiguration
  return isRecord(slack) && isHttpUrl(slack.webhook) ? slack.webhook : undefined
}

/**
 * The targets of a trigger from a workspace's settings: Airbyte 1.x's `notificationSettings`
 * (`{sendOnFailure: {notificationType: ["slack"], slackConfiguration: {webhook}}, ...}`), plus the
 * older `notifications[]` (`{notificationType: "slack", sendOnSuccess, sendOnFailure,
 * slackConfiguration}`) for success and failure. Each URL once.
 */
export function notificationTargets(workspace: { notificationSettings?: unknown; notifications?: unknown[] }, trigger: NotificationTrigger): NotificationTargets {
  const hooks = new Set<string>()
  let customerioRequested = false
  const settings = workspace.notificationSettings
  const item = isRecord(settings) ? settings[SETTING_OF_TRIGGER[trigger]] : undefined
  if (isRecord(item)) {
    const types = Array.isArray(item.notificationType) ? item.notificationType : [item.notificationType]
    const hook = slackWebhook(item)
    if (types.includes('slack') && hook !== undefined) hooks.add(hook)
    if (types.includes('customerio')) customerioRequested = true
  }
  if (trigger === 'sync_success' || trigger === 'sync_failure') {
    for (const legacy of workspace.notifications ?? []) {
      if (!isRecord(legacy) || legacy.notificationType !== 'slack') continue
      const wanted = trigger === 'sync_success' ? legacy.sendOnSuccess === true : legacy.sendOnFailure !== false
      const hook = slackWebhook(legacy)
      if (wanted && hook !== undefined) hooks.add(hook)
    }
  }
  return { slackWebhooks: [...hooks], customerioRequested }
}
