import type { Logger } from 'pino'
import type { ConnectorRegistry } from './connectors/registry.js'
import { envInt } from './env-settings.js'
import type { ConnectorContext } from './protocol/index.js'
import { NEW_CONNECTION_GRACE_MS, Scheduler } from './scheduler/scheduler.js'
import { RetentionSweeper, retentionFromEnv } from './scheduler/retention-sweeper.js'
import type { SecretService } from './secrets/secret-service.js'
import type { ConfigStore } from './store/config-store.js'
import type { JobStore } from './store/job-store.js'
import type { WorkerMetrics } from './metrics/index.js'
import { Worker } from './worker/worker.js'
import { notifierFromEnv, workerOptionsFromEnv } from './worker/worker-options.js'

/** What the services need from the server's dependencies (a subset of ApiDeps). */
export interface JobServiceDeps {
  configStore: ConfigStore
  jobStore: JobStore
  registry: ConnectorRegistry
  secrets: SecretService
  context: ConnectorContext
  logger: Logger
  /** The process's metrics (served at /metrics); the embedded worker records into them. */
  metrics?: WorkerMetrics | undefined
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

export interface JobServicesOptions {
  env?: NodeJS.ProcessEnv
  /** Run the worker (default true). */
  worker?: boolean
  /** Run the scheduler and the retention sweep (default true). */
  scheduler?: boolean
  /**
   * The store is embedded and single-process (SQLite): at start every running attempt belongs
   * to a dead process and is recovered at once, without waiting for its lease to expire.
   */
  singleProcessStore?: boolean
}

/**
 * The worker and the scheduler as server services. This composition lives above both folders:
 * the worker and the scheduler are peers that never import each other. A job the scheduler creates wakes the
 * worker at once. SLUICE_SCHEDULER_TICK_MS (5000) sets the scheduler's period,
 * SLUICE_SCHEDULER_NEW_CONNECTION_GRACE_MS (10000) the delay before a new basic-schedule
 * connection's first run. The retention sweep runs beside the scheduler (retentionFromEnv).
 */
export function createJobServices(options: JobServicesOptions = {}): JobService[] {
  const env = options.env ?? process.env
  let worker: Worker | undefined
  let scheduler: Scheduler | undefined
  let sweeper: RetentionSweeper | undefined
  let unsubscribe: (() => void) | undefined
  const services: JobService[] = []
  if (options.worker !== false) {
    services.push({
      name: 'worker',
      async start(deps) {
        const logger = deps.logger.child({ component: 'worker' })
        worker = new Worker({ ...deps, ...workerOptionsFromEnv(env), logger, notifier: notifierFromEnv(env, logger), recoverAllOnStart: options.singleProcessStore === true })
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
    services.push({
      name: 'retention',
      async start(deps) {
        sweeper = new RetentionSweeper({ jobStore: deps.jobStore, ...retentionFromEnv(env), logger: deps.logger.child({ component: 'retention' }) })
        sweeper.start()
      },
      async stop() {
        await sweeper?.stop()
        sweeper = undefined
      },
    })
  }
  return services
}
