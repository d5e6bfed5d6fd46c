import { notFound } from '../errors.js'
import { DEFAULT_ORGANIZATION_ID } from './workspace-records.js'

/**
 * sluice's single-organization model: one organization (Airbyte OSS's default id) and one user,
 * who administers it. Calls about organizations, users and permissions answer with them rather
 * than 404; any other organization id is unknown.
 */
export const ORGANIZATION = { organizationId: DEFAULT_ORGANIZATION_ID, organizationName: 'Default Organization', email: 'admin@sluice.local' } as const

/** The one user (Airbyte OSS's default user id). */
export const USER = { userId: '00000000-0000-0000-0000-000000000000', name: 'Default User', email: 'admin@sluice.local' } as const

/** The user's one permission: administrator of the organization. */
export const PERMISSION = { permissionId: '00000000-0000-0000-0000-000000000001', permissionType: 'organization_admin' } as const

/** Throws Airbyte's 404 unless the id is the organization's. */
export function requireOrganization(organizationId: string): typeof ORGANIZATION {
  if (organizationId !== ORGANIZATION.organizationId) throw notFound('Organization', organizationId)
  return ORGANIZATION
}

/** Airbyte's `OrganizationInfoRead` (Config API). */
export function organizationInfo(): Record<string, unknown> {
  return { organizationId: ORGANIZATION.organizationId, organizationName: ORGANIZATION.organizationName, sso: false, isPrivateOrganization: false }
}
