import type { FastifyInstance } from 'fastify'
import { notFound } from '../../errors.js'
import type { ApiDeps } from '../deps.js'
import { bool, MAX_NAME_LENGTH, nameField, objectSchema, postRoute, str, uuid } from '../route-helpers.js'
import { toWorkspaceRead, type NewWorkspaceInput } from '../workspace-records.js'
import { createWorkspace, deleteWorkspace, requireWorkspace, updateWorkspace, type WorkspacePatch } from '../workspace-service.js'

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

  postRoute<NewWorkspaceInput>(app, 'workspaces/create', { summary: 'Create a workspace.', requestSchema: createBody, response: 'WorkspaceRead' }, async (body) =>
    toWorkspaceRead(await createWorkspace(deps, body)),
  )

  const update = async (body: WorkspacePatch): Promise<Record<string, unknown>> => toWorkspaceRead(await updateWorkspace(deps, body))
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
      await deleteWorkspace(deps, body.workspaceId)
      return undefined
    },
  )
}
