import type { WorkspaceRecord } from '../../store/config-store.js'

/**
 * Workspace notifications: the Public API's `NotificationsConfig` (`failure: {email: {enabled},
 * webhook: {enabled, url}}`) is the Config API's `notificationSettings` (`sendOnFailure:
 * {notificationType: ['customerio', 'slack'], slackConfiguration: {webhook}}`), kept in the
 * Config API's shape.
 */
const EVENTS = {
  failure: 'sendOnFailure',
  success: 'sendOnSuccess',
  connectionUpdate: 'sendOnConnectionUpdate',
  connectionUpdateActionRequired: 'sendOnConnectionUpdateActionRequired',
  syncDisabled: 'sendOnSyncDisabled',
  syncDisabledWarning: 'sendOnSyncDisabledWarning',
} as const

type PublicEvent = keyof typeof EVENTS
type NotificationConfig = { email?: { enabled?: boolean }; webhook?: { enabled?: boolean; url?: string } }
type NotificationItem = { notificationType?: string[]; slackConfiguration?: { webhook?: string } }

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** The Config API's notificationSettings after a Public `notifications` write (events not sent are kept). */
export function toNotificationSettings(notifications: Partial<Record<PublicEvent, NotificationConfig>>, previous: unknown): Record<string, unknown> {
  const settings: Record<string, unknown> = isObject(previous) ? { ...previous } : {}
  for (const [event, key] of Object.entries(EVENTS) as Array<[PublicEvent, string]>) {
    const config = notifications[event]
    if (config === undefined) continue
    const item: NotificationItem = { notificationType: [] }
    if (config.email?.enabled === true) item.notificationType?.push('customerio')
    if (config.webhook?.enabled === true) {
      item.notificationType?.push('slack')
      if (config.webhook.url !== undefined) item.slackConfiguration = { webhook: config.webhook.url }
    }
    settings[key] = item
  }
  return settings
}

/** The Public `notifications` of a workspace. */
export function toNotificationsConfig(settings: unknown): Record<string, NotificationConfig> {
  const out: Record<string, NotificationConfig> = {}
  if (!isObject(settings)) return out
  for (const [event, key] of Object.entries(EVENTS) as Array<[PublicEvent, string]>) {
    const item = settings[key]
    if (!isObject(item)) continue
    const types = Array.isArray(item.notificationType) ? item.notificationType : []
    const webhook = isObject(item.slackConfiguration) && typeof item.slackConfiguration.webhook === 'string' ? { url: item.slackConfiguration.webhook } : {}
    out[event] = { email: { enabled: types.includes('customerio') }, webhook: { enabled: types.includes('slack'), ...webhook } }
  }
  return out
}

/** `WorkspaceResponse`. */
export function toWorkspaceResponse(ws: WorkspaceRecord): Record<string, unknown> {
  return { workspaceId: ws.workspaceId, name: ws.name, dataResidency: ws.defaultGeography ?? 'auto', notifications: toNotificationsConfig(ws.notificationSettings) }
}
