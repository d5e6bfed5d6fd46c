import type { FastifyInstance } from 'fastify'
import type { ApiDeps } from '../deps.js'
import { organizationInfo, requireOrganization } from '../organization.js'
import { objectSchema, postRoute, uuid } from '../route-helpers.js'
import { requireWorkspace } from '../workspace-service.js'

/** workspaces/get_organization_info and organizations/get_organization_info (PyAirbyte): the one organization. */
export function registerOrganizationRoutes(app: FastifyInstance, deps: ApiDeps): void {
  postRoute<{ workspaceId: string }>(
    app,
    'workspaces/get_organization_info',
    { summary: "The organization of a workspace (sluice has one).", requestSchema: objectSchema({ workspaceId: uuid }, ['workspaceId']), response: 'OrganizationInfoRead' },
    async (body) => ({ ...organizationInfo(), organizationId: (await requireWorkspace(deps, body.workspaceId)).organizationId }),
  )

  postRoute<{ organizationId: string }>(
    app,
    'organizations/get_organization_info',
    { summary: 'The organization (404 for any other id).', requestSchema: objectSchema({ organizationId: uuid }, ['organizationId']), response: 'OrganizationInfoRead' },
    async (body) => {
      requireOrganization(body.organizationId)
      return organizationInfo()
    },
  )
}
