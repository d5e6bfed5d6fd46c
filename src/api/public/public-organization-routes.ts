import type { FastifyInstance } from 'fastify'
import { notFound } from '../../errors.js'
import type { ApiDeps } from '../deps.js'
import { ORGANIZATION, PERMISSION, requireOrganization, USER } from '../organization.js'
import { uuidList, uuidQuery } from './public-query.js'
import { invalidParam, publicRoute, uuidParam } from './public-route.js'

const organizationResponse = { organizationId: ORGANIZATION.organizationId, organizationName: ORGANIZATION.organizationName, email: ORGANIZATION.email }
const userResponse = { id: USER.userId, name: USER.name, email: USER.email }
const permissionResponse = { permissionId: PERMISSION.permissionId, permissionType: PERMISSION.permissionType, userId: USER.userId, scope: 'organization', scopeId: ORGANIZATION.organizationId }

/**
 * GET /organizations, /users, /permissions, /permissions/{id}: sluice's one organization, its one
 * user and that user's admin permission (single-organization model; other ids are 404).
 */
export function registerPublicOrganizationRoutes(scope: FastifyInstance, _deps: ApiDeps): void {
  publicRoute(scope, 'GET', '/organizations', { summary: 'The organizations of the user (one).', response: 'OrganizationsResponse' }, async () => ({ data: [organizationResponse] }))

  publicRoute(
    scope,
    'GET',
    '/users',
    { summary: 'The users of the organization (one).', query: { organizationId: { type: 'string', format: 'uuid' }, ids: { type: 'array' }, emails: { type: 'array' } }, response: 'UsersResponse' },
    async ({ query }) => {
      const organizationId = uuidQuery(query, 'organizationId')
      if (organizationId === undefined) throw invalidParam('organizationId', 'null', 'is required')
      requireOrganization(organizationId)
      const ids = uuidList(query, 'ids')
      return { data: ids === undefined || ids.includes(USER.userId) ? [userResponse] : [] }
    },
  )

  publicRoute(scope, 'GET', '/permissions', { summary: "The user's permissions (organization admin).", query: { userId: { type: 'string', format: 'uuid' }, organizationId: { type: 'string', format: 'uuid' } }, response: 'PermissionsResponse' }, async ({ query }) => {
    const userId = uuidQuery(query, 'userId')
    const organizationId = uuidQuery(query, 'organizationId')
    if (organizationId !== undefined) requireOrganization(organizationId)
    return { data: userId === undefined || userId === USER.userId ? [permissionResponse] : [] }
  })

  publicRoute(scope, 'GET', '/permissions/:permissionId', { summary: 'A permission.', response: 'PermissionResponse' }, async (call) => {
    const id = uuidParam(call, 'permissionId')
    if (id !== PERMISSION.permissionId) throw notFound('Permission', id)
    return { permissionId: PERMISSION.permissionId, permissionType: PERMISSION.permissionType, userId: USER.userId, organizationId: ORGANIZATION.organizationId }
  })
}
