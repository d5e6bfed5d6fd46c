import type { FastifyInstance } from 'fastify'
import type { ApiDeps } from '../deps.js'
import { registerApplicationRoutes } from './application-routes.js'
import { registerAttemptRoutes } from './attempt-routes.js'
import { registerConnectionJobRoutes } from './connection-job-routes.js'
import { registerConnectionRoutes } from './connection-routes.js'
import { registerDeclarativeRoutes } from './declarative-routes.js'
import { registerDefinitionRoutes } from './definition-routes.js'
import { registerDestinationRoutes } from './destination-routes.js'
import { registerExternalDefinitionRoutes } from './external-definition-routes.js'
import { registerHealthRoutes } from './health-routes.js'
import { registerJobRoutes } from './job-routes.js'
import { registerNotificationRoutes } from './notification-routes.js'
import { registerOperationRoutes } from './operation-routes.js'
import { registerOrganizationRoutes } from './organization-routes.js'
import { registerSourceRoutes } from './source-routes.js'
import { registerStateRoutes } from './state-routes.js'
import { registerWebBackendRoutes } from './web-backend-routes.js'
import { registerWorkspaceRoutes } from './workspace-routes.js'
import { registerWorkerRoutes } from './worker-routes.js'

/** A route module: registers its routes (use postRoute from ../route-helpers.js). */
export type RouteModule = (app: FastifyInstance, deps: ApiDeps) => void

/** Every route module of the API; add yours with one import and one entry. */
export const ROUTE_MODULES: RouteModule[] = [
  registerHealthRoutes,
  registerWorkspaceRoutes,
  registerOrganizationRoutes,
  registerDefinitionRoutes,
  registerDeclarativeRoutes,
  registerExternalDefinitionRoutes,
  registerSourceRoutes,
  registerDestinationRoutes,
  registerConnectionRoutes,
  registerOperationRoutes,
  registerWebBackendRoutes,
  registerApplicationRoutes,
  registerConnectionJobRoutes,
  registerStateRoutes,
  registerJobRoutes,
  registerAttemptRoutes,
  registerWorkerRoutes,
  registerNotificationRoutes,
]
