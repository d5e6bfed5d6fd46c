import type { FastifyInstance } from 'fastify'
import type { ApiDeps } from '../deps.js'
import { API_PREFIX } from '../route-helpers.js'

/** `GET /api/v1/health`: `{available, db}` (Prefect reads `available`, falling back to `db`). */
export function registerHealthRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get(`${API_PREFIX}/health`, { config: { openapi: { summary: 'Health check (no auth).', response: 'HealthCheckRead' } } }, async () => {
    let db = true
    try {
      await deps.configStore.getWorkspaceBySlug('default')
    } catch {
      db = false
    }
    return { available: db, db }
  })
}
