import type { FastifyInstance } from 'fastify'
import { notFound, SluiceError } from '../../errors.js'
import type { WorkspaceRecord } from '../../store/config-store.js'
import { cancelActiveJob } from '../connection-service.js'
import type { ApiDeps } from '../deps.js'
import { bool, MAX_NAME_LENGTH, nameField, objectSchema, postRoute, str, uuid } from '../route-helpers.js'
import { newWorkspaceRecord, slugify, toWorkspaceRead, webhookConfigRecords, type NewWorkspaceInput, type WebhookConfigWrite } from '../workspace-records.js'

const workspaceFields = {
  name: nameField,
  email: str,
  anonymousDataCollection: bool,
  news: bool,
  securityUpdates: bool,
  displaySetupWizard: bool,
  initialSetupComplete: bool,
  notifications: { type: 'array' },
  notificationSettings: { type: 'object' },
  defaultGeography: str,
  webhookConfigs: { type: 'array', maxItems: 100, items: objectSchema({ name: nameField, authToken: str }, ['name']) },
  organizationId: uuid,
}

const idBody = objectSchema({ workspaceId: uuid, includeTombstone: bool }, ['workspaceId'])
const createBody = objectSchema({ ...workspaceFields, name: nameField, slug: { type: 'string', maxLength: MAX_NAME_LENGTH } }, ['name'])
const updateBody = objectSchema({ ...workspaceFields, workspaceId: uuid }, ['workspaceId'])
const orgBody = objectSchema({ organizationId: uuid, nameContains: str, pagination: { type: 'object' } }, ['organizationId'])

/** Loads a workspace or throws the 404 Airbyte sends. */
export async function requireWorkspace(deps: ApiDeps, workspaceId: string, includeTombstone = false): Promise<WorkspaceRecord> {
  const ws = await deps.configStore.getWorkspace(workspaceId)
  if (!ws || (ws.tombstone && !includeTombstone)) throw notFound('StandardWorkspace', workspaceId)
  return ws
}

async function uniqueSlug(deps: ApiDeps, wanted: string): Promise<string> {
  let slug = wanted
  for (let n = 2; await deps.configStore.getWorkspaceBySlug(slug); n++) slug = `${wanted}-${n}`
  return slug
}

/** workspaces/list, get, get_by_slug, create, update, update_name, delete, list_by_organization_id. */
export function registerWorkspaceRoutes(app: FastifyInstance, deps: ApiDeps): void {
  postRoute(app, 'workspaces/list', { summary: 'List workspaces (no body needed).', response: 'WorkspaceReadList' }, async () => ({
    workspaces: (await deps.configStore.listWorkspaces()).map(toWorkspaceRead),
  }))

  postRoute<{ organizationId: string; nameContains?: string }>(
    app,
    'workspaces/list_by_organization_id',
    { summary: 'List the workspaces of an organization.', requestSchema: orgBody, response: 'WorkspaceReadList' },
    async (body) => {
      const needle = body.nameContains?.toLowerCase()
      const workspaces = (await deps.configStore.listWorkspaces()).filter(
        (w) => w.organizationId === body.organizationId && (needle === undefined || w.name.toLowerCase().includes(needle)),
      )
      return { workspaces: workspaces.map(toWorkspaceRead) }
    },
  )

  postRoute<{ workspaceId: string; includeTombstone?: boolean }>(
    app,
    'workspaces/get',
    { summary: 'Get a workspace.', requestSchema: idBody, response: 'WorkspaceRead' },
    async (body) => toWorkspaceRead(await requireWorkspace(deps, body.workspaceId, body.includeTombstone)),
  )

  postRoute<{ slug: string }>(
    app,
    'workspaces/get_by_slug',
    { summary: 'Get a workspace by slug.', requestSchema: objectSchema({ slug: str }, ['slug']), response: 'WorkspaceRead' },
    async (body) => {
      const ws = await deps.configStore.getWorkspaceBySlug(body.slug)
      if (!ws) throw notFound('StandardWorkspace', body.slug)
      return toWorkspaceRead(ws)
    },
  )

  postRoute<NewWorkspaceInput>(app, 'workspaces/create', { summary: 'Create a workspace.', requestSchema: createBody, response: 'WorkspaceRead' }, async (body) => {
    // In one transaction so that two concurrent creates cannot pick the same slug.
    const ws = await deps.configStore.transaction(async () => {
      const { webhookConfigs, ...fields } = body
      const record = newWorkspaceRecord({ ...fields, slug: await uniqueSlug(deps, body.slug ? slugify(body.slug) : slugify(body.name)) })
      if (webhookConfigs !== undefined) record.webhookConfigs = webhookConfigRecords(webhookConfigs, [], deps.secrets)
      await deps.configStore.putWorkspace(record)
      return record
    })
    return toWorkspaceRead(ws)
  })

  const update = async (body: Partial<Omit<WorkspaceRecord, 'webhookConfigs'>> & { workspaceId: string; webhookConfigs?: WebhookConfigWrite[] }): Promise<Record<string, unknown>> => {
    const ws = await requireWorkspace(deps, body.workspaceId)
    const next: WorkspaceRecord = { ...ws }
    const patchable = [
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
    for (const key of patchable) {
      if (body[key] !== undefined && body[key] !== null) (next as unknown as Record<string, unknown>)[key] = body[key]
    }
    if (Array.isArray(body.webhookConfigs)) next.webhookConfigs = webhookConfigRecords(body.webhookConfigs, ws.webhookConfigs ?? [], deps.secrets)
    if (next.name.trim() === '') {
      throw new SluiceError('SLUICE_ERR_INVALID_INPUT', 'The workspace name must not be empty.', {
        validationErrors: [{ propertyPath: 'name', invalidValue: next.name, message: 'must not be empty' }],
      })
    }
    await deps.configStore.putWorkspace(next)
    return toWorkspaceRead(next)
  }
  postRoute(app, 'workspaces/update', { summary: 'Update a workspace (patch).', requestSchema: updateBody, response: 'WorkspaceRead' }, update)
  postRoute(
    app,
    'workspaces/update_name',
    { summary: 'Rename a workspace.', requestSchema: objectSchema({ workspaceId: uuid, name: nameField }, ['workspaceId', 'name']), response: 'WorkspaceRead' },
    update,
  )

  postRoute<{ workspaceId: string }>(
    app,
    'workspaces/delete',
    { summary: 'Delete a workspace and everything in it.', requestSchema: idBody, response: 'empty' },
    async (body) => {
      await requireWorkspace(deps, body.workspaceId)
      const connections = await deps.configStore.listConnections({ workspaceId: body.workspaceId })
      await deps.configStore.deleteWorkspace(body.workspaceId)
      // The connections are gone: their running jobs must stop.
      for (const conn of connections) await cancelActiveJob(deps, conn.connectionId)
      return undefined
    },
  )
}
