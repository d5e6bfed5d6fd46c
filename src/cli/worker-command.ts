import { hostname } from 'node:os'
import { randomUUID } from 'node:crypto'
import { resolve } from 'node:path'
import { Command, InvalidArgumentError } from 'commander'
import type { Logger } from 'pino'
import { builtinDefinitions } from '../connectors/builtin-definitions.js'
import { ConnectorRegistry } from '../connectors/registry.js'
import { loadCustomDefinitions } from '../custom-definitions.js'
import { sluiceVersion } from '../api/version.js'
import { envInt } from '../env-settings.js'
import { SluiceError } from '../errors.js'
import { metricsExposureFromEnv, SluiceMetrics } from '../metrics/index.js'
import { loadSecretKey, SecretService } from '../secrets/secret-service.js'
import { connectorContext, createLogger } from '../server.js'
import type { ClaimedAttempt, JobStore } from '../store/job-store.js'
import { isPostgresUrl, openPostgresStores, redactDatabaseUrl, type PostgresStores } from '../store/postgres/index.js'
import { notifierFromEnv, workerOptionsFromEnv } from '../worker/worker-options.js'
import { Worker } from '../worker/worker.js'
import { startWorkerMetricsListener, type WorkerMetricsListener } from './worker-metrics-listener.js'

/** Settings of a worker process; the CLI fills them from flags and SLUICE_* variables. */
export interface WorkerProcessOptions {
  /** postgres:// URL of the shared control plane. */
  databaseUrl: string
  /** Attempts run at the same time (default SLUICE_WORKER_CONCURRENCY or 2). */
  concurrency?: number
  /** Lease of a claimed attempt in ms (default 20 s, or SLUICE_WORKER_LEASE_MS): a dead worker's job moves on within about 1.5 leases of its last heartbeat. */
  leaseMs?: number
  /** Heartbeat and cancel check period in ms (default SLUICE_WORKER_HEARTBEAT_MS or 1 s). */
  heartbeatMs?: number
  /** Polling fallback when no NOTIFY arrives, in ms (default 2 s, or SLUICE_WORKER_POLL_MS). */
  pollIntervalMs?: number
  /** Default `SLUICE_DATA_DIR` or `./.sluice` (secret key file, Local Files root). */
  dataDir?: string
  env?: NodeJS.ProcessEnv
  logger?: Logger
  /** Connector registry (default: the built-in connectors). */
  registry?: ConnectorRegistry
  /**
   * Serves `GET /metrics` on this port (0: any free port; default SLUICE_METRICS_PORT; none:
   * no listener). SLUICE_METRICS decides who may read it, as on the API (`off`: no listener).
   */
  metricsPort?: number
  /** Address of the metrics listener (default SLUICE_METRICS_HOST or 127.0.0.1). */
  metricsHost?: string
}

export interface RunningWorkerProcess {
  workerId: string
  concurrency: number
  /** Where this process serves its metrics, when it does. */
  metricsUrl: string | undefined
  stores: PostgresStores
  /**
   * Graceful stop: no new claims, running attempts get up to `graceMs` to finish, the rest are
   * aborted and released (their jobs become runnable at once, from the last saved state).
   */
  shutdown(graceMs: number): Promise<void>
}

/** How often the worker row in the registry is refreshed (workers/list staleness is 30 s). */
const REGISTRY_BEAT_MS = 5_000

/**
 * Runs a worker against the shared PostgreSQL store: registers it, wakes it on NOTIFY (polling
 * stays as the fallback), and keeps its registry row fresh. The job loop itself is the same
 * Worker that runs inside `sluice serve`.
 */
