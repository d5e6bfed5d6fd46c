import type { Logger } from 'pino'
import type { AttemptProgress } from '../engine/types.js'
import { isAttemptFailure } from '../engine/index.js'
import { isSluiceError, type FailureType } from '../errors.js'
import type { FailureReasonRecord } from '../protocol/index.js'
import type { ConfigStore } from '../store/config-store.js'
import type { AttemptRecord, JobRecord, JobStore } from '../store/job-store.js'
import type { AttemptLog } from './attempt-log.js'
import { decideRetry, type RetryPolicy } from './retry-policy.js'
import type { AbortCause, RunningAttempt } from './running-attempt.js'
import { updateRecord } from '../store/config-store.js'
import { retryStoreCall, type StoreRetryOptions } from './store-retry.js'
import type { JobNotifications } from './job-notifications.js'
import type { AttemptEndedSample } from '../metrics/index.js'

const WORKER_LOST_MESSAGE = 'The worker running this attempt stopped (process killed or crashed); the job resumes from the last saved state.'

/** What the failure handler reads and writes, and the rules it applies. */
export interface FailureHandlerOptions {
  jobStore: JobStore
  configStore: ConfigStore
  retryPolicy: RetryPolicy
  /** The worker that records the failures (the lease owner the store checks). */
  workerId: string
  now: () => number
  logger: Logger | undefined
  /** Where sync outcomes are announced (the workspace's notification settings); none in tests. */
  notifications?: JobNotifications | undefined
  /** Retries of the store call that records the attempt's end (tests shorten the pauses). */
  storeRetry?: Pick<StoreRetryOptions, 'attempts' | 'delayMs'> | undefined
  /** Set a connection inactive after this many sync jobs in a row failed (0: never). */
  autoDisableAfterFailedJobs: number
  /** ... or when its sync jobs have only failed for this many days (0: never). */
  autoDisableAfterFailedDays: number
}

/**
 * What happens after an attempt fails, was cancelled, stopped with the worker, or was lost with
 * a dead worker: the failure reason recorded (secrets scrubbed), the job's next status
 * (cancelled, incomplete with backoff, failed) and, after a run of failed jobs, the connection
 * turned off.
 */
export class FailureHandler {
  readonly #options: FailureHandlerOptions

  constructor(options: FailureHandlerOptions) {
    this.#options = options
  }

