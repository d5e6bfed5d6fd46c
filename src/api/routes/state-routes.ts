import type { FastifyInstance } from 'fastify'
import type { ApiDeps } from '../deps.js'
import { requireJobConnection } from '../job-service.js'
import { objectSchema, postRoute, str, uuid } from '../route-helpers.js'
import { readConnectionState, replaceConnectionState, type ConnectionStateWrite } from '../state-service.js'

const connectionIdBody = objectSchema({ connectionId: str }, ['connectionId'])
const stateBody = objectSchema(
  {
    connectionId: uuid,
    connectionState: objectSchema(
      {
        stateType: { type: 'string', enum: ['global', 'stream', 'legacy', 'not_set'] },
        connectionId: uuid,
        streamState: {
          type: ['array', 'null'],
          items: objectSchema({ streamDescriptor: objectSchema({ name: str, namespace: { type: ['string', 'null'] } }, ['name']), streamState: { type: ['object', 'null'] } }, ['streamDescriptor']),
        },
      },
      ['stateType'],
    ),
  },
  ['connectionId', 'connectionState'],
)

/**
 * state/get: the saved per-stream state of a connection; state/create_or_update_safe
 * (PyAirbyte's import_raw_state): replace it unless a job of the connection runs (423).
 */
export function registerStateRoutes(app: FastifyInstance, deps: ApiDeps): void {
  postRoute<{ connectionId: string }>(
    app,
    'state/get',
    { summary: 'The saved per-stream state of a connection.', requestSchema: connectionIdBody, response: 'ConnectionState' },
    async (body) => {
      await requireJobConnection(deps, body.connectionId)
      return readConnectionState(deps, body.connectionId)
    },
  )

  postRoute<{ connectionId: string; connectionState: ConnectionStateWrite }>(
    app,
    'state/create_or_update_safe',
    { summary: "Replace a connection's whole state (423 while a job of it has not ended).", requestSchema: stateBody, response: 'ConnectionState' },
    async (body) => {
      await requireJobConnection(deps, body.connectionId)
      return replaceConnectionState(deps, body.connectionId, body.connectionState)
    },
  )
}
