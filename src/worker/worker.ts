import { hostname } from 'node:os'
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { runAttempt } from '../engine/index.js'
import type { ClaimedAttempt, JobStore } from '../store/job-store.js'
import { AttemptPreparation } from './attempt-preparation.js'
import { AttemptRunner } from './attempt-runner.js'
import { FailureHandler } from './failure-handler.js'
import { DEFAULT_RETRY_POLICY } from './retry-policy.js'
import { abortForShutdown, attemptKey, type RunningAttempt } from './running-attempt.js'
import type { WorkerOptions } from './worker-options.js'
import { JobNotifications } from './job-notifications.js'
import { SchemaCheck } from './schema-check.js'
import type { WorkerMetrics } from '../metrics/index.js'

/**
 * The job loop: claim -> heartbeat -> run -> finish, `concurrency` attempts at a time.
 * Runs inside `sluice serve` and can run in a process of its own: everything it shares with
 * the API (jobs, cancel requests, state, logs) goes through the JobStore. Building an attempt's
 * input is {@link AttemptPreparation}'s job, running it {@link AttemptRunner}'s, and recording
 * what went wrong {@link FailureHandler}'s.
 */
export class Worker {
  readonly workerId: string
  readonly #jobStore: JobStore
  readonly #logger: Logger | undefined
  readonly #now: () => number
  readonly #concurrency: number
  readonly #pollIntervalMs: number
  readonly #leaseMs: number
  readonly #recoverAllOnStart: boolean
  readonly #runner: AttemptRunner
  readonly #failures: FailureHandler
  readonly #notifications: JobNotifications | undefined
  readonly #metrics: WorkerMetrics | undefined
  /** The attempts this worker runs now, by {@link attemptKey}. */
  readonly #runningAttempts = new Map<string, RunningAttempt>()
  readonly #stop = new AbortController()
  #loops: Array<Promise<void>> = []
  /** Wake-up functions of the slots sleeping in #idle. */
  readonly #sleepers = new Set<() => void>()
  #recoveryTimer: NodeJS.Timeout | undefined
  #recovering: Promise<void> | undefined

