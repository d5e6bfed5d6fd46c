import type { FastifyInstance } from 'fastify'
import type { ApiDeps } from '../deps.js'
import { registerPublicActorRoutes } from './public-actor-routes.js'

/** /destinations: list, get, create, PUT, PATCH, DELETE. */
export function registerPublicDestinationRoutes(scope: FastifyInstance, deps: ApiDeps): void {
  registerPublicActorRoutes(scope, deps, 'destination')
}
