import { notFound, SluiceError } from '../errors.js'
import type { WorkspaceRecord } from '../store/config-store.js'
import { cancelActiveJob } from './connection-service.js'
import type { ApiDeps } from './deps.js'
import { newWorkspaceRecord, slugify, webhookConfigRecords, type NewWorkspaceInput, type WebhookConfigWrite } from './workspace-records.js'

/** What a workspace update may change (a patch: absent and null fields are left alone). */
export type WorkspacePatch = Partial<Omit<WorkspaceRecord, 'webhookConfigs'>> & { workspaceId: string; webhookConfigs?: WebhookConfigWrite[] }

const PATCHABLE = [
  'name',
  'email',
  'anonymousDataCollection',
  'news',
  'securityUpdates',
  'displaySetupWizard',
  'initialSetupComplete',
  'notifications',
  'notificationSettings',
  'defaultGeography',
] as const

/** Loads a workspace or throws the 404 Airbyte sends. */
export async function requireWorkspace(deps: Pick<ApiDeps, 'configStore'>, workspaceId: string, includeTombstone = false): Promise<WorkspaceRecord> {
  const ws = await deps.configStore.getWorkspace(workspaceId)
  if (!ws || (ws.tombstone && !includeTombstone)) throw notFound('StandardWorkspace', workspaceId)
  return ws
}

async function uniqueSlug(deps: Pick<ApiDeps, 'configStore'>, wanted: string): Promise<string> {
  let slug = wanted
  for (let n = 2; await deps.configStore.getWorkspaceBySlug(slug); n++) slug = `${wanted}-${n}`
  return slug
}

/** Creates a workspace with a slug no other workspace has. */
export async function createWorkspace(deps: Pick<ApiDeps, 'configStore' | 'secrets'>, input: NewWorkspaceInput): Promise<WorkspaceRecord> {
  // In one transaction so that two concurrent creates cannot pick the same slug.
  return deps.configStore.transaction(async () => {
    const { webhookConfigs, ...fields } = input
    const record = newWorkspaceRecord({ ...fields, slug: await uniqueSlug(deps, input.slug ? slugify(input.slug) : slugify(input.name)) })
    if (webhookConfigs !== undefined) record.webhookConfigs = webhookConfigRecords(webhookConfigs, [], deps.secrets)
    await deps.configStore.putWorkspace(record)
    return record
  })
}

/** Patches a workspace; an empty name is refused (422 naming `name`). */
export async function updateWorkspace(deps: Pick<ApiDeps, 'configStore' | 'secrets'>, patch: WorkspacePatch): Promise<WorkspaceRecord> {
  const ws = await requireWorkspace(deps, patch.workspaceId)
  const next: WorkspaceRecord = { ...ws }
  for (const key of PATCHABLE) {
    if (patch[key] !== undefined && patch[key] !== null) (next as unknown as Record<string, unknown>)[key] = patch[key]
  }
  if (Array.isArray(patch.webhookConfigs)) next.webhookConfigs = webhookConfigRecords(patch.webhookConfigs, ws.webhookConfigs ?? [], deps.secrets)
  if (next.name.trim() === '') {
    throw new SluiceError('SLUICE_ERR_INVALID_INPUT', 'The workspace name must not be empty.', {
      validationErrors: [{ propertyPath: 'name', invalidValue: next.name, message: 'must not be empty' }],
    })
  }
  await deps.configStore.putWorkspace(next)
  return next
}

/** Deletes a workspace and everything in it; the running jobs of its connections are cancelled. */
export async function deleteWorkspace(deps: Pick<ApiDeps, 'configStore' | 'jobStore' | 'logger'>, workspaceId: string): Promise<void> {
  await requireWorkspace(deps, workspaceId)
  const connections = await deps.configStore.listConnections({ workspaceId })
  await deps.configStore.deleteWorkspace(workspaceId)
  // The connections are gone: their running jobs must stop.
  for (const conn of connections) await cancelActiveJob(deps, conn.connectionId)
}
