import { randomUUID } from 'node:crypto'
import type { SecretService } from '../secrets/secret-service.js'
import type { WebhookConfigRecord, WorkspaceRecord } from '../store/config-store.js'

/** The OSS default organization id (Airbyte's). */
export const DEFAULT_ORGANIZATION_ID = '00000000-0000-0000-0000-000000000000'

/** Turns a name into a slug: lower case, runs of other characters become '-'. */
export function slugify(name: string): string {
  const slug = name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
  return slug === '' ? 'workspace' : slug
}

export interface NewWorkspaceInput {
  name: string
  slug?: string
  organizationId?: string
  email?: string
  anonymousDataCollection?: boolean
  news?: boolean
  securityUpdates?: boolean
  displaySetupWizard?: boolean
  notifications?: unknown[]
  notificationSettings?: unknown
  defaultGeography?: string
  webhookConfigs?: WebhookConfigWrite[]
}

/** Airbyte's `WebhookConfigWrite`. */
export interface WebhookConfigWrite {
  name: string
  authToken?: string
}

/**
 * The stored webhook configs for a written list: tokens encrypted; a config keeps its id (and its
 * token when none is given) if the workspace already had one of that name, so operations that
 * name it keep working after an update. Airbyte gives every config a new id on each update.
 */
export function webhookConfigRecords(written: readonly WebhookConfigWrite[], previous: readonly WebhookConfigRecord[], secrets: SecretService): WebhookConfigRecord[] {
  return written.map((w) => {
    const old = previous.find((p) => p.name === w.name)
    const record: WebhookConfigRecord = { id: old?.id ?? randomUUID(), name: w.name }
    const token = w.authToken !== undefined ? secrets.encrypt(w.authToken) : old?.authToken
    if (token !== undefined) record.authToken = token
    return record
  })
}

/** A new workspace record with Airbyte's defaults. */
export function newWorkspaceRecord(input: Omit<NewWorkspaceInput, 'webhookConfigs'>, now = Date.now()): WorkspaceRecord {
  const ws: WorkspaceRecord = {
    workspaceId: randomUUID(),
    customerId: randomUUID(),
    organizationId: input.organizationId ?? DEFAULT_ORGANIZATION_ID,
    name: input.name,
    slug: input.slug ?? slugify(input.name),
    initialSetupComplete: false,
    displaySetupWizard: input.displaySetupWizard ?? false,
    anonymousDataCollection: input.anonymousDataCollection ?? false,
    news: input.news ?? false,
    securityUpdates: input.securityUpdates ?? false,
    notifications: input.notifications ?? [],
    tombstone: false,
    createdAt: Math.floor(now / 1000),
  }
  if (input.email !== undefined) ws.email = input.email
  if (input.notificationSettings !== undefined) ws.notificationSettings = input.notificationSettings
  if (input.defaultGeography !== undefined) ws.defaultGeography = input.defaultGeography
  return ws
}

/** `WorkspaceRead`. */
export function toWorkspaceRead(ws: WorkspaceRecord): Record<string, unknown> {
  const read: Record<string, unknown> = {
    workspaceId: ws.workspaceId,
    customerId: ws.customerId,
    name: ws.name,
    slug: ws.slug,
    initialSetupComplete: ws.initialSetupComplete,
    displaySetupWizard: ws.displaySetupWizard,
    anonymousDataCollection: ws.anonymousDataCollection,
    news: ws.news,
    securityUpdates: ws.securityUpdates,
    notifications: ws.notifications,
    organizationId: ws.organizationId,
    tombstone: ws.tombstone,
    // WebhookConfigRead: the token never leaves the server.
    webhookConfigs: (ws.webhookConfigs ?? []).map((w) => ({ id: w.id, name: w.name })),
  }
  if (ws.email !== undefined) read.email = ws.email
  if (ws.notificationSettings !== undefined) read.notificationSettings = ws.notificationSettings
  if (ws.defaultGeography !== undefined) read.defaultGeography = ws.defaultGeography
  return read
}
