import type { FastifyInstance } from 'fastify'
import type { ApiDeps } from '../deps.js'
import { exchangeClientCredentials, tokenRequestSchema } from '../routes/application-routes.js'
import { publicRoute } from './public-route.js'

/** GET /health (no auth) and POST /applications/token (no auth; JSON or form-encoded). */
export function registerPublicHealthRoutes(scope: FastifyInstance, deps: ApiDeps): void {
  publicRoute(scope, 'GET', '/health', { summary: 'Health check (no auth).', response: 'HealthCheck' }, async () => {
    let db = true
    try {
      await deps.configStore.getWorkspaceBySlug('default')
    } catch {
      db = false
    }
    return { available: db }
  })

  publicRoute<{ client_id: string; client_secret: string }>(
    scope,
    'POST',
    '/applications/token',
    { summary: 'Exchange client credentials for a bearer token (no auth; JSON or form-encoded).', body: tokenRequestSchema, response: 'PublicAccessTokenResponse' },
    async ({ body }) => exchangeClientCredentials(deps, body.client_secret),
  )
}
