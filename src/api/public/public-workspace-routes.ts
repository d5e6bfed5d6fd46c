import type { FastifyInstance } from 'fastify'
import type { ApiDeps } from '../deps.js'
import { requireOrganization } from '../organization.js'
import { nameField } from '../route-helpers.js'
import { createWorkspace, deleteWorkspace, requireWorkspace, updateWorkspace } from '../workspace-service.js'
import { pageOf, pageRequest } from './public-paging.js'
import { boolQuery, uuidList } from './public-query.js'
import { publicRoute, uuidParam } from './public-route.js'
import { toNotificationSettings, toWorkspaceResponse } from './workspace-response.js'

const uuid = { type: 'string', format: 'uuid' } as const
const notificationConfig = {
  type: 'object',
  properties: {
    email: { type: 'object', properties: { enabled: { type: 'boolean' } } },
    webhook: { type: 'object', properties: { enabled: { type: 'boolean' }, url: { type: 'string' } } },
  },
}
const notifications = {
  type: 'object',
  properties: Object.fromEntries(['failure', 'success', 'connectionUpdate', 'connectionUpdateActionRequired', 'syncDisabled', 'syncDisabledWarning'].map((e) => [e, notificationConfig])),
}

type WorkspaceWrite = { name?: string; organizationId?: string; notifications?: Record<string, never> }

/** /workspaces: list, get, create, PATCH, DELETE (204), through the Config API's workspace functions. */
export function registerPublicWorkspaceRoutes(scope: FastifyInstance, deps: ApiDeps): void {
  publicRoute(
    scope,
    'GET',
    '/workspaces',
    {
      summary: 'List workspaces.',
      query: { workspaceIds: { type: 'array', items: uuid }, includeDeleted: { type: 'boolean' }, limit: { type: 'integer' }, offset: { type: 'integer' } },
      response: 'WorkspacesResponse',
    },
    async ({ query, request }) => {
      const page = pageRequest(query)
      const workspaceIds = uuidList(query, 'workspaceIds')
      const workspaces = (await deps.configStore.listWorkspaces({ includeTombstone: boolQuery(query, 'includeDeleted') })).filter(
        (w) => workspaceIds === undefined || workspaceIds.includes(w.workspaceId),
      )
      return pageOf(request, page, workspaces.map(toWorkspaceResponse))
    },
  )

  publicRoute(scope, 'GET', '/workspaces/:workspaceId', { summary: 'A workspace.', response: 'WorkspaceResponse' }, async (call) =>
    toWorkspaceResponse(await requireWorkspace(deps, uuidParam(call, 'workspaceId'))),
  )

  publicRoute<WorkspaceWrite>(
    scope,
    'POST',
    '/workspaces',
    {
      summary: 'Create a workspace (in the one organization).',
      body: { type: 'object', properties: { name: nameField, organizationId: uuid, notifications, regionId: uuid }, required: ['name'] },
      response: 'WorkspaceResponse',
    },
    async ({ body }) => {
      // One organization: another id is unknown.
      if (body.organizationId !== undefined) requireOrganization(body.organizationId)
      const input: Parameters<typeof createWorkspace>[1] = { name: body.name as string }
      if (body.organizationId !== undefined) input.organizationId = body.organizationId
      if (body.notifications !== undefined) input.notificationSettings = toNotificationSettings(body.notifications, undefined)
      return toWorkspaceResponse(await createWorkspace(deps, input))
    },
  )

  publicRoute<WorkspaceWrite>(
    scope,
    'PATCH',
    '/workspaces/:workspaceId',
    { summary: "Change a workspace's name or notifications.", body: { type: 'object', properties: { name: nameField, notifications, regionId: uuid } }, response: 'WorkspaceResponse' },
    async (call) => {
      const ws = await requireWorkspace(deps, uuidParam(call, 'workspaceId'))
      const patch: Parameters<typeof updateWorkspace>[1] = { workspaceId: ws.workspaceId }
      if (call.body.name !== undefined) patch.name = call.body.name
      if (call.body.notifications !== undefined) patch.notificationSettings = toNotificationSettings(call.body.notifications, ws.notificationSettings)
      return toWorkspaceResponse(await updateWorkspace(deps, patch))
    },
  )

  publicRoute(scope, 'DELETE', '/workspaces/:workspaceId', { summary: 'Delete a workspace and everything in it.', response: 'empty' }, async (call) => {
    await deleteWorkspace(deps, uuidParam(call, 'workspaceId'))
    return undefined
  })
}
