import type { FastifyInstance } from 'fastify'
import { enabledStreams } from '../../domain/enabled-streams.js'
import { notFound, SluiceError } from '../../errors.js'
import type { StreamDescriptor } from '../../protocol/index.js'
import type { ConnectionRecord } from '../../store/config-store.js'
import { JOB_CONFIG_TYPES, JOB_STATUSES, type AttemptRecord, type JobConfigType, type JobListFilter, type JobRecord, type JobStatus } from '../../store/job-store.js'
import { type FailureReasonRecord, type StreamStats } from '../../protocol/index.js'
import type { ApiDeps } from '../deps.js'
import { objectSchema, postRoute, str } from '../route-helpers.js'
import { scheduleFields } from '../schedule.js'

const int = { type: 'integer' } as const
const connectionIdBody = objectSchema({ connectionId: str }, ['connectionId'])
const jobIdBody = objectSchema({ id: int }, ['id'])
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
const listBody = objectSchema(
  {
    configTypes: { type: 'array', minItems: 1, items: str },
    configId: str,
    includingJobId: int,
    statuses: { type: 'array', items: { type: 'string', enum: [...JOB_STATUSES] } },
    pagination: objectSchema({ pageSize: { type: 'integer', minimum: 1 }, rowOffset: { type: 'integer', minimum: 0 } }),
    createdAtStart: { type: 'string', format: 'date-time' },
    createdAtEnd: { type: 'string', format: 'date-time' },
    updatedAtStart: { type: 'string', format: 'date-time' },
    updatedAtEnd: { type: 'string', format: 'date-time' },
    orderByField: { type: 'string', enum: ['createdAt', 'updatedAt'] },
    orderByMethod: { type: 'string', enum: ['ASC', 'DESC'] },
  },
  ['configTypes'],
)

interface ListBody {
  configTypes: string[]
  configId?: string
  includingJobId?: number
  statuses?: JobStatus[]
  pagination?: { pageSize?: number; rowOffset?: number }
  createdAtStart?: string
  createdAtEnd?: string
  updatedAtStart?: string
  updatedAtEnd?: string
  orderByField?: 'createdAt' | 'updatedAt'
  orderByMethod?: 'ASC' | 'DESC'
}

type StreamsBody = { connectionId: string; streams: Array<{ streamName: string; streamNamespace?: string | null }> }

/** `AttemptStats` of a stats record (all fields, as Airbyte fills them). */
function attemptStats(s: StreamStats): Record<string, number> {
  return {
    recordsEmitted: s.recordsEmitted,
    bytesEmitted: s.bytesEmitted,
    stateMessagesEmitted: s.stateMessagesEmitted,
    recordsCommitted: s.recordsCommitted,
    bytesCommitted: s.bytesCommitted,
  }
}

function failureRead(f: FailureReasonRecord): Record<string, unknown> {
  const read: Record<string, unknown> = {
    failureOrigin: f.failureOrigin,
    failureType: f.failureType,
    externalMessage: f.externalMessage,
    retryable: f.retryable,
    timestamp: f.timestamp,
  }
  if (f.internalMessage !== undefined) read.internalMessage = f.internalMessage
  if (f.stacktrace !== undefined) read.stacktrace = f.stacktrace
  if (f.streamDescriptor !== undefined) read.streamDescriptor = descriptorRead(f.streamDescriptor)
  return read
}

function descriptorRead(d: StreamDescriptor): { name: string; namespace?: string } {
  return d.namespace ? { name: d.name, namespace: d.namespace } : { name: d.name }
}

/** `AttemptRead` (epoch seconds; recordsSynced/bytesSynced are the deprecated emitted counts Prefect reads). */
export function toAttemptRead(a: AttemptRecord): Record<string, unknown> {
  const read: Record<string, unknown> = {
    id: a.attemptNumber,
    status: a.status,
    createdAt: a.createdAt,
    updatedAt: a.updatedAt,
    recordsSynced: a.totalStats.recordsEmitted,
    bytesSynced: a.totalStats.bytesEmitted,
    totalStats: attemptStats(a.totalStats),
    streamStats: a.streamStats.map((s) => ({
      streamName: s.streamName,
      ...(s.streamNamespace ? { streamNamespace: s.streamNamespace } : {}),
      stats: attemptStats(s.stats),
    })),
  }
  if (a.endedAt !== undefined) read.endedAt = a.endedAt
  if (a.failures.length > 0) {
    read.failureSummary = { failures: a.failures.map(failureRead), partialSuccess: a.totalStats.recordsCommitted > 0 }
  }
  return read
}

