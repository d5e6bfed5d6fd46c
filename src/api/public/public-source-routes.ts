import type { FastifyInstance } from 'fastify'
import type { ApiDeps } from '../deps.js'
import { registerPublicActorRoutes } from './public-actor-routes.js'

/** /sources: list, get, create, PUT, PATCH, DELETE. */
export function registerPublicSourceRoutes(scope: FastifyInstance, deps: ApiDeps): void {
  registerPublicActorRoutes(scope, deps, 'source')
}
