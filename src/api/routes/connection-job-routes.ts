import type { FastifyInstance } from 'fastify'
import type { StreamDescriptor } from '../../protocol/index.js'
import type { ApiDeps } from '../deps.js'
import { requireJobConnection, startRefresh, startReset, startSync } from '../job-service.js'
import { connectionStatus, descriptorRead, jobInfo, toJobRead } from '../job-reads.js'
import { objectSchema, postRoute, str } from '../route-helpers.js'

const connectionIdBody = objectSchema({ connectionId: str }, ['connectionId'])
const streamsBody = objectSchema(
  {
    connectionId: str,
    streams: {
      type: 'array',
      minItems: 1,
      items: objectSchema({ streamName: { type: 'string', minLength: 1 }, streamNamespace: { type: ['string', 'null'] } }, ['streamName']),
    },
  },
  ['connectionId', 'streams'],
)

type StreamsBody = { connectionId: string; streams: Array<{ streamName: string; streamNamespace?: string | null }> }

function toStreams(body: StreamsBody): StreamDescriptor[] {
  return body.streams.map((s) => descriptorRead({ name: s.streamName, namespace: s.streamNamespace ?? null }))
}

/**
 * The jobs a connection starts and its sync status: connections/sync|refresh|reset|reset/stream|
 * clear|clear/stream|status.
 */
export function registerConnectionJobRoutes(app: FastifyInstance, deps: ApiDeps): void {
  postRoute<{ connectionId: string }>(
    app,
    'connections/sync',
    { summary: 'Start a sync of a connection (409 when one is already running).', requestSchema: connectionIdBody, response: 'JobInfoRead' },
    async (body) => jobInfo(deps, await startSync(deps, body.connectionId)),
  )

  for (const path of ['connections/reset', 'connections/clear']) {
    postRoute<{ connectionId: string }>(
      app,
      path,
      { summary: 'Clear the state and destination data of every stream (cancels a running sync).', requestSchema: connectionIdBody, response: 'JobInfoRead' },
      async (body) => jobInfo(deps, await startReset(deps, body.connectionId, [])),
    )
  }
  for (const path of ['connections/reset/stream', 'connections/clear/stream']) {
    postRoute<StreamsBody>(
      app,
      path,
      { summary: 'Clear the state and destination data of some streams (cancels a running sync).', requestSchema: streamsBody, response: 'JobInfoRead' },
      async (body) => jobInfo(deps, await startReset(deps, body.connectionId, toStreams(body))),
    )
  }

  postRoute<{ connectionId: string; refreshMode: string; streams?: StreamsBody['streams'] }>(
    app,
    'connections/refresh',
    {
      summary: 'Sync again from scratch some streams (Truncate: drop their older records at the end; Merge: keep them).',
      requestSchema: objectSchema(
        {
          connectionId: str,
          refreshMode: { type: 'string', enum: ['Truncate', 'Merge'] },
          streams: { type: 'array', items: objectSchema({ streamName: { type: 'string', minLength: 1 }, streamNamespace: { type: ['string', 'null'] } }, ['streamName']) },
        },
        ['connectionId', 'refreshMode'],
      ),
      response: 'JobReadResponse',
    },
    async (body) => {
      const streams = body.streams !== undefined ? toStreams({ connectionId: body.connectionId, streams: body.streams }) : []
      const job = await startRefresh(deps, body.connectionId, body.refreshMode === 'Truncate' ? 'truncate' : 'merge', streams)
      return { job: toJobRead(job, []) }
    },
  )

  postRoute<{ connectionIds: string[] }>(
    app,
    'connections/status',
    {
      summary: 'Sync status of connections (a bare array).',
      requestSchema: objectSchema({ connectionIds: { type: 'array', items: str } }, ['connectionIds']),
      response: 'ConnectionStatusReadList',
    },
    async (body) => {
      const reads: Array<Record<string, unknown>> = []
      for (const id of body.connectionIds) reads.push(await connectionStatus(deps, await requireJobConnection(deps, id)))
      return reads
    },
  )
}
