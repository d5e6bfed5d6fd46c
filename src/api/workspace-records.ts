import { randomUUID } from 'node:crypto'
import type { WorkspaceRecord } from '../store/config-store.js'

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
  webhookConfigs?: unknown[]
}

/** A new workspace record with Airbyte's defaults. */
export function newWorkspaceRecord(input: NewWorkspaceInput, now = Date.now()): WorkspaceRecord {
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
  if (input.webhookConfigs !== undefined) ws.webhookConfigs = input.webhookConfigs
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
    webhookConfigs: ws.webhookConfigs ?? [],
  }
  if (ws.email !== undefined) read.email = ws.email
  if (ws.notificationSettings !== undefined) read.notificationSettings = ws.notificationSettings
  if (ws.defaultGeography !== undefined) read.defaultGeography = ws.defaultGeography
  return read
}
