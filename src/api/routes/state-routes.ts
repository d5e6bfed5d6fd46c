import type { FastifyInstance } from 'fastify'
import type { ApiDeps } from '../deps.js'
import { descriptorRead } from '../job-reads.js'
import { objectSchema, postRoute, str } from '../route-helpers.js'
import { requireJobConnection } from '../job-service.js'

const connectionIdBody = objectSchema({ connectionId: str }, ['connectionId'])

/** state/get: the saved per-stream state of a connection. */
export function registerStateRoutes(app: FastifyInstance, deps: ApiDeps): void {
  postRoute<{ connectionId: string }>(
    app,
    'state/get',
    { summary: 'The saved per-stream state of a connection.', requestSchema: connectionIdBody, response: 'ConnectionState' },
    async (body) => {
      await requireJobConnection(deps, body.connectionId)
      const states = (await deps.jobStore.getState(body.connectionId)).filter((s) => s.state !== null)
      if (states.length === 0) return { stateType: 'not_set', connectionId: body.connectionId }
      return {
        stateType: 'stream',
        connectionId: body.connectionId,
        streamState: states.map((s) => ({ streamDescriptor: descriptorRead(s.stream), streamState: s.state })),
      }
    },
  )
}
