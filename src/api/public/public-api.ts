import type { FastifyInstance, RouteOptions } from 'fastify'
import type { ApiDeps } from '../deps.js'
import { sluiceVersion } from '../version.js'
import { installProblemHandler } from './problem.js'
import { registerPublicConnectionRoutes } from './public-connection-routes.js'
import { registerPublicDefinitionRoutes } from './public-definition-routes.js'
import { registerPublicDestinationRoutes } from './public-destination-routes.js'
import { registerPublicHealthRoutes } from './public-health-routes.js'
import { registerPublicJobRoutes } from './public-job-routes.js'
import { publicOpenApiDocument, type PublicRouteEntry } from './public-openapi.js'
import { registerPublicOrganizationRoutes } from './public-organization-routes.js'
import { PUBLIC_API_PREFIXES, type PublicRouteDoc } from './public-route.js'
import { registerPublicSourceRoutes } from './public-source-routes.js'
import { registerPublicStreamRoutes } from './public-stream-routes.js'
import { registerPublicTagRoutes } from './public-tag-routes.js'
import { registerPublicWorkspaceRoutes } from './public-workspace-routes.js'

/** Every route module of the Public API. */
const PUBLIC_ROUTE_MODULES: Array<(scope: FastifyInstance, deps: ApiDeps) => void> = [
  registerPublicHealthRoutes,
  registerPublicJobRoutes,
  registerPublicConnectionRoutes,
  registerPublicSourceRoutes,
  registerPublicDestinationRoutes,
  registerPublicWorkspaceRoutes,
  registerPublicStreamRoutes,
  registerPublicDefinitionRoutes,
  registerPublicOrganizationRoutes,
  registerPublicTagRoutes,
]

/**
 * Airbyte's Public API (the one the airbyte-api SDKs, Terraform, Dagster's AirbyteWorkspace and
 * PyAirbyte speak), served under `/api/public/v1` and `/v1` with the Config API's auth. Each
 * prefix is an encapsulated plugin: errors there are problem documents, not the Config API's
 * bodies. Handlers map onto the services the Config API uses.
 */
export async function registerPublicApi(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const version = sluiceVersion()
  for (const prefix of PUBLIC_API_PREFIXES) {
    await app.register(
      async (scope) => {
        const routes: PublicRouteEntry[] = []
        scope.addHook('onRoute', (route: RouteOptions) => {
          const doc = (route.config as { publicApi?: PublicRouteDoc } | undefined)?.publicApi
          const methods = Array.isArray(route.method) ? route.method : [route.method]
          for (const method of methods) if (doc !== undefined && method !== 'HEAD') routes.push({ method: method.toLowerCase(), path: route.url.slice(prefix.length), doc })
        })
        installProblemHandler(scope)
        for (const register of PUBLIC_ROUTE_MODULES) register(scope, deps)
        scope.get('/openapi.json', async () => publicOpenApiDocument(routes, prefix, version))
        // Outranks the web UI's GET fallback: an unknown path here is this API's 404 document.
        scope.get('/*', async (_request, reply) => reply.callNotFound())
      },
      { prefix },
    )
  }
}
