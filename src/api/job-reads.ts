import type { FailureReasonRecord, StreamDescriptor, StreamStats } from '../protocol/index.js'
import type { ConnectionRecord } from '../store/config-store.js'
import type { AttemptRecord, JobRecord } from '../store/job-store.js'
import type { ApiDeps } from './deps.js'
import { scheduleFields } from './schedule.js'
import { epochSeconds } from './epoch-seconds.js'

// The job API's response mappers: job and attempt records to Airbyte's JobRead, AttemptRead,
// JobInfoRead, AttemptInfoRead and ConnectionStatusRead shapes, shared by the job, attempt and
// connection job routes.

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

/** `FailureReason` of a recorded failure. */
export function failureRead(f: FailureReasonRecord): Record<string, unknown> {
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

/** `StreamDescriptor` as Airbyte reads it: no `namespace` key when there is none. */
export function descriptorRead(d: StreamDescriptor): { name: string; namespace?: string } {
  return d.namespace ? { name: d.name, namespace: d.namespace } : { name: d.name }
}

/** `AttemptRead` (epoch seconds; recordsSynced/bytesSynced are the deprecated emitted counts Prefect reads). */
export function toAttemptRead(a: AttemptRecord): Record<string, unknown> {
  const read: Record<string, unknown> = {
    id: a.attemptNumber,
    status: a.status,
    createdAt: epochSeconds(a.createdAt),
    updatedAt: epochSeconds(a.updatedAt),
    recordsSynced: a.totalStats.recordsEmitted,
    bytesSynced: a.totalStats.bytesEmitted,
    totalStats: attemptStats(a.totalStats),
    streamStats: a.streamStats.map((s) => ({
      streamName: s.streamName,
      ...(s.streamNamespace ? { streamNamespace: s.streamNamespace } : {}),
      stats: attemptStats(s.stats),
    })),
  }
  if (a.endedAt !== undefined) read.endedAt = epochSeconds(a.endedAt)
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
    createdAt: epochSeconds(job.createdAt),
    updatedAt: epochSeconds(job.updatedAt),
    status: job.status,
    aggregatedStats: total,
    streamAggregatedStats: [...perStream.values()],
    summary: { recordsSynced: total.recordsCommitted, bytesSynced: total.bytesCommitted },
  }
  if (job.startedAt !== undefined) read.startedAt = epochSeconds(job.startedAt)
  if (job.configType === 'reset_connection' || job.configType === 'clear') read.resetConfig = { streamsToReset: job.streams.map(descriptorRead) }
  if (job.configType === 'refresh') read.refreshConfig = { streamsToRefresh: job.streams.map(descriptorRead) }
  return read
}

/** `AttemptInfoRead`: `logs.logLines` is always there (Kestra dereferences it without a check). */
export async function attemptInfo(deps: Pick<ApiDeps, 'jobStore'>, attempt: AttemptRecord, withLogs: boolean): Promise<Record<string, unknown>> {
  const logLines = withLogs ? await deps.jobStore.readLogs(attempt.jobId, attempt.attemptNumber) : []
  return { attempt: toAttemptRead(attempt), logType: 'formatted', logs: { logLines } }
}

/** `JobInfoRead` of a job. */
export async function jobInfo(deps: Pick<ApiDeps, 'jobStore'>, job: JobRecord, withLogs = true): Promise<Record<string, unknown>> {
  const attempts = await deps.jobStore.listAttempts(job.id)
  return { job: toJobRead(job, attempts), attempts: await Promise.all(attempts.map((a) => attemptInfo(deps, a, withLogs))) }
}

/** `ConnectionStatusRead` of one connection. */
export async function connectionStatus(deps: Pick<ApiDeps, 'jobStore'>, connection: ConnectionRecord): Promise<Record<string, unknown>> {
  const { jobStore } = deps
  const read: Record<string, unknown> = { connectionId: connection.connectionId }
  const schedule = scheduleFields(connection.schedule)
  if (schedule.scheduleData !== undefined) read.scheduleData = schedule.scheduleData
  const active = await jobStore.activeJob(connection.connectionId)
  const last = (await jobStore.listJobs({ configId: connection.connectionId, configTypes: ['sync', 'reset_connection', 'clear'], pageSize: 1 })).jobs[0]
  const lastSuccess = (await jobStore.listJobs({ configId: connection.connectionId, configTypes: ['sync'], statuses: ['succeeded'], pageSize: 1 })).jobs[0]
  if (lastSuccess !== undefined) read.lastSuccessfulSync = epochSeconds(lastSuccess.updatedAt)
  if (active !== undefined) read.activeJob = toJobRead(active, await jobStore.listAttempts(active.id))
  if (last !== undefined) {
    const attempts = await jobStore.listAttempts(last.id)
    read.lastSyncJobId = last.id
    read.lastSyncJobCreatedAt = epochSeconds(last.createdAt)
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
