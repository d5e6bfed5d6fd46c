import type { FastifyInstance } from 'fastify'
import type { ApiDeps } from '../deps.js'
import { registerActorRoutes } from './actor-routes.js'

/** destinations/*: create, get, list, update, delete, check_connection(_for_update). */
export function registerDestinationRoutes(app: FastifyInstance, deps: ApiDeps): void {
  registerActorRoutes(app, deps, 'destination')
}