export async function startWorkerProcess(options: WorkerProcessOptions): Promise<RunningWorkerProcess> {
  const env = options.env ?? process.env
  const logger = options.logger ?? createLogger(env)
  const dataDir = resolve(options.dataDir ?? (env.SLUICE_DATA_DIR || '.sluice'))
  if (!isPostgresUrl(options.databaseUrl)) {
    throw new SluiceError(
      'SLUICE_ERR_INVALID_INPUT',
      'sluice worker needs a shared PostgreSQL store: pass --database-url postgres://... or set SLUICE_DATABASE_URL.',
    )
  }
  if (!env.SLUICE_SECRET_KEY) {
    logger.warn('SLUICE_SECRET_KEY is not set: every process sharing this database must use the same key, or it cannot decrypt connector secrets.')
  }
  const secrets = new SecretService(loadSecretKey({ dataDir, envKey: env.SLUICE_SECRET_KEY }))
  const fromEnv = workerOptionsFromEnv(env)
  const concurrency = options.concurrency ?? fromEnv.concurrency ?? 2
  // Shorter than the embedded default so a dead worker's job moves on well within a minute.
  const leaseMs = options.leaseMs ?? (env.SLUICE_WORKER_LEASE_MS ? (fromEnv.leaseMs ?? 20_000) : 20_000)
  const heartbeatMs = options.heartbeatMs ?? fromEnv.heartbeatMs ?? 1_000
  if (leaseMs < 3 * heartbeatMs) {
    // One late heartbeat must not cost the lease: another worker would take over a live attempt.
    throw new SluiceError('SLUICE_ERR_INVALID_INPUT', `The lease (${leaseMs} ms) must be at least 3 heartbeats (${3 * heartbeatMs} ms).`)
  }
  // Before the store: a bad SLUICE_METRICS or a port in use stops the start with little to undo.
  const metricsExposure = metricsExposureFromEnv(env)
  const metricsPort = options.metricsPort ?? (env.SLUICE_METRICS_PORT ? envInt(env, 'SLUICE_METRICS_PORT', 0) : undefined)
  let metrics: SluiceMetrics | undefined
  let listener: WorkerMetricsListener | undefined
  if (metricsPort !== undefined && metricsExposure !== 'off') {
    metrics = new SluiceMetrics({ version: sluiceVersion() })
    listener = await startWorkerMetricsListener({
      metrics,
      host: options.metricsHost ?? (env.SLUICE_METRICS_HOST || '127.0.0.1'),
      port: metricsPort,
      exposure: metricsExposure,
      apiToken: env.SLUICE_API_TOKEN || undefined,
      authLimits: { maxFailures: envInt(env, 'SLUICE_AUTH_MAX_FAILURES', 10, 1), windowMs: envInt(env, 'SLUICE_AUTH_WINDOW_SECONDS', 60, 1) * 1000 },
    })
  }
  if (metricsPort !== undefined && metricsExposure === 'off') logger.warn('SLUICE_METRICS=off: the worker serves no metrics, whatever the metrics port.')
  let stores: PostgresStores
  try {
    stores = await openPostgresStores({ url: options.databaseUrl, applicationName: 'sluice-worker', maxConnections: concurrency + 4, logger })
  } catch (e) {
    await listener?.close()
    throw e
  }
  const workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
  const registry = options.registry ?? new ConnectorRegistry(builtinDefinitions())
  // Custom definitions (manifests, connector images) live in the database and may be added by any
  // API process after this worker started: load them now, and again when a claimed job needs one
  // we lack.
  const loadDefinitions = (): Promise<number> => loadCustomDefinitions(stores.configStore, registry, logger)
  const jobStore = withClaimHook(stores.jobStore, async (claimed) => {
    const connection = await stores.configStore.getConnection(claimed.job.configId)
    if (!connection) return
    const source = await stores.configStore.getActor('source', connection.sourceId)
    const destination = await stores.configStore.getActor('destination', connection.destinationId)
    if ((source && !registry.getSource(source.definitionId)) || (destination && !registry.getDestination(destination.definitionId))) await loadDefinitions()
  })
  const worker = new Worker({
    ...fromEnv,
    jobStore,
    configStore: stores.configStore,
    registry,
    secrets,
    context: connectorContext(dataDir, env),
    logger,
    notifier: notifierFromEnv(env, logger),
    workerId,
    concurrency,
    leaseMs,
    heartbeatMs,
    // NOTIFY wakes idle slots at once; polling only covers retries coming due and lost notifications.
    pollIntervalMs: options.pollIntervalMs ?? (env.SLUICE_WORKER_POLL_MS ? fromEnv.pollIntervalMs : 2_000),
    // Other workers may be running: only attempts whose lease expired are theirs to recover.
    recoverAllOnStart: false,
    ...(metrics ? { metrics } : {}),
  })
  let unsubscribe: (() => void) | undefined
  let beat: NodeJS.Timeout | undefined
  try {
    await loadDefinitions()
    await stores.workers.register({ workerId, hostname: hostname(), pid: process.pid, concurrency })
    unsubscribe = await stores.events.subscribe((event) => {
      if (event.type === 'runnable' || event.type === 'reconnected') worker.wake()
    })
    await worker.start()
    beat = setInterval(() => {
      stores.workers.beat(workerId).catch((err: unknown) => logger.warn({ err }, 'worker registry heartbeat failed'))
    }, REGISTRY_BEAT_MS)
    beat.unref()
  } catch (e) {
    unsubscribe?.()
    await worker.stop().catch(() => {})
    await stores.workers.deregister(workerId).catch(() => {})
    await stores.close()
    await listener?.close()
    throw e
  }
  logger.info({ workerId, concurrency, database: redactDatabaseUrl(options.databaseUrl), metrics: listener?.url }, 'sluice worker started')

  let stopping: Promise<void> | undefined
  const shutdown = (graceMs: number): Promise<void> => {
    stopping ??= (async () => {
      unsubscribe?.()
      if (beat) clearInterval(beat)
      await stores.workers.beat(workerId, 'stopping').catch(() => {})
      logger.info({ workerId, graceMs }, 'worker stopping: no new claims, running attempts may finish')
      await worker.stop(graceMs)
      await stores.workers.deregister(workerId).catch(() => {})
      await stores.close()
      // Last: the drain stays visible to scrapes until the worker is gone.
      await listener?.close()
      logger.info({ workerId }, 'worker stopped')
    })()
    return stopping
  }
  return { workerId, concurrency, metricsUrl: listener?.url, stores, shutdown }
}