/**
 * `JobRead` plus the seed's `summary {recordsSynced, bytesSynced}`: the records and bytes made
 * durable over all attempts (= the committed totals; equal to the emitted ones on success).
 */
export function toJobRead(job: JobRecord, attempts: readonly AttemptRecord[]): Record<string, unknown> {
  const total = { recordsEmitted: 0, bytesEmitted: 0, recordsCommitted: 0, bytesCommitted: 0 }
  const perStream = new Map<string, { streamName: string; streamNamespace?: string; recordsEmitted: number; bytesEmitted: number; recordsCommitted: number; bytesCommitted: number }>()
  for (const a of attempts) {
    total.recordsEmitted += a.totalStats.recordsEmitted
    total.bytesEmitted += a.totalStats.bytesEmitted
    total.recordsCommitted += a.totalStats.recordsCommitted
    total.bytesCommitted += a.totalStats.bytesCommitted
    for (const s of a.streamStats) {
      const key = `${s.streamNamespace ?? ''}\u0000${s.streamName}`
      const agg = perStream.get(key) ?? {
        streamName: s.streamName,
        ...(s.streamNamespace ? { streamNamespace: s.streamNamespace } : {}),
        recordsEmitted: 0,
        bytesEmitted: 0,
        recordsCommitted: 0,
        bytesCommitted: 0,
      }
      agg.recordsEmitted += s.stats.recordsEmitted
      agg.bytesEmitted += s.stats.bytesEmitted
      agg.recordsCommitted += s.stats.recordsCommitted
      agg.bytesCommitted += s.stats.bytesCommitted
      perStream.set(key, agg)
    }
  }
  const read: Record<string, unknown> = {
    id: job.id,
    configType: job.configType,
    configId: job.configId,
    enabledStreams: job.streams.map(descriptorRead),
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    status: job.status,
    aggregatedStats: total,
    streamAggregatedStats: [...perStream.values()],
    summary: { recordsSynced: total.recordsCommitted, bytesSynced: total.bytesCommitted },
  }
  if (job.startedAt !== undefined) read.startedAt = job.startedAt
  if (job.configType === 'reset_connection' || job.configType === 'clear') read.resetConfig = { streamsToReset: job.streams.map(descriptorRead) }
  if (job.configType === 'refresh') read.refreshConfig = { streamsToRefresh: job.streams.map(descriptorRead) }
  return read
}

/** Loads a connection or throws Airbyte's 404. */
async function requireConnection(deps: ApiDeps, connectionId: string): Promise<ConnectionRecord> {
  const connection = await deps.configStore.getConnection(connectionId)
  if (connection === undefined) throw notFound('STANDARD_SYNC', connectionId)
  return connection
}

async function requireJob(deps: ApiDeps, id: number): Promise<JobRecord> {
  const job = await deps.jobStore.getJob(id)
  if (job === undefined) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `Could not find job with id: ${id}`, { id })
  return job
}

/** `AttemptInfoRead`: `logs.logLines` is always there (Kestra dereferences it without a check). */
async function attemptInfo(deps: ApiDeps, attempt: AttemptRecord, withLogs: boolean): Promise<Record<string, unknown>> {
  const logLines = withLogs ? await deps.jobStore.readLogs(attempt.jobId, attempt.attemptNumber) : []
  return { attempt: toAttemptRead(attempt), logType: 'formatted', logs: { logLines } }
}

/** `JobInfoRead` of a job. */
export async function jobInfo(deps: ApiDeps, job: JobRecord, withLogs = true): Promise<Record<string, unknown>> {
  const attempts = await deps.jobStore.listAttempts(job.id)
  return { job: toJobRead(job, attempts), attempts: await Promise.all(attempts.map((a) => attemptInfo(deps, a, withLogs))) }
}

/**
 * Starts a reset: the running job is cancelled and the reset takes its place (no 409). A reset
 * of the whole connection lists its selected streams, as Airbyte's `streamsToReset` does.
 */
