import type { FastifyInstance } from 'fastify'
import { enabledStreams } from '../../domain/enabled-streams.js'
import { notFound, SluiceError } from '../../errors.js'
import type { StreamDescriptor } from '../../protocol/index.js'
import type { ConnectionRecord } from '../../store/config-store.js'
import type { ApiDeps } from '../deps.js'
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

/** Loads a connection or throws Airbyte's 404 (the job endpoints name the type STANDARD_SYNC). */
export async function requireJobConnection(deps: ApiDeps, connectionId: string): Promise<ConnectionRecord> {
  const connection = await deps.configStore.getConnection(connectionId)
  if (connection === undefined) throw notFound('STANDARD_SYNC', connectionId)
  return connection
}

/**
 * Starts a reset: the running job is cancelled and the reset takes its place (no 409). A reset
 * of the whole connection lists its selected streams, as Airbyte's `streamsToReset` does.
 */
async function startReset(deps: ApiDeps, connectionId: string, streams: StreamDescriptor[]): Promise<Record<string, unknown>> {
  const connection = await requireJobConnection(deps, connectionId)
  if (connection.status === 'deprecated') {
    throw new SluiceError('SLUICE_ERR_CONNECTION_INACTIVE', `Cannot reset a deleted connection: ${connectionId}`)
  }
  const job = await deps.jobStore.createJob({
    configType: 'reset_connection',
    configId: connectionId,
    streams: streams.length > 0 ? streams : enabledStreams(connection),
    cancelActive: true,
  })
  return jobInfo(deps, job)
}

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
    async (body) => {
      const connection = await requireJobConnection(deps, body.connectionId)
      if (connection.status !== 'active') {
        throw new SluiceError('SLUICE_ERR_CONNECTION_INACTIVE', `Can only sync an active connection: ${body.connectionId} is ${connection.status}.`)
      }
      const job = await deps.jobStore.createJob({ configType: 'sync', configId: connection.connectionId, streams: enabledStreams(connection) })
      return jobInfo(deps, job)
    },
  )

  for (const path of ['connections/reset', 'connections/clear']) {
    postRoute<{ connectionId: string }>(
      app,
      path,
      { summary: 'Clear the state and destination data of every stream (cancels a running sync).', requestSchema: connectionIdBody, response: 'JobInfoRead' },
      async (body) => startReset(deps, body.connectionId, []),
    )
  }
  for (const path of ['connections/reset/stream', 'connections/clear/stream']) {
    postRoute<StreamsBody>(
      app,
      path,
      { summary: 'Clear the state and destination data of some streams (cancels a running sync).', requestSchema: streamsBody, response: 'JobInfoRead' },
      async (body) => startReset(deps, body.connectionId, toStreams(body)),
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
      const connection = await requireJobConnection(deps, body.connectionId)
      if (connection.status !== 'active') {
        throw new SluiceError('SLUICE_ERR_CONNECTION_INACTIVE', `Can only sync an active connection: ${body.connectionId} is ${connection.status}.`)
      }
      const streams = body.streams !== undefined && body.streams.length > 0 ? toStreams({ connectionId: body.connectionId, streams: body.streams }) : enabledStreams(connection)
      const job = await deps.jobStore.createJob({
        configType: 'refresh',
        configId: connection.connectionId,
        streams,
        refreshMode: body.refreshMode === 'Truncate' ? 'truncate' : 'merge',
      })
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