  constructor(options: WorkerOptions) {
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
    this.#jobStore = options.jobStore
    this.#logger = options.logger
    this.#now = options.now ?? Date.now
    this.#concurrency = Math.max(1, options.concurrency ?? 2)
    this.#pollIntervalMs = options.pollIntervalMs ?? 500
    this.#leaseMs = options.leaseMs ?? 30_000
    this.#recoverAllOnStart = options.recoverAllOnStart ?? false
    this.#metrics = options.metrics
    this.#notifications = options.notifier === undefined ? undefined : new JobNotifications(options.configStore, options.notifier, this.#logger)
    this.#failures = new FailureHandler({
      jobStore: options.jobStore,
      configStore: options.configStore,
      retryPolicy: { ...DEFAULT_RETRY_POLICY, ...options.retry },
      workerId: this.workerId,
      now: this.#now,
      logger: this.#logger,
      autoDisableAfterFailedJobs: options.autoDisableAfterFailedJobs ?? 30,
      autoDisableAfterFailedDays: options.autoDisableAfterFailedDays ?? 7,
      storeRetry: options.storeRetry,
      notifications: this.#notifications,
    })
    this.#runner = new AttemptRunner({
      jobStore: options.jobStore,
      configStore: options.configStore,
      secrets: options.secrets,
      runAttempt: options.runAttempt ?? ((input) => runAttempt(input)),
      preparation: new AttemptPreparation({
        configStore: options.configStore,
        jobStore: options.jobStore,
        registry: options.registry,
        secrets: options.secrets,
        context: options.context,
        schemaCheck: new SchemaCheck({
          configStore: options.configStore,
          context: options.context,
          intervalMs: (options.schemaCheckIntervalHours ?? 24) * 3_600_000,
          now: this.#now,
          notifications: this.#notifications,
        }),
      }),
      failures: this.#failures,
      workerId: this.workerId,
      leaseMs: this.#leaseMs,
      heartbeatMs: options.heartbeatMs ?? 1000,
      webhookRetry: options.webhookRetry ?? { attempts: 4, backoffMs: (n) => Math.min(5000, 1000 * n) },
      storeRetry: options.storeRetry,
      notifications: this.#notifications,
      metrics: this.#metrics,
      now: this.#now,
      logger: this.#logger,
      attemptLogMaxBytes: options.attemptLogMaxBytes,
    })
  }

  /** Recovers lost attempts, then starts the claim loops. */
  async start(): Promise<void> {
    await this.recover(this.#recoverAllOnStart)
    this.#scheduleRecovery()
    for (let i = 0; i < this.#concurrency; i++) this.#loops.push(this.#loop())
  }

  /**
   * Stops claiming, lets running attempts finish for up to `graceMs`, then aborts the rest (they
   * are recorded as failed and their jobs made runnable again at once, resuming from the saved
   * state) and waits for them to wind down.
   */
  async stop(graceMs = 0): Promise<void> {
    this.#stop.abort()
    clearTimeout(this.#recoveryTimer)
    for (const wake of [...this.#sleepers]) wake()
    if (graceMs > 0 && this.#runningAttempts.size > 0) {
      // Graceful shutdown: no new claims; the loops end as their attempts finish, or the grace ends.
      let timer: NodeJS.Timeout | undefined
      await Promise.race([Promise.all(this.#loops), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))])
      clearTimeout(timer)
    }
    for (const run of this.#runningAttempts.values()) abortForShutdown(run)
    await Promise.all(this.#loops)
    this.#loops = []
    await this.#recovering
    await this.#notifications?.drain()
  }

  /** Makes idle slots look for work now (e.g. right after a job was created). */
  wake(): void {
    for (const wake of [...this.#sleepers]) wake()
  }

  /**
   * Marks running attempts of dead workers as failed (system_error "worker lost") and makes their
   * jobs runnable again from the last saved state, or ends them per the retry policy.
   * `all`: every running attempt not owned by this worker (single-process store at start).
   */
  async recover(all = false): Promise<number> {
    const store = this.#jobStore
    // A job left incomplete with a cancel request is never claimed again: finish the cancel.
    const stranded = await store.listJobs({ statuses: ['incomplete', 'pending'], pageSize: 1000 })
    for (const job of stranded.jobs) if (job.cancelRequested) await store.requestCancel(job.id)
    const lost = (await store.expiredAttempts(all ? Number.MAX_SAFE_INTEGER : this.#now())).filter((a) => !this.#runningAttempts.has(attemptKey(a)))
    let recovered = 0
    for (const attempt of lost) if (await this.#failures.recordLostAttempt(attempt)) recovered++
    this.#metrics?.leasesExpired(recovered)
    return recovered
  }

  /**
   * Looks for expired leases every half lease, on a timer of its own rather than in the claim
   * loops: a dead worker's attempt is recovered within 1.5 leases of its last heartbeat whatever
   * the poll interval, and the idle slots are woken to claim it.
   */
  #scheduleRecovery(): void {
    this.#recoveryTimer = setTimeout(() => {
      this.#recovering = this.recover(false)
        .then((recovered) => {
          if (recovered > 0) this.wake()
        })
        .catch((err: unknown) => this.#logger?.error({ err }, 'worker could not recover lost attempts'))
        .finally(() => {
          this.#recovering = undefined
          if (!this.#stop.signal.aborted) this.#scheduleRecovery()
        })
    }, this.#leaseMs / 2)
  }

  async #loop(): Promise<void> {
    const signal = this.#stop.signal
    while (!signal.aborted) {
      let claimed: ClaimedAttempt | undefined
      try {
        const claimStart = performance.now()
        claimed = await this.#jobStore.claimNext(this.workerId, this.#leaseMs)
        this.#metrics?.claimObserved(performance.now() - claimStart)
      } catch (err) {
        this.#logger?.error({ err }, 'worker could not claim a job')
      }
      if (claimed !== undefined) {
        await this.#run(claimed)
        continue
      }
      await this.#idle(signal)
    }
  }

  /** Sleeps one poll interval, or less when woken or stopped. */
  #idle(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        signal.removeEventListener('abort', done)
        this.#sleepers.delete(done)
        resolve()
      }
      const timer = setTimeout(done, this.#pollIntervalMs)
      signal.addEventListener('abort', done, { once: true })
      this.#sleepers.add(done)
    })
  }

  async #run(claimed: ClaimedAttempt): Promise<void> {
    const run: RunningAttempt = { controller: new AbortController(), cause: undefined }
    const key = attemptKey(claimed.attempt)
    this.#runningAttempts.set(key, run)
    this.#metrics?.attemptsRunning(this.#runningAttempts.size)
    // stop() ran between the claim and this point: it could not see this attempt.
    if (this.#stop.signal.aborted) abortForShutdown(run)
    try {
      await this.#runner.run(claimed, run)
    } finally {
      this.#runningAttempts.delete(key)
      this.#metrics?.attemptsRunning(this.#runningAttempts.size)
    }
  }
}