async function startReset(deps: ApiDeps, connectionId: string, streams: StreamDescriptor[]): Promise<Record<string, unknown>> {
  const connection = await requireConnection(deps, connectionId)
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

function seconds(iso: string | undefined): number | undefined {
  return iso === undefined ? undefined : Math.floor(Date.parse(iso) / 1000)
}

/**
 * `includingJobId`: grows the page (newest-first order) so that it reaches the given job, as
 * Airbyte does; a job outside the filter changes nothing.
 */
async function extendPageTo(deps: ApiDeps, filter: JobListFilter, jobId: number): Promise<void> {
  const target = await deps.jobStore.getJob(jobId)
  if (target === undefined || filter.orderByMethod === 'ASC' || filter.orderByField === 'updatedAt') return
  const newer = await deps.jobStore.listJobs({ ...filter, createdAtStart: target.createdAt, pageSize: Number.MAX_SAFE_INTEGER, rowOffset: 0 })
  const index = newer.jobs.findIndex((j) => j.id === jobId)
  const offset = filter.rowOffset ?? 0
  const pageSize = filter.pageSize ?? 200
  if (index >= offset + pageSize) filter.pageSize = index - offset + 1
}

/** `ConnectionStatusRead` of one connection. */
async function connectionStatus(deps: ApiDeps, connection: ConnectionRecord): Promise<Record<string, unknown>> {
  const { jobStore } = deps
  const read: Record<string, unknown> = { connectionId: connection.connectionId }
  const schedule = scheduleFields(connection.schedule)
  if (schedule.scheduleData !== undefined) read.scheduleData = schedule.scheduleData
  const active = await jobStore.activeJob(connection.connectionId)
  const last = (await jobStore.listJobs({ configId: connection.connectionId, configTypes: ['sync', 'reset_connection', 'clear'], pageSize: 1 })).jobs[0]
  const lastSuccess = (await jobStore.listJobs({ configId: connection.connectionId, configTypes: ['sync'], statuses: ['succeeded'], pageSize: 1 })).jobs[0]
  if (lastSuccess !== undefined) read.lastSuccessfulSync = lastSuccess.updatedAt
  if (active !== undefined) read.activeJob = toJobRead(active, await jobStore.listAttempts(active.id))
  if (last !== undefined) {
    const attempts = await jobStore.listAttempts(last.id)
    read.lastSyncJobId = last.id
    read.lastSyncJobCreatedAt = last.createdAt
    const lastAttempt = attempts[attempts.length - 1]
    if (lastAttempt !== undefined) {
      read.lastSyncAttemptNumber = lastAttempt.attemptNumber
      const failure = lastAttempt.failures[0]
      if (last.status === 'failed' && failure !== undefined) read.failureReason = failureRead(failure)
    }
  }
  let status: string
  if (connection.status !== 'active') status = 'paused'
  else if (active?.status === 'running') status = 'running'
  else if (active?.status === 'incomplete') status = 'incomplete'
  else if (active !== undefined) status = 'pending'
  else if (last === undefined) status = 'pending'
  else if (last.status === 'failed') status = 'failed'
  else if (last.status === 'cancelled' && lastSuccess === undefined) status = 'pending'
  else status = 'synced'
  read.connectionSyncStatus = status
  return read
}

/**
 * Job endpoints: connections/sync|reset|reset/stream|clear|clear/stream|status, state/get,
 * jobs/get|get_without_logs|get_light|list|cancel|get_last_replication_job, attempt/get_for_job.
 */
export function registerJobRoutes(app: FastifyInstance, deps: ApiDeps): void {
  postRoute<{ connectionId: string }>(
    app,
    'connections/sync',
    { summary: 'Start a sync of a connection (409 when one is already running).', requestSchema: connectionIdBody, response: 'JobInfoRead' },
    async (body) => {
      const connection = await requireConnection(deps, body.connectionId)
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
      const connection = await requireConnection(deps, body.connectionId)
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
      for (const id of body.connectionIds) reads.push(await connectionStatus(deps, await requireConnection(deps, id)))
      return reads
    },
  )

  postRoute<{ connectionId: string }>(
    app,
    'state/get',
    { summary: 'The saved per-stream state of a connection.', requestSchema: connectionIdBody, response: 'ConnectionState' },
    async (body) => {
      await requireConnection(deps, body.connectionId)
      const states = (await deps.jobStore.getState(body.connectionId)).filter((s) => s.state !== null)
      if (states.length === 0) return { stateType: 'not_set', connectionId: body.connectionId }
      return {
        stateType: 'stream',
        connectionId: body.connectionId,
        streamState: states.map((s) => ({ streamDescriptor: descriptorRead(s.stream), streamState: s.state })),
      }
    },
  )

  postRoute<{ id: number }>(app, 'jobs/get', { summary: 'A job with its attempts and their logs.', requestSchema: jobIdBody, response: 'JobInfoRead' }, async (body) =>
    jobInfo(deps, await requireJob(deps, body.id)),
  )

  postRoute<{ id: number }>(
    app,
    'jobs/get_without_logs',
    { summary: 'A job with its attempts (logLines empty).', requestSchema: jobIdBody, response: 'JobInfoRead' },
    async (body) => jobInfo(deps, await requireJob(deps, body.id), false),
  )

  postRoute<{ id: number }>(app, 'jobs/get_light', { summary: 'A job without attempts.', requestSchema: jobIdBody, response: 'JobInfoLightRead' }, async (body) => {
    const job = await requireJob(deps, body.id)
    return { job: toJobRead(job, await deps.jobStore.listAttempts(job.id)) }
  })

  postRoute<ListBody>(
    app,
    'jobs/list',
    { summary: 'Jobs of a connection, newest first, with pagination.', requestSchema: listBody, response: 'JobReadList' },
    async (body) => {
      const configTypes = body.configTypes.map((t) => t.toLowerCase()).filter((t): t is JobConfigType => (JOB_CONFIG_TYPES as readonly string[]).includes(t))
      // Only asked for types sluice never stores as jobs (check_connection_source...): nothing to list.
      if (configTypes.length === 0) return { jobs: [], totalJobCount: 0 }
      const filter: JobListFilter = { configTypes, pageSize: body.pagination?.pageSize ?? 200, rowOffset: body.pagination?.rowOffset ?? 0 }
      if (body.configId !== undefined) filter.configId = body.configId
      if (body.statuses !== undefined) filter.statuses = body.statuses
      if (body.orderByField !== undefined) filter.orderByField = body.orderByField
      if (body.orderByMethod !== undefined) filter.orderByMethod = body.orderByMethod
      const ranges = { createdAtStart: seconds(body.createdAtStart), createdAtEnd: seconds(body.createdAtEnd), updatedAtStart: seconds(body.updatedAtStart), updatedAtEnd: seconds(body.updatedAtEnd) }
      for (const [key, value] of Object.entries(ranges)) if (value !== undefined) filter[key as 'createdAtStart'] = value
      if (body.includingJobId !== undefined) await extendPageTo(deps, filter, body.includingJobId)
      const { jobs, totalJobCount } = await deps.jobStore.listJobs(filter)
      const items = await Promise.all(
        jobs.map(async (job) => {
          const attempts = await deps.jobStore.listAttempts(job.id)
          const read = toJobRead(job, attempts)
          // The seed reads id/status/summary on the item itself; real clients read item.job.
          return {
            job: read,
            attempts: attempts.map(toAttemptRead),
            id: job.id,
            status: job.status,
            configType: job.configType,
            configId: job.configId,
            createdAt: job.createdAt,
            updatedAt: job.updatedAt,
            summary: read.summary,
          }
        }),
      )
      return { jobs: items, totalJobCount }
    },
  )

  postRoute<{ id: number }>(
    app,
    'jobs/cancel',
    { summary: 'Cancel a job (a running attempt stops within seconds).', requestSchema: jobIdBody, response: 'JobInfoRead' },
    async (body) => {
      const job = await deps.jobStore.requestCancel(body.id)
      if (job === undefined) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `Could not find job with id: ${body.id}`, { id: body.id })
      return jobInfo(deps, job)
    },
  )

  postRoute<{ connectionId: string }>(
    app,
    'jobs/get_last_replication_job',
    { summary: 'The newest sync job of a connection, if any.', requestSchema: connectionIdBody, response: 'JobOptionalRead' },
    async (body) => {
      await requireConnection(deps, body.connectionId)
      const job = (await deps.jobStore.listJobs({ configId: body.connectionId, configTypes: ['sync', 'refresh'], pageSize: 1 })).jobs[0]
      return job === undefined ? {} : { job: toJobRead(job, await deps.jobStore.listAttempts(job.id)) }
    },
  )

  postRoute<{ jobId: number; attemptNumber: number }>(
    app,
    'attempt/get_for_job',
    {
      summary: 'One attempt of a job, with its logs.',
      requestSchema: objectSchema({ jobId: int, attemptNumber: { type: 'integer', minimum: 0 } }, ['jobId', 'attemptNumber']),
      response: 'AttemptInfoRead',
    },
    async (body) => {
      await requireJob(deps, body.jobId)
      const attempt = await deps.jobStore.getAttempt(body.jobId, body.attemptNumber)
      if (attempt === undefined) {
        throw new SluiceError('SLUICE_ERR_NOT_FOUND', `Could not find attempt ${body.attemptNumber} of job ${body.jobId}`, { id: body.attemptNumber })
      }
      return attemptInfo(deps, attempt, true)
    },
  )
}