  /**
   * Records a failed attempt and decides the job's fate (cancelled, incomplete with backoff,
   * failed). Returns how the attempt ended, for the metrics: `cancelled` for a cancel, else
   * `failed` with the failure type (an attempt taken over after its lease expired: system_error).
   */
  async recordFailedAttempt(
    job: JobRecord,
    attempt: AttemptRecord,
    run: RunningAttempt,
    err: unknown,
    progress: AttemptProgress | undefined,
    log: AttemptLog,
  ): Promise<Pick<AttemptEndedSample, 'status' | 'failureType'>> {
    const { jobStore, now, logger } = this.#options
    if (run.cause === 'lease_lost') {
      log.warn('Attempt abandoned: another worker took it over after the lease expired.')
      return { status: 'failed', failureType: 'system_error' }
    }
    const stats = isAttemptFailure(err) ? err.stats : progress
    const failure = this.#failureReason(err, run.cause, log)
    const failed: AttemptRecord = { ...attempt, status: 'failed', totalStats: stats?.totalStats ?? attempt.totalStats }
    let next: { status: JobRecord['status']; runAfter?: number }
    if (run.cause === 'cancel') {
      next = { status: 'cancelled' }
      log.info('Attempt cancelled by request; data committed so far stays, nothing half-written is visible.')
    } else if (run.cause === 'shutdown') {
      next = { status: 'incomplete', runAfter: now() }
      log.warn('Attempt stopped because the worker is shutting down; the job will resume from the last saved state.')
    } else if ((await jobStore.getJob(job.id))?.cancelRequested === true) {
      // Cancelled while the attempt was failing on its own: no retry.
      next = { status: 'cancelled' }
    } else {
      next = await this.#afterFailure(job, failed, failure.failureType)
      log.error(`Attempt failed (${failure.failureType}, ${failure.failureOrigin}): ${failure.externalMessage}`)
      if (next.status === 'incomplete') log.info(`The job will retry in ${Math.round(((next.runAfter ?? now()) - now()) / 1000)} s.`)
    }
    await log.flush()
    const finished = await retryStoreCall(
      'recording a failed attempt',
      () =>
        jobStore.finishAttempt(
          job.id,
          attempt.attemptNumber,
          this.#options.workerId,
          { status: 'failed', failures: [failure], ...(stats !== undefined ? { totalStats: stats.totalStats, streamStats: stats.streamStats } : {}) },
          next,
        ),
      { logger, ...this.#options.storeRetry },
    )
    logger?.warn({ jobId: job.id, attempt: attempt.attemptNumber, failureType: failure.failureType, next: next.status, finished }, 'attempt failed')
    if (finished && next.status === 'failed') {
      this.#options.notifications?.send(job, 'sync_failure', { ...committed(stats), detail: `Failure: ${failure.externalMessage}` })
      await this.#disableIfAlwaysFailing(job)
    }
    return next.status === 'cancelled' ? { status: 'cancelled' } : { status: 'failed', failureType: failure.failureType }
  }

  /**
   * Records an attempt of a dead worker as failed (system_error "worker lost") and makes its job
   * runnable again from the last saved state, or ends it per the retry policy. True when this
   * call recorded it (another worker may have recovered it first).
   */
  async recordLostAttempt(attempt: AttemptRecord): Promise<boolean> {
    const { jobStore, now, logger } = this.#options
    const job = await jobStore.getJob(attempt.jobId)
    if (job === undefined) return false
    const failure: FailureReasonRecord = {
      failureOrigin: 'airbyte_platform',
      failureType: 'system_error',
      externalMessage: WORKER_LOST_MESSAGE,
      internalMessage: `worker lost: ${attempt.workerId ?? 'unknown'}`,
      retryable: true,
      timestamp: now(),
    }
    const next = job.cancelRequested ? { status: 'cancelled' as const } : await this.#afterWorkerLoss(job, attempt)
    const recorded = await jobStore.finishAttempt(attempt.jobId, attempt.attemptNumber, attempt.workerId, { status: 'failed', failures: [failure] }, next)
    if (recorded) {
      await jobStore.appendLogs(attempt.jobId, attempt.attemptNumber, [`${logStamp(now())} ERROR ${WORKER_LOST_MESSAGE}`])
      logger?.warn({ jobId: attempt.jobId, attempt: attempt.attemptNumber, lostWorker: attempt.workerId, next: next.status }, 'recovered a lost attempt')
    }
    return recorded
  }

  /**
   * Airbyte turns a connection off after a run of failed jobs (semantics doc §6.5): N sync jobs in
   * a row, or only failures for D days. A broken scheduled connection then stops retrying forever.
   * Only sync jobs count; a success or a cancel ends the run.
   */
  async #disableIfAlwaysFailing(job: JobRecord): Promise<void> {
    const connectionId = job.configId
    const { jobStore, configStore, now, logger } = this.#options
    const limit = this.#options.autoDisableAfterFailedJobs
    const days = this.#options.autoDisableAfterFailedDays
    if (limit <= 0 && days <= 0) return
    try {
      const { jobs } = await jobStore.listJobs({ configId: connectionId, configTypes: ['sync'], pageSize: Math.max(limit, 200) })
      let streak = 0
      let firstFailure: JobRecord | undefined
      for (const j of jobs) {
        if (j.status !== 'failed') break
        streak++
        firstFailure = j
      }
      const tooMany = limit > 0 && streak >= limit
      const tooLong = days > 0 && firstFailure !== undefined && now() - firstFailure.createdAt >= days * 86_400_000
      if (!tooMany && !tooLong) return
      // Compare and set: an edit made through the API meanwhile is kept, not overwritten.
      const disabled = await updateRecord(
        () => configStore.getConnection(connectionId),
        (c) => (c.status === 'active' ? { ...c, status: 'inactive' as const, updatedAt: Math.floor(now() / 1000) } : undefined),
        (c) => configStore.putConnection(c),
      )
      if (disabled === undefined) return
      logger?.warn({ connectionId, failedJobs: streak, failingSince: firstFailure?.createdAt }, 'connection disabled after failing jobs')
      this.#options.notifications?.send(job, 'sync_disabled', { detail: `The connection was turned off after ${streak} failed sync jobs in a row; turn it on again once the cause is fixed.` })
    } catch (err) {
      logger?.error({ err, connectionId }, 'could not check the failed jobs of a connection')
    }
  }

