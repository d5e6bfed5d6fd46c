import type { FastifyInstance } from 'fastify'
import type { ApiDeps } from '../deps.js'
import { registerActorRoutes } from './actor-routes.js'

/** sources/*: create, get, list, update, delete, check_connection(_for_update), discover_schema. */
export function registerSourceRoutes(app: FastifyInstance, deps: ApiDeps): void {
  registerActorRoutes(app, deps, 'source')
}