/**
 * The job store the Worker uses, with `onClaimed` run on each claimed attempt before the Worker
 * sees it. A failure of the hook must not strand the claimed attempt: the Worker then reports
 * whatever is missing as the attempt's failure.
 */
function withClaimHook(inner: JobStore, onClaimed: (claimed: ClaimedAttempt) => Promise<void>): JobStore {
  const claimNext: JobStore['claimNext'] = async (workerId, leaseMs, now) => {
    const claimed = await inner.claimNext(workerId, leaseMs, now)
    if (claimed) await onClaimed(claimed).catch(() => undefined)
    return claimed
  }
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'claimNext') return claimNext
      const value = Reflect.get(target, prop, receiver) as unknown
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

function positiveInt(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer.')
  return n
}

function portNumber(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError('must be a port number from 0 to 65535 (0: any free port).')
  return n
}

function positiveNumber(value: string): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number of seconds >= 0.')
  return n
}

/** `sluice worker`: runs sync attempts claimed from a shared PostgreSQL store, until SIGTERM. */
export function workerCommand(): Command {
  return new Command('worker')
    .description('run a worker process: claims and runs sync jobs from a shared PostgreSQL store (scale out)')
    .option('--database-url <url>', 'postgres:// URL of the shared store (default: $SLUICE_DATABASE_URL)')
    .option('--concurrency <n>', 'attempts run at the same time (default: $SLUICE_WORKER_CONCURRENCY or 2)', positiveInt)
    .option('--lease <seconds>', 'lease of a claimed attempt; a dead worker\'s job moves on within about 1.5 leases (default 20)', positiveNumber)
    .option('--shutdown-grace <seconds>', 'on SIGTERM, how long running attempts may finish before they are released (default 60)', positiveNumber)
    .option('--data-dir <dir>', 'data directory (default: $SLUICE_DATA_DIR or ./.sluice)')
    .option('--metrics-port <port>', 'serve GET /metrics on this port (default: $SLUICE_METRICS_PORT; none: no listener)', portNumber)
    .option('--metrics-host <host>', 'address of the metrics listener (default: $SLUICE_METRICS_HOST or 127.0.0.1)')
    .action(async (opts: { databaseUrl?: string; concurrency?: number; lease?: number; shutdownGrace?: number; dataDir?: string; metricsPort?: number; metricsHost?: string }) => {
      const env = process.env
      const databaseUrl = opts.databaseUrl ?? env.SLUICE_DATABASE_URL ?? ''
      const running = await startWorkerProcess({
        databaseUrl,
        ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
        ...(opts.lease !== undefined ? { leaseMs: opts.lease * 1000 } : {}),
        ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
        ...(opts.metricsPort !== undefined ? { metricsPort: opts.metricsPort } : {}),
        ...(opts.metricsHost ? { metricsHost: opts.metricsHost } : {}),
        env,
      })
      if (running.metricsUrl) process.stdout.write(`sluice worker metrics on ${running.metricsUrl}\n`)
      // Machine-readable line on stdout, like `sluice serve`.
      process.stdout.write(`sluice worker ${running.workerId} running (concurrency ${running.concurrency})\n`)
      const graceMs = (opts.shutdownGrace ?? 60) * 1000
      const stop = (): void => {
        running.shutdown(graceMs).then(
          () => process.exit(0),
          () => process.exit(1),
        )
      }
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    })
}
