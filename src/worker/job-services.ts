import type { Logger } from 'pino'
import type { ConnectorContext } from '../protocol/index.js'
import type { ConnectorRegistry } from '../connectors/registry.js'
import { NEW_CONNECTION_GRACE_MS, Scheduler } from '../scheduler/scheduler.js'
import type { SecretService } from '../secrets/secret-service.js'
import type { ConfigStore } from '../store/config-store.js'
import type { JobStore } from '../store/job-store.js'
import { retryPolicyFromEnv } from './retry-policy.js'
import { Worker, type WorkerOptions } from './worker.js'

/** What the services need from the server's dependencies (a subset of ApiDeps). */
export interface JobServiceDeps {
  configStore: ConfigStore
  jobStore: JobStore
  registry: ConnectorRegistry
  secrets: SecretService
  context: ConnectorContext
  logger: Logger
}

/** A long-running part of the server (matches server.ts's SluiceService). */
export interface JobService {
  name: string
  start(deps: JobServiceDeps): Promise<void>
  stop(): Promise<void>
}

/** A store that tells in-process workers about new jobs (the embedded SQLite store does). */
interface RunnableNotifier {
  onRunnable(listener: () => void): () => void
}

function isRunnableNotifier(store: JobStore): store is JobStore & RunnableNotifier {
  return typeof (store as Partial<RunnableNotifier>).onRunnable === 'function'
}

function envInt(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0): number {
  const raw = env[name]
  if (raw === undefined || raw.trim() === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, got '${raw}'.`)
  return n
}

/**
 * Worker settings from the environment: SLUICE_WORKER_CONCURRENCY (2), SLUICE_WORKER_POLL_MS
 * (500), SLUICE_WORKER_LEASE_MS (30000), SLUICE_WORKER_HEARTBEAT_MS (1000),
 * SLUICE_AUTO_DISABLE_FAILED_JOBS (30), SLUICE_AUTO_DISABLE_FAILED_DAYS (7) and the retry
 * settings of {@link retryPolicyFromEnv}.
 */
export function workerOptionsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Pick<WorkerOptions, 'concurrency' | 'pollIntervalMs' | 'leaseMs' | 'heartbeatMs' | 'retry' | 'autoDisableAfterFailedJobs' | 'autoDisableAfterFailedDays' | 'webhookRetry'> {
  const webhookBackoff = envInt(env, 'SLUICE_WEBHOOK_BACKOFF_MS', 1000)
  return {
    autoDisableAfterFailedJobs: envInt(env, 'SLUICE_AUTO_DISABLE_FAILED_JOBS', 30),
    autoDisableAfterFailedDays: envInt(env, 'SLUICE_AUTO_DISABLE_FAILED_DAYS', 7),
    concurrency: envInt(env, 'SLUICE_WORKER_CONCURRENCY', 2, 1),
    pollIntervalMs: envInt(env, 'SLUICE_WORKER_POLL_MS', 500, 10),
    leaseMs: envInt(env, 'SLUICE_WORKER_LEASE_MS', 30_000, 1000),
    heartbeatMs: envInt(env, 'SLUICE_WORKER_HEARTBEAT_MS', 1000, 50),
    retry: retryPolicyFromEnv(env),
    webhookRetry: { attempts: envInt(env, 'SLUICE_WEBHOOK_ATTEMPTS', 4, 1), backoffMs: (n) => Math.min(5, n) * webhookBackoff },
  }
}

export interface JobServicesOptions {
  env?: NodeJS.ProcessEnv
  /** Run the worker (default true). */
  worker?: boolean
  /** Run the scheduler (default true). */
  scheduler?: boolean
  /**
   * The store is embedded and single-process (SQLite): at start every running attempt belongs
   * to a dead process and is recovered at once, without waiting for its lease to expire.
   */
  singleProcessStore?: boolean
}

/**
 * The worker and the scheduler as server services. A job the scheduler creates wakes the
 * worker at once. SLUICE_SCHEDULER_TICK_MS (5000) sets the scheduler's period,
 * SLUICE_SCHEDULER_NEW_CONNECTION_GRACE_MS (10000) the delay before a new basic-schedule
 * connection's first run.
 */
export function createJobServices(options: JobServicesOptions = {}): JobService[] {
  const env = options.env ?? process.env
  let worker: Worker | undefined
  let scheduler: Scheduler | undefined
  let unsubscribe: (() => void) | undefined
  const services: JobService[] = []
  if (options.worker !== false) {
    services.push({
      name: 'worker',
      async start(deps) {
        worker = new Worker({ ...deps, ...workerOptionsFromEnv(env), logger: deps.logger.child({ component: 'worker' }), recoverAllOnStart: options.singleProcessStore === true })
        await worker.start()
        // A job created through the API starts at once, not at the next poll.
        if (isRunnableNotifier(deps.jobStore)) unsubscribe = deps.jobStore.onRunnable(() => worker?.wake())
      },
      async stop() {
        unsubscribe?.()
        unsubscribe = undefined
        // SLUICE_SHUTDOWN_GRACE_MS: how long running attempts may finish before they are released.
        await worker?.stop(envInt(env, 'SLUICE_SHUTDOWN_GRACE_MS', 0))
        worker = undefined
      },
    })
  }
  if (options.scheduler !== false) {
    services.push({
      name: 'scheduler',
      async start(deps) {
        scheduler = new Scheduler({
          configStore: deps.configStore,
          jobStore: deps.jobStore,
          logger: deps.logger.child({ component: 'scheduler' }),
          tickMs: envInt(env, 'SLUICE_SCHEDULER_TICK_MS', 5000, 100),
          newConnectionGraceMs: envInt(env, 'SLUICE_SCHEDULER_NEW_CONNECTION_GRACE_MS', NEW_CONNECTION_GRACE_MS),
          onJobCreated: () => worker?.wake(),
        })
        scheduler.start()
      },
      async stop() {
        await scheduler?.stop()
        scheduler = undefined
      },
    })
  }
  return services
}
