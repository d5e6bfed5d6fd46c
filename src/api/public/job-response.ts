import type { AttemptRecord, JobConfigType, JobRecord } from '../../store/job-store.js'
import { TERMINAL_JOB_STATUSES } from '../../store/job-store.js'
import { toJobRead } from '../job-reads.js'
import { isoDuration, isoFromEpochMs } from './public-time.js'

/** The Public API's job types. */
export const PUBLIC_JOB_TYPES = ['sync', 'reset', 'refresh', 'clear'] as const
export type PublicJobType = (typeof PUBLIC_JOB_TYPES)[number]

/** The job type of a stored job (a reset is stored as `reset_connection`). */
export function publicJobType(configType: JobConfigType): PublicJobType {
  return configType === 'reset_connection' ? 'reset' : configType
}

/** The stored job types a Public API job type filter selects (reset and clear are one job, named twice). */
export function configTypesOf(jobType: PublicJobType): JobConfigType[] {
  return jobType === 'sync' ? ['sync'] : jobType === 'refresh' ? ['refresh'] : ['reset_connection', 'clear']
}

/**
 * `JobResponse`: times as ISO 8601, `duration` from creation to the last update (to now while
 * the job runs), and the rows and bytes made durable over all attempts (the Config API's
 * `summary`, one rule for both).
 */
export function toJobResponse(job: JobRecord, attempts: readonly AttemptRecord[], nowMs = Date.now()): Record<string, unknown> {
  const summary = toJobRead(job, attempts).summary as { recordsSynced: number; bytesSynced: number }
  const end = TERMINAL_JOB_STATUSES.includes(job.status) ? job.updatedAt : nowMs
  return {
    jobId: job.id,
    status: job.status,
    jobType: publicJobType(job.configType),
    startTime: isoFromEpochMs(job.createdAt),
    connectionId: job.configId,
    lastUpdatedAt: isoFromEpochMs(job.updatedAt),
    duration: isoDuration(end - job.createdAt),
    bytesSynced: summary.bytesSynced,
    rowsSynced: summary.recordsSynced,
  }
}