  /** Status (and runAfter) of a job whose attempt just failed with `failureType`. */
  async #afterFailure(job: JobRecord, failed: AttemptRecord, failureType: FailureType): Promise<{ status: 'incomplete' | 'failed'; runAfter?: number }> {
    const attempts = (await this.#options.jobStore.listAttempts(job.id)).map((a) => (a.attemptNumber === failed.attemptNumber ? { ...failed, status: 'failed' as const } : a))
    const decision = decideRetry(attempts, failureType, this.#options.retryPolicy)
    if (!decision.retry) return { status: 'failed' }
    return { status: 'incomplete', runAfter: this.#options.now() + decision.delayMs }
  }

  /**
   * A worker's death is not the job's failure: the job runs again at once, from the last saved
   * state, as after a graceful shutdown. The attempt still counts towards the retry limits, so a
   * job that keeps killing its workers ends failed like any other.
   */
  async #afterWorkerLoss(job: JobRecord, lost: AttemptRecord): Promise<{ status: 'incomplete' | 'failed'; runAfter?: number }> {
    const next = await this.#afterFailure(job, lost, 'system_error')
    return next.status === 'failed' ? next : { status: 'incomplete', runAfter: this.#options.now() }
  }

  #failureReason(err: unknown, cause: AbortCause | undefined, log: AttemptLog): FailureReasonRecord {
    const now = this.#options.now()
    if (cause === 'cancel') {
      return { failureOrigin: 'airbyte_platform', failureType: 'manual_cancellation', externalMessage: 'The job was cancelled.', retryable: false, timestamp: now }
    }
    if (cause === 'shutdown') {
      return { failureOrigin: 'airbyte_platform', failureType: 'system_error', externalMessage: 'The worker was shut down during the attempt.', retryable: true, timestamp: now }
    }
    let reason: FailureReasonRecord
    if (isAttemptFailure(err)) {
      reason = err.toFailureReason(now)
    } else {
      const e = err instanceof Error ? err : new Error(String(err))
      const failureType: FailureType = isSluiceError(e) && e.failureType !== 'manual_cancellation' ? e.failureType : 'system_error'
      reason = { failureOrigin: 'replication', failureType, externalMessage: e.message, retryable: failureType !== 'config_error', timestamp: now }
      if (e.stack !== undefined) reason.stacktrace = e.stack
    }
    // A cancellation error that the worker did not ask for is a bug, not a user action.
    if (reason.failureType === 'manual_cancellation') reason.failureType = 'system_error'
    reason.retryable = reason.failureType !== 'config_error'
    reason.externalMessage = log.scrub(reason.externalMessage)
    if (reason.internalMessage !== undefined) reason.internalMessage = log.scrub(reason.internalMessage)
    if (reason.stacktrace !== undefined) reason.stacktrace = log.scrub(reason.stacktrace)
    return reason
  }
}

function logStamp(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19)
}

/** Records and bytes committed so far, for a notification. */
function committed(stats: AttemptProgress | undefined): { recordsSynced: number; bytesSynced: number } {
  return { recordsSynced: stats?.totalStats.recordsCommitted ?? 0, bytesSynced: stats?.totalStats.bytesCommitted ?? 0 }
}
