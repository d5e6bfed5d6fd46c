import { hostname } from 'node:os'
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import type {
  ConnectorConfig,
  ConnectorContext,
  DestinationDefinition,
  FailureReasonRecord,
  SourceDefinition,
} from '../protocol/index.js'
import type { ConnectorRegistry } from '../connectors/registry.js'
import { isAttemptFailure, runAttempt } from '../engine/index.js'
import type { AttemptInput, AttemptProgress, AttemptResult } from '../engine/types.js'
import { cancelledError, configError, isSluiceError, SluiceError, type FailureType } from '../errors.js'
import { streamKey, streamLabel, type StateMessage } from '../protocol/index.js'
import { decryptSecrets, encryptSecrets, secretValues } from '../secrets/config-secrets.js'
import type { SecretService } from '../secrets/secret-service.js'
import type { ActorRecord, ConfigStore } from '../store/config-store.js'
import type { AttemptRecord, ClaimedAttempt, JobRecord, JobStore } from '../store/job-store.js'
import { configuredCatalog, namespaceMapping, resetEntries } from './attempt-catalog.js'
import { catalogEntries, type CatalogEntry } from '../domain/catalog-entries.js'
import { AttemptLog } from './attempt-log.js'
import { runWebhookOperations } from './webhook-operations.js'
import { connectionOperations } from '../domain/connection-operations.js'
import { decideRetry, DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry-policy.js'

/** The engine entry point the worker calls (src/engine's runAttempt; injectable for tests). */
export type RunAttemptFn = (input: AttemptInput) => Promise<AttemptResult>

export interface WorkerOptions {
  jobStore: JobStore
  configStore: ConfigStore
  registry: ConnectorRegistry
  /** Decrypts stored connector configurations. */
  secrets: SecretService
  context: ConnectorContext
  /** Default: the engine's runAttempt. */
  runAttempt?: RunAttemptFn
  /** Process log (pino); attempt logs go to the job store. */
  logger?: Logger
  /** Default: `<hostname>:<pid>:<random>`. */
  workerId?: string
  /** Attempts run at the same time (default 2). */
  concurrency?: number
  /** How often an idle slot looks for work (default 500 ms). */
  pollIntervalMs?: number
  /** Lease of a claimed attempt (default 30 s); the heartbeat renews it. */
  leaseMs?: number
  /** Heartbeat and cancel check period (default 1 s). */
  heartbeatMs?: number
  retry?: Partial<RetryPolicy>
  /**
   * At start, treat EVERY running attempt as lost (embedded single-process store: whoever ran
   * them is dead). Otherwise only attempts whose lease expired are recovered.
   */
  recoverAllOnStart?: boolean
  /** Clock in epoch ms (default Date.now). */
  now?: () => number
  /** Set a connection inactive after this many sync jobs in a row failed (default 30; 0: never). */
  autoDisableAfterFailedJobs?: number
  /** ... or when its sync jobs have only failed for this many days (default 7; 0: never). */
  autoDisableAfterFailedDays?: number
  /** Webhook operations: tries per webhook (default 4) and the wait before retry n (default min(5 s, n s)). */
  webhookRetry?: { attempts: number; backoffMs: (retry: number) => number }
}

/** Why the worker aborted an attempt's signal. */
type AbortCause = 'cancel' | 'lease_lost' | 'shutdown'

interface RunningAttempt {
  controller: AbortController
  cause: AbortCause | undefined
}

const WORKER_LOST_MESSAGE = 'The worker running this attempt stopped (process killed or crashed); the job resumes from the last saved state.'

/**
 * The job loop: claim -> heartbeat -> run -> finish, `concurrency` attempts at a time.
 * Runs inside `sluice serve` and can run in a process of its own: everything it shares with
 * the API (jobs, cancel requests, state, logs) goes through the JobStore.
 */
export class Worker {
  readonly workerId: string
  readonly #o: Required<Omit<WorkerOptions, 'logger' | 'retry' | 'workerId'>> & { logger: Logger | undefined }
  readonly #policy: RetryPolicy
  readonly #running = new Map<string, RunningAttempt>()
  readonly #stop = new AbortController()
  #loops: Array<Promise<void>> = []
  /** Wake-up functions of the slots sleeping in #idle. */
  readonly #sleepers = new Set<() => void>()
  #lastRecovery = 0

  constructor(options: WorkerOptions) {
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
    this.#policy = { ...DEFAULT_RETRY_POLICY, ...options.retry }
    this.#o = {
      jobStore: options.jobStore,
      configStore: options.configStore,
      registry: options.registry,
      secrets: options.secrets,
      context: options.context,
      runAttempt: options.runAttempt ?? ((input) => runAttempt(input)),
      logger: options.logger,
      concurrency: Math.max(1, options.concurrency ?? 2),
      pollIntervalMs: options.pollIntervalMs ?? 500,
      leaseMs: options.leaseMs ?? 30_000,
      heartbeatMs: options.heartbeatMs ?? 1000,
      recoverAllOnStart: options.recoverAllOnStart ?? false,
      now: options.now ?? Date.now,
      autoDisableAfterFailedJobs: options.autoDisableAfterFailedJobs ?? 30,
      autoDisableAfterFailedDays: options.autoDisableAfterFailedDays ?? 7,
      webhookRetry: options.webhookRetry ?? { attempts: 4, backoffMs: (n) => Math.min(5000, 1000 * n) },
    }
  }

  /** Recovers lost attempts, then starts the claim loops. */
  async start(): Promise<void> {
    await this.recover(this.#o.recoverAllOnStart)
    for (let i = 0; i < this.#o.concurrency; i++) this.#loops.push(this.#loop())
  }

  /**
   * Stops claiming, lets running attempts finish for up to `graceMs`, then aborts the rest (they
   * are recorded as failed and their jobs made runnable again at once, resuming from the saved
   * state) and waits for them to wind down.
   */
  async stop(graceMs = 0): Promise<void> {
    this.#stop.abort()
    for (const wake of [...this.#sleepers]) wake()
    if (graceMs > 0 && this.#running.size > 0) {
      // Graceful shutdown: no new claims; the loops end as their attempts finish, or the grace ends.
      let timer: NodeJS.Timeout | undefined
      await Promise.race([Promise.all(this.#loops), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))])
      clearTimeout(timer)
    }
    for (const run of this.#running.values()) {
      run.cause ??= 'shutdown'
      run.controller.abort(new SluiceError('SLUICE_ERR_CANCELLED', 'The worker is shutting down.', { failureType: 'system_error' }))
    }
    await Promise.all(this.#loops)
    this.#loops = []
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
    const store = this.#o.jobStore
    // A job left incomplete with a cancel request is never claimed again: finish the cancel.
    const stranded = await store.listJobs({ statuses: ['incomplete', 'pending'], pageSize: 1000 })
    for (const job of stranded.jobs) if (job.cancelRequested) await store.requestCancel(job.id)
    const lost = (await store.expiredAttempts(all ? Number.MAX_SAFE_INTEGER : this.#o.now())).filter((a) => !this.#running.has(attemptKey(a)))
    let recovered = 0
    for (const attempt of lost) {
      const job = await store.getJob(attempt.jobId)
      if (job === undefined) continue
      const failure: FailureReasonRecord = {
        failureOrigin: 'airbyte_platform',
        failureType: 'system_error',
        externalMessage: WORKER_LOST_MESSAGE,
        internalMessage: `worker lost: ${attempt.workerId ?? 'unknown'}`,
        retryable: true,
        timestamp: this.#o.now(),
      }
      const next = job.cancelRequested ? { status: 'cancelled' as const } : await this.#afterFailure(job, attempt, 'system_error')
      const ok = await store.finishAttempt(attempt.jobId, attempt.attemptNumber, attempt.workerId, { status: 'failed', failures: [failure] }, next)
      if (ok) {
        recovered++
        await store.appendLogs(attempt.jobId, attempt.attemptNumber, [`${logStamp(this.#o.now())} ERROR ${WORKER_LOST_MESSAGE}`])
        this.#o.logger?.warn({ jobId: attempt.jobId, attempt: attempt.attemptNumber, lostWorker: attempt.workerId, next: next.status }, 'recovered a lost attempt')
      }
    }
    return recovered
  }

  async #loop(): Promise<void> {
    const signal = this.#stop.signal
    while (!signal.aborted) {
      let claimed: ClaimedAttempt | undefined
      try {
        if (this.#o.now() - this.#lastRecovery >= this.#o.leaseMs) {
          this.#lastRecovery = this.#o.now()
          await this.recover(false)
        }
        claimed = await this.#o.jobStore.claimNext(this.workerId, this.#o.leaseMs)
      } catch (err) {
        this.#o.logger?.error({ err }, 'worker could not claim a job')
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
      const timer = setTimeout(done, this.#o.pollIntervalMs)
      signal.addEventListener('abort', done, { once: true })
      this.#sleepers.add(done)
    })
  }

  async #run(claimed: ClaimedAttempt): Promise<void> {
    const { job, attempt } = claimed
    const store = this.#o.jobStore
    const log = new AttemptLog(store, job.id, attempt.attemptNumber, this.#o.now)
    const controller = new AbortController()
    const run: RunningAttempt = { controller, cause: undefined }
    this.#running.set(attemptKey(attempt), run)
    if (this.#stop.signal.aborted) {
      // stop() ran between the claim and this point: it could not see this attempt.
      run.cause = 'shutdown'
      controller.abort(new SluiceError('SLUICE_ERR_CANCELLED', 'The worker is shutting down.', { failureType: 'system_error' }))
    }
    let progress: AttemptProgress | undefined
    let progressWrite: Promise<unknown> = Promise.resolve()
    const heartbeat = setInterval(() => void this.#heartbeat(job.id, attempt.attemptNumber, run), this.#o.heartbeatMs)
    this.#o.logger?.info({ jobId: job.id, attempt: attempt.attemptNumber, connectionId: job.configId, configType: job.configType }, 'attempt started')
    log.info(`Attempt ${attempt.attemptNumber} of job ${job.id} (${job.configType}) started on worker ${this.workerId}.`)
    try {
      const input = await this.#prepare(job, attempt, log, controller.signal)
      if (run.cause !== undefined) throw abortError(run.cause)
      const result = await this.#o.runAttempt({
        ...input,
        onProgress: (p) => {
          progress = p
          progressWrite = progressWrite.then(() => store.updateAttempt(job.id, attempt.attemptNumber, { totalStats: p.totalStats, streamStats: p.streamStats })).catch(() => undefined)
        },
      })
      await progressWrite
      if (run.cause !== undefined) throw abortError(run.cause)
      log.info(`Attempt succeeded: ${result.totalStats.recordsCommitted} records, ${result.totalStats.bytesCommitted} bytes committed.`)
      if (job.configType === 'sync' || job.configType === 'refresh') await this.#runOperations(job, log, controller.signal)
      // Logs land before the terminal status: another process may read them as soon as it sees it.
      await log.flush()
      const finished = await store.finishAttempt(
        job.id,
        attempt.attemptNumber,
        this.workerId,
        { status: 'succeeded', failures: [], totalStats: result.totalStats, streamStats: result.streamStats },
        { status: 'succeeded' },
      )
      this.#o.logger?.info({ jobId: job.id, attempt: attempt.attemptNumber, records: result.totalStats.recordsCommitted, finished }, 'attempt succeeded')
    } catch (err) {
      await progressWrite
      await this.#fail(job, attempt, run, err, progress, log)
    } finally {
      clearInterval(heartbeat)
      this.#running.delete(attemptKey(attempt))
      await log.flush()
    }
  }

  /** Runs the connection's webhook operations after a successful sync; failures are logged, never thrown. */
  async #runOperations(job: JobRecord, log: AttemptLog, signal: AbortSignal): Promise<void> {
    try {
      const connection = await this.#o.configStore.getConnection(job.configId)
      if (connection === undefined || connection.operationIds.length === 0) return
      const operations = await connectionOperations(this.#o.configStore, connection.operationIds)
      const workspace = await this.#o.configStore.getWorkspace(connection.workspaceId)
      await runWebhookOperations(operations, workspace?.webhookConfigs ?? [], {
        secrets: this.#o.secrets,
        log,
        signal,
        attempts: this.#o.webhookRetry.attempts,
        backoffMs: this.#o.webhookRetry.backoffMs,
      })
    } catch (err) {
      log.warn(`Operations were not run: ${err instanceof Error ? err.message : String(err)}`)
    }
  }

  /** Renews the lease and looks for a cancel request; aborts the attempt on either. */
  async #heartbeat(jobId: number, attemptNumber: number, run: RunningAttempt): Promise<void> {
    if (run.controller.signal.aborted) return
    try {
      const store = this.#o.jobStore
      const mine = await store.heartbeat(jobId, attemptNumber, this.workerId, this.#o.leaseMs)
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
      this.#o.logger?.warn({ err, jobId }, 'heartbeat failed')
    }
  }

  /** Records a failed attempt and decides the job's fate (cancelled, incomplete with backoff, failed). */
  async #fail(job: JobRecord, attempt: AttemptRecord, run: RunningAttempt, err: unknown, progress: AttemptProgress | undefined, log: AttemptLog): Promise<void> {
    const store = this.#o.jobStore
    if (run.cause === 'lease_lost') {
      log.warn('Attempt abandoned: another worker took it over after the lease expired.')
      return
    }
    const stats = isAttemptFailure(err) ? err.stats : progress
    const failure = this.#failureReason(err, run.cause, log)
    const failed: AttemptRecord = { ...attempt, status: 'failed', totalStats: stats?.totalStats ?? attempt.totalStats }
    let next: { status: JobRecord['status']; runAfter?: number }
    if (run.cause === 'cancel') {
      next = { status: 'cancelled' }
      log.info('Attempt cancelled by request; data committed so far stays, nothing half-written is visible.')
    } else if (run.cause === 'shutdown') {
      next = { status: 'incomplete', runAfter: this.#o.now() }
      log.warn('Attempt stopped because the worker is shutting down; the job will resume from the last saved state.')
    } else if ((await store.getJob(job.id))?.cancelRequested === true) {
      // Cancelled while the attempt was failing on its own: no retry.
      next = { status: 'cancelled' }
    } else {
      next = await this.#afterFailure(job, failed, failure.failureType)
      log.error(`Attempt failed (${failure.failureType}, ${failure.failureOrigin}): ${failure.externalMessage}`)
      if (next.status === 'incomplete') log.info(`The job will retry in ${Math.round(((next.runAfter ?? this.#o.now()) - this.#o.now()) / 1000)} s.`)
    }
    await log.flush()
    const finished = await store.finishAttempt(
      job.id,
      attempt.attemptNumber,
      this.workerId,
      { status: 'failed', failures: [failure], ...(stats !== undefined ? { totalStats: stats.totalStats, streamStats: stats.streamStats } : {}) },
      next,
    )
    this.#o.logger?.warn({ jobId: job.id, attempt: attempt.attemptNumber, failureType: failure.failureType, next: next.status, finished }, 'attempt failed')
    if (finished && next.status === 'failed') await this.#disableIfAlwaysFailing(job.configId)
  }

  /**
   * Airbyte turns a connection off after a run of failed jobs (semantics doc §6.5): N sync jobs in
   * a row, or only failures for D days. A broken scheduled connection then stops retrying forever.
   * Only sync jobs count; a success or a cancel ends the run.
   */
  async #disableIfAlwaysFailing(connectionId: string): Promise<void> {
    const limit = this.#o.autoDisableAfterFailedJobs
    const days = this.#o.autoDisableAfterFailedDays
    if (limit <= 0 && days <= 0) return
    try {
      const { jobs } = await this.#o.jobStore.listJobs({ configId: connectionId, configTypes: ['sync'], pageSize: Math.max(limit, 200) })
      let streak = 0
      let firstFailure: JobRecord | undefined
      for (const j of jobs) {
        if (j.status !== 'failed') break
        streak++
        firstFailure = j
      }
      const tooMany = limit > 0 && streak >= limit
      const tooLong = days > 0 && firstFailure !== undefined && this.#o.now() - firstFailure.createdAt * 1000 >= days * 86_400_000
      if (!tooMany && !tooLong) return
      const connection = await this.#o.configStore.getConnection(connectionId)
      if (connection === undefined || connection.status !== 'active') return
      await this.#o.configStore.putConnection({ ...connection, status: 'inactive', updatedAt: Math.floor(this.#o.now() / 1000) })
      this.#o.logger?.warn({ connectionId, failedJobs: streak, failingSince: firstFailure?.createdAt }, 'connection disabled after failing jobs')
    } catch (err) {
      this.#o.logger?.error({ err, connectionId }, 'could not check the failed jobs of a connection')
    }
  }

  /** Status (and runAfter) of a job whose attempt just failed with `failureType`. */
  async #afterFailure(job: JobRecord, failed: AttemptRecord, failureType: FailureType): Promise<{ status: 'incomplete' | 'failed'; runAfter?: number }> {
    const attempts = (await this.#o.jobStore.listAttempts(job.id)).map((a) => (a.attemptNumber === failed.attemptNumber ? { ...failed, status: 'failed' as const } : a))
    const decision = decideRetry(attempts, failureType, this.#policy)
    if (!decision.retry) return { status: 'failed' }
    return { status: 'incomplete', runAfter: this.#o.now() + decision.delayMs }
  }

  #failureReason(err: unknown, cause: AbortCause | undefined, log: AttemptLog): FailureReasonRecord {
    const now = this.#o.now()
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

  /** Loads the connection and connectors, applies generations/state rules, builds the engine input. */
  async #prepare(job: JobRecord, attempt: AttemptRecord, log: AttemptLog, signal: AbortSignal): Promise<Omit<AttemptInput, 'onProgress'>> {
    const { configStore, jobStore, registry } = this.#o
    const connection = await configStore.getConnection(job.configId)
    if (connection === undefined) throw configError(`The connection ${job.configId} no longer exists.`)
    if (connection.status === 'deprecated') throw configError(`The connection ${job.configId} was deleted.`)
    const sourceActor = await configStore.getActor('source', connection.sourceId)
    const destinationActor = await configStore.getActor('destination', connection.destinationId)
    if (sourceActor === undefined || sourceActor.tombstone) throw configError(`The source ${connection.sourceId} of this connection no longer exists.`)
    if (destinationActor === undefined || destinationActor.tombstone) {
      throw configError(`The destination ${connection.destinationId} of this connection no longer exists.`)
    }
    const sourceDef = registry.getSource(sourceActor.definitionId)
    const destinationDef = registry.getDestination(destinationActor.definitionId)
    if (sourceDef === undefined) throw configError(`The source definition ${sourceActor.definitionId} is not available in this server.`)
    if (destinationDef === undefined) throw configError(`The destination definition ${destinationActor.definitionId} is not available in this server.`)
    const sourceConfig = this.#config(sourceActor, sourceDef, log)
    const destinationConfig = this.#config(destinationActor, destinationDef, log)

    const entries = catalogEntries(connection)
    const isReset = job.configType === 'reset_connection' || job.configType === 'clear'
    const selected = isReset ? resetEntries(entries, job.streams) : entries.filter((e) => e.selected)
    // A refresh is a sync whose named streams start over (state cleared, new generation).
    const refreshed = job.configType === 'refresh' ? resetEntries(selected, job.streams) : []
    await this.#applyGenerationRules(job, attempt, selected, refreshed, isReset, log)
    const generations = await jobStore.getGenerations(connection.connectionId)
    const truncate = new Set(job.refreshMode === 'truncate' ? refreshed.map((e) => streamKey(e.stream)) : [])
    const catalog = configuredCatalog(selected, job.id, generations, { reset: isReset, truncate })

    const wanted = new Set(selected.map((e) => streamKey(e.stream)))
    const state: StateMessage[] = isReset
      ? []
      : (await jobStore.getState(connection.connectionId))
          .filter((s) => s.state !== null && wanted.has(streamKey(s.stream)))
          .map((s) => ({ type: 'STATE', stream: s.stream, data: s.state }))
    log.info(
      `${isReset ? 'Clearing' : 'Syncing'} ${catalog.streams.length} stream(s) from ${sourceDef.name} to ${destinationDef.name}: ` +
        catalog.streams.map((s) => `${streamLabel(s.stream)} (${s.syncMode} / ${s.destinationSyncMode}, generation ${s.generationId})`).join(', '),
    )
    if (state.length > 0) log.info(`Resuming ${state.length} stream(s) from saved state.`)

    return {
      source: sourceDef.source,
      sourceConfig,
      destination: destinationDef.destination,
      destinationConfig,
      catalog,
      mapping: namespaceMapping(connection, entries),
      state,
      ...(isReset ? { emptySource: true } : {}),
      options: {
        signal,
        logger: log,
        context: this.#o.context,
        onConfigUpdate: (config) => this.#saveSourceConfig(sourceActor.id, sourceDef, config, log),
      },
      onStateCommitted: async (states) => {
        await jobStore.saveState(
          connection.connectionId,
          states.map((s) => ({ stream: s.stream, state: s.data })),
        )
      },
    }
  }

  /**
   * Airbyte's generation rules (semantics doc §2.4, §2.5): at the first attempt of a sync job,
   * every full_refresh stream gets a new generation and loses its state; later attempts do the
   * same for non-resumable full_refresh streams. A reset/clear does it for its streams once, and
   * so does a refresh for the streams it refreshes (on top of the sync rule).
   */
  async #applyGenerationRules(
    job: JobRecord,
    attempt: AttemptRecord,
    selected: CatalogEntry[],
    refreshed: CatalogEntry[],
    isReset: boolean,
    log: AttemptLog,
  ): Promise<void> {
    const { jobStore } = this.#o
    let streams: CatalogEntry[]
    if (isReset) streams = attempt.attemptNumber === 0 ? selected : []
    else if (attempt.attemptNumber === 0) streams = selected.filter((e) => e.syncMode === 'full_refresh' || refreshed.includes(e))
    else streams = selected.filter((e) => e.syncMode === 'full_refresh' && e.stream.isResumable !== true)
    if (streams.length === 0) return
    const descriptors = streams.map((e) => ({ name: e.stream.name, namespace: e.stream.namespace ?? null }))
    await jobStore.clearState(job.configId, descriptors)
    await jobStore.bumpGenerations(job.configId, descriptors)
    log.info(`New generation and cleared state for: ${descriptors.map(streamLabel).join(', ')}.`)
  }

  /**
   * Persists a configuration the source changed during the run (Airbyte's CONTROL
   * CONNECTOR_CONFIG: rotated OAuth tokens), so the next sync starts with it. Keys in the update
   * replace the stored ones, others are kept; secrets are encrypted and scrubbed from the log.
   */
  async #saveSourceConfig(sourceId: string, def: SourceDefinition, update: ConnectorConfig, log: AttemptLog): Promise<void> {
    const { configStore, secrets } = this.#o
    const spec = def.source.spec.connectionSpecification
    log.addSecrets(secretValues(spec, update))
    const current = await configStore.getActor('source', sourceId)
    if (current === undefined || current.tombstone) return
    const merged = { ...decryptSecrets(current.configuration, secrets), ...update }
    await configStore.putActor({ ...current, configuration: encryptSecrets(spec, merged, secrets) })
    log.info('Saved the source configuration updated during the sync (e.g. a rotated token).')
  }

  /** A connector configuration with its secrets decrypted; the secrets are scrubbed from this attempt's log. */
  #config(actor: ActorRecord, def: SourceDefinition | DestinationDefinition, log: AttemptLog): ConnectorConfig {
    const config = decryptSecrets(actor.configuration, this.#o.secrets)
    const spec = def.kind === 'source' ? def.source.spec : def.destination.spec
    log.addSecrets(secretValues(spec.connectionSpecification, config))
    return config
  }
}

function attemptKey(a: { jobId: number; attemptNumber: number }): string {
  return `${a.jobId}/${a.attemptNumber}`
}

function abortError(cause: AbortCause): SluiceError {
  return cause === 'cancel' ? cancelledError() : new SluiceError('SLUICE_ERR_CANCELLED', `Attempt aborted: ${cause}.`, { failureType: 'system_error' })
}

function logStamp(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19)
}
