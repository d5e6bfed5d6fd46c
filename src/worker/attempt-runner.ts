import type { Logger } from 'pino'
import { connectionOperations } from '../domain/connection-operations.js'
import { isAttemptFailure } from '../engine/index.js'
import type { AttemptProgress, AttemptResult } from '../engine/types.js'
import type { AttemptEndedSample, WorkerMetrics } from '../metrics/index.js'
import { cancelledError, SluiceError } from '../errors.js'
import type { SecretService } from '../secrets/secret-service.js'
import type { ConfigStore } from '../store/config-store.js'
import type { AttemptRecord, ClaimedAttempt, JobRecord, JobStore } from '../store/job-store.js'
import { AttemptLog } from './attempt-log.js'
import type { AttemptPreparation } from './attempt-preparation.js'
import type { FailureHandler } from './failure-handler.js'
import { abortError, type RunningAttempt } from './running-attempt.js'
import { runWebhookOperations } from './webhook-operations.js'
import type { RunAttemptFn, WebhookRetry } from './worker-options.js'
import { retryStoreCall, type StoreRetryOptions } from './store-retry.js'
import type { JobNotifications } from './job-notifications.js'

/** What running one attempt needs: the stores, the engine, the lease and the two collaborators. */
export interface AttemptRunnerOptions {
  jobStore: JobStore
  configStore: ConfigStore
  secrets: SecretService
  runAttempt: RunAttemptFn
  preparation: AttemptPreparation
  failures: FailureHandler
  /** The worker that owns the leases (its heartbeats renew them). */
  workerId: string
  leaseMs: number
  heartbeatMs: number
  /** Where sync outcomes are announced (the workspace's notification settings). */
  notifications?: JobNotifications | undefined
  /** Retries of the store call that records the attempt's end (tests shorten the pauses). */
  storeRetry?: Pick<StoreRetryOptions, 'attempts' | 'delayMs'> | undefined
  webhookRetry: WebhookRetry
  /** Where the attempt's start, end and committed records are counted; none: not counted. */
  metrics?: WorkerMetrics | undefined
  now: () => number
  logger: Logger | undefined
  /** Size cap of each attempt's stored log (AttemptLog). */
  attemptLogMaxBytes?: number | undefined
}

/**
 * Runs one claimed attempt to its end: heartbeat (lease renewal and cancel check) while it runs,
 * the engine over the prepared input with progress written to the store, the connection's webhook
 * operations after a successful sync, then the attempt recorded as succeeded, or handed to the
 * failure handler.
 */
export class AttemptRunner {
  readonly #options: AttemptRunnerOptions

  constructor(options: AttemptRunnerOptions) {
    this.#options = options
  }

