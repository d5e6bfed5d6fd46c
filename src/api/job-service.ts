import { enabledStreams } from '../domain/enabled-streams.js'
import { notFound, SluiceError } from '../errors.js'
import type { StreamDescriptor } from '../protocol/index.js'
import type { ConnectionRecord } from '../store/config-store.js'
import type { JobRecord, RefreshMode } from '../store/job-store.js'
import type { ApiDeps } from './deps.js'

/**
 * The job rules both APIs apply: which jobs a connection may start and what they work on. The
 * Config API (connections/sync|reset|clear|refresh, jobs/cancel) and the Public API (POST and
 * DELETE /jobs) are two shapes over these functions.
 */

/** Loads a connection or throws Airbyte's 404 (the job endpoints name the type STANDARD_SYNC). */
export async function requireJobConnection(deps: Pick<ApiDeps, 'configStore'>, connectionId: string): Promise<ConnectionRecord> {
  const connection = await deps.configStore.getConnection(connectionId)
  if (connection === undefined) throw notFound('STANDARD_SYNC', connectionId)
  return connection
}

/** Loads a job or throws Airbyte's 404. */
export async function requireJob(deps: Pick<ApiDeps, 'jobStore'>, id: number): Promise<JobRecord> {
  const job = await deps.jobStore.getJob(id)
  if (job === undefined) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `Could not find job with id: ${id}`, { id })
  return job
}

function requireActive(connection: ConnectionRecord): void {
  if (connection.status !== 'active') {
    throw new SluiceError('SLUICE_ERR_CONNECTION_INACTIVE', `Can only sync an active connection: ${connection.connectionId} is ${connection.status}.`)
  }
}

/** Starts a sync of an active connection (409 SLUICE_ERR_SYNC_RUNNING when a job is running). */
export async function startSync(deps: Pick<ApiDeps, 'configStore' | 'jobStore'>, connectionId: string): Promise<JobRecord> {
  const connection = await requireJobConnection(deps, connectionId)
  requireActive(connection)
  return deps.jobStore.createJob({ configType: 'sync', configId: connection.connectionId, streams: enabledStreams(connection) })
}

/**
 * Starts a reset: the running job is cancelled and the reset takes its place (no 409). A reset
 * of the whole connection (no streams) lists its selected streams, as Airbyte's `streamsToReset` does.
 */
export async function startReset(deps: Pick<ApiDeps, 'configStore' | 'jobStore'>, connectionId: string, streams: StreamDescriptor[]): Promise<JobRecord> {
  const connection = await requireJobConnection(deps, connectionId)
  if (connection.status === 'deprecated') {
    throw new SluiceError('SLUICE_ERR_CONNECTION_INACTIVE', `Cannot reset a deleted connection: ${connectionId}`)
  }
  return deps.jobStore.createJob({
    configType: 'reset_connection',
    configId: connectionId,
    streams: streams.length > 0 ? streams : enabledStreams(connection),
    cancelActive: true,
  })
}

/** Starts a refresh of some streams (all selected ones when none are given) of an active connection. */
export async function startRefresh(
  deps: Pick<ApiDeps, 'configStore' | 'jobStore'>,
  connectionId: string,
  refreshMode: RefreshMode,
  streams: StreamDescriptor[],
): Promise<JobRecord> {
  const connection = await requireJobConnection(deps, connectionId)
  requireActive(connection)
  return deps.jobStore.createJob({
    configType: 'refresh',
    configId: connection.connectionId,
    streams: streams.length > 0 ? streams : enabledStreams(connection),
    refreshMode,
  })
}

/** Cancels a job (a running attempt stops within seconds); 404 for an unknown id. */
export async function cancelJob(deps: Pick<ApiDeps, 'jobStore'>, id: number): Promise<JobRecord> {
  const job = await deps.jobStore.requestCancel(id)
  if (job === undefined) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `Could not find job with id: ${id}`, { id })
  return job
}