  /** Runs `claimed` under `run`'s abort controller; never throws (failures are recorded). */
  async run(claimed: ClaimedAttempt, run: RunningAttempt): Promise<void> {
    const { job, attempt } = claimed
    const { jobStore: store, workerId, logger } = this.#options
    const log = new AttemptLog(store, job.id, attempt.attemptNumber, this.#options.now, this.#options.attemptLogMaxBytes)
    const metrics = this.#options.metrics
    const startedAt = this.#options.now()
    // A job is runnable from its creation, or from its retry time when it came back incomplete.
    metrics?.attemptStarted(job.configType, attempt.createdAt - Math.max(job.createdAt, job.runAfter))
    const commits = new CommitCounter(job.configId, metrics)
    let progress: AttemptProgress | undefined
    let progressWrite: Promise<unknown> = Promise.resolve()
    // Each beat is scheduled when the previous one is done: a slow store never stacks beats up.
    let heartbeat: NodeJS.Timeout | undefined
    let beating = true
    const beat = (): void => {
      heartbeat = setTimeout(() => {
        void this.#heartbeat(job.id, attempt.attemptNumber, run).finally(() => {
          if (beating) beat()
        })
      }, this.#options.heartbeatMs)
    }
    beat()
    logger?.info({ jobId: job.id, attempt: attempt.attemptNumber, connectionId: job.configId, configType: job.configType }, 'attempt started')
    log.info(`Attempt ${attempt.attemptNumber} of job ${job.id} (${job.configType}) started on worker ${workerId}.`)
    let result: AttemptResult | undefined
    let failure: unknown
    try {
      const input = await this.#options.preparation.prepare(job, attempt, log, run.controller.signal)
      if (run.cause !== undefined) throw abortError(run.cause)
      result = await this.#options.runAttempt({
        ...input,
        onProgress: (p) => {
          progress = p
          commits.observe(p)
          progressWrite = progressWrite.then(() => store.updateAttempt(job.id, attempt.attemptNumber, { totalStats: p.totalStats, streamStats: p.streamStats })).catch(() => undefined)
        },
      })
      await progressWrite
      if (run.cause !== undefined) throw abortError(run.cause)
    } catch (err) {
      result = undefined
      failure = err
      await progressWrite
    }
    commits.observe(result ?? (isAttemptFailure(failure) ? failure.stats : progress))
    let ended: Pick<AttemptEndedSample, 'status' | 'failureType'> | undefined
    try {
      if (result !== undefined) {
        await this.#recordSuccess(job, attempt, result, log, run.controller.signal)
        ended = { status: 'succeeded' }
      } else {
        ended = await this.#options.failures.recordFailedAttempt(job, attempt, run, failure, progress, log)
      }
    } catch (err) {
      // The store failed on every try. The records and state the attempt committed stay; the
      // attempt keeps its running status until its lease expires, and recovery then records it.
      logger?.error({ err, jobId: job.id, attempt: attempt.attemptNumber }, 'could not record the end of the attempt; it will be recovered when its lease expires')
    } finally {
      beating = false
      clearTimeout(heartbeat)
      await log.flush().catch((err: unknown) => logger?.warn({ err, jobId: job.id }, 'could not write the attempt log'))
      // An end the store never recorded is not counted: recovery records it once the lease expires.
      if (ended !== undefined) metrics?.attemptEnded({ jobType: job.configType, ...ended, durationMs: this.#options.now() - startedAt })
    }
  }

  /** Runs the operations of a successful sync, then records the success (retrying the store). */
  async #recordSuccess(job: JobRecord, attempt: AttemptRecord, result: AttemptResult, log: AttemptLog, signal: AbortSignal): Promise<void> {
    const { jobStore: store, workerId, logger } = this.#options
    log.info(`Attempt succeeded: ${result.totalStats.recordsCommitted} records, ${result.totalStats.bytesCommitted} bytes committed.`)
    if (job.configType === 'sync' || job.configType === 'refresh') await this.#runOperations(job, log, signal)
    // Logs land before the terminal status: another process may read them as soon as it sees it.
    await log.flush()
    const finished = await retryStoreCall(
      'recording a succeeded attempt',
      () =>
        store.finishAttempt(
          job.id,
          attempt.attemptNumber,
          workerId,
          { status: 'succeeded', failures: [], totalStats: result.totalStats, streamStats: result.streamStats },
          { status: 'succeeded' },
        ),
      { logger, ...this.#options.storeRetry },
    )
    logger?.info({ jobId: job.id, attempt: attempt.attemptNumber, records: result.totalStats.recordsCommitted, finished }, 'attempt succeeded')
    if (finished) this.#options.notifications?.send(job, 'sync_success', { recordsSynced: result.totalStats.recordsCommitted, bytesSynced: result.totalStats.bytesCommitted })
  }

  /** Runs the connection's webhook operations after a successful sync; failures are logged, never thrown. */
  async #runOperations(job: JobRecord, log: AttemptLog, signal: AbortSignal): Promise<void> {
    const { configStore } = this.#options
    try {
      const connection = await configStore.getConnection(job.configId)
      if (connection === undefined || connection.operationIds.length === 0) return
      const operations = await connectionOperations(configStore, connection.operationIds)
      const workspace = await configStore.getWorkspace(connection.workspaceId)
      await runWebhookOperations(operations, workspace?.webhookConfigs ?? [], {
        secrets: this.#options.secrets,
        log,
        signal,
        attempts: this.#options.webhookRetry.attempts,
        backoffMs: this.#options.webhookRetry.backoffMs,
      })
    } catch (err) {
      log.warn(`Operations were not run: ${err instanceof Error ? err.message : String(err)}`)
    }
  }

  /** Renews the lease and looks for a cancel request; aborts the attempt on either. */
  async #heartbeat(jobId: number, attemptNumber: number, run: RunningAttempt): Promise<void> {
    if (run.controller.signal.aborted) return
    try {
      const store = this.#options.jobStore
      const mine = await store.heartbeat(jobId, attemptNumber, this.#options.workerId, this.#options.leaseMs)
      if (!mine) {
        run.cause ??= 'lease_lost'
        run.controller.abort(new SluiceError('SLUICE_ERR_CANCELLED', 'The attempt was taken over after its lease expired.', { failureType: 'system_error' }))
        return
      }
      const job = await store.getJob(jobId)
      if (job?.cancelRequested === true) {
        run.cause ??= 'cancel'
        run.controller.abort(cancelledError())
      }
    } catch (err) {
      // A store hiccup: the lease is long enough to try again on the next beat.
      this.#options.logger?.warn({ err, jobId }, 'heartbeat failed')
    }
  }
}

/**
 * Counts the records and bytes of one attempt as the destination commits them: the engine
 * reports running totals, the metrics get what is new since the last report.
 */
class CommitCounter {
  readonly #connectionId: string
  readonly #metrics: WorkerMetrics | undefined
  #records = 0
  #bytes = 0

  constructor(connectionId: string, metrics: WorkerMetrics | undefined) {
    this.#connectionId = connectionId
    this.#metrics = metrics
  }

  observe(progress: AttemptProgress | undefined): void {
    if (progress === undefined || this.#metrics === undefined) return
    const { recordsCommitted, bytesCommitted } = progress.totalStats
    this.#metrics.recordsCommitted(this.#connectionId, recordsCommitted - this.#records, bytesCommitted - this.#bytes)
    this.#records = Math.max(this.#records, recordsCommitted)
    this.#bytes = Math.max(this.#bytes, bytesCommitted)
  }
}
