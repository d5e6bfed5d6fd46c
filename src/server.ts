import { isIP } from 'node:net'
import { join, resolve } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { destination, pino, type Logger } from 'pino'
import { createApp } from './api/app.js'
import type { ApiDeps } from './api/deps.js'
import { sluiceVersion } from './api/version.js'
import { newWorkspaceRecord } from './api/workspace-records.js'
import type { ConnectorContext } from './protocol/index.js'
import { builtinDefinitions } from './connectors/builtin-definitions.js'
import { ConnectorRegistry } from './connectors/registry.js'
import { customDefinitionsRefresher, customDefinitionsService } from './custom-definitions.js'
import { envInt } from './env-settings.js'
import { metricsExposureFromEnv, SluiceMetrics } from './metrics/index.js'
import { loadSecretKey, SecretService } from './secrets/secret-service.js'
import { openStores, type OpenedStores } from './store/open-stores.js'
import { createJobServices } from './job-services.js'

export { createApp } from './api/app.js'

/**
 * A long-running part of the server (worker, scheduler, ...). Started after the store opens and
 * the app is built, stopped (in reverse order) before the store closes.
 */
export interface SluiceService {
  name: string
  start(deps: ApiDeps): Promise<void> | void
  stop(): Promise<void> | void
}

export interface StartSluiceOptions {
  /** Default 127.0.0.1. */
  host?: string
  /** Default 8001; 0 picks a free port. */
  port?: number
  /** Default `SLUICE_DATA_DIR` or `./.sluice`. */
  dataDir?: string
  /** Environment to read SLUICE_* settings from (default process.env). */
  env?: NodeJS.ProcessEnv
  /** Default: pino JSON to stderr at SLUICE_LOG_LEVEL (default info). */
  logger?: Logger
  /** Extra services to start beside the built-in ones (tests). */
  services?: SluiceService[]
  /** postgres:// URL of a shared store for scale-out (default `SLUICE_DATABASE_URL`); unset: embedded SQLite. */
  databaseUrl?: string
  /** Run a worker in this process (default true; `sluice serve --no-worker` for API-only processes). */
  worker?: boolean
}

export interface RunningSluice {
  /** e.g. http://127.0.0.1:8001 */
  url: string
  port: number
  dataDir: string
  deps: ApiDeps
  app: FastifyInstance
  /** Stops services, the HTTP server and the store; safe to call twice. */
  close(): Promise<void>
}

/** Never log a secret: request bodies are never logged, and these paths are redacted anyway. */
export const LOG_REDACT_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'body',
  'req.body',
  '*.password',
  '*.connectionConfiguration',
  'connectionConfiguration',
]

/** The process logger: JSON lines on stderr (data goes to stdout). */
export function createLogger(env: NodeJS.ProcessEnv = process.env): Logger {
  return pino({ level: env.SLUICE_LOG_LEVEL ?? 'info', redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' } }, destination(2))
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true
  if (isIP(host) === 4) return host.startsWith('127.')
  return host === '::1' || host === '[::1]'
}

/** Server settings connectors see; `SLUICE_LOCAL_ROOT` overrides the Local Files root. */
export function connectorContext(dataDir: string, env: NodeJS.ProcessEnv = process.env): ConnectorContext {
  return { dataDir, localFilesRoot: resolve(env.SLUICE_LOCAL_ROOT || join(dataDir, 'files')) }
}

/** Built-in services (worker, scheduler, custom definitions loader) in start order. */
function builtinServices(stores: OpenedStores, env: NodeJS.ProcessEnv, worker: boolean): SluiceService[] {
  // Custom manifest definitions load first: the worker may run syncs of those sources.
  return [customDefinitionsService(), ...createJobServices({ env, worker, singleProcessStore: stores.kind === 'sqlite' })]
}

/**
 * The composition root: opens the store in the data dir, builds the registry, secrets, app and
 * services, and listens. Creates the `default` workspace on first start.
 */
export async function startSluice(options: StartSluiceOptions = {}): Promise<RunningSluice> {
  const env = options.env ?? process.env
  const host = options.host ?? '127.0.0.1'
  const dataDir = resolve(options.dataDir ?? (env.SLUICE_DATA_DIR || '.sluice'))
  const logger = options.logger ?? createLogger(env)
  const apiToken = env.SLUICE_API_TOKEN || undefined
  const authLimits = { maxFailures: envInt(env, 'SLUICE_AUTH_MAX_FAILURES', 10, 1), windowMs: envInt(env, 'SLUICE_AUTH_WINDOW_SECONDS', 60, 1) * 1000 }
  if (!apiToken && !isLoopbackHost(host)) {
    logger.warn({ host }, `sluice is listening on ${host} without authentication: anyone who can reach it can read and change connections. Set SLUICE_API_TOKEN.`)
  }

  // Before the store opens: a bad SLUICE_METRICS stops the start with nothing to undo.
  const metricsExposure = metricsExposureFromEnv(env)
  // The store first: on SQLite it takes the data directory's lock, so a second process is
  // refused before it reads or creates anything there (the secret key included).
  const stores = await openStores(dataDir, options.databaseUrl ?? env.SLUICE_DATABASE_URL, logger)
  let secrets: SecretService
  try {
    secrets = new SecretService(loadSecretKey({ dataDir, envKey: env.SLUICE_SECRET_KEY }))
  } catch (e) {
    await stores.close()
    throw e
  }
  if (stores.kind === 'sqlite' && options.worker === false) {
    logger.warn('--no-worker on the embedded SQLite store: no process can run jobs (only one process may open it). Use SLUICE_DATABASE_URL to run workers apart.')
  }
  if (stores.kind === 'postgres' && !env.SLUICE_SECRET_KEY) {
    logger.warn('SLUICE_SECRET_KEY is not set: every process sharing this database must use the same key, or it cannot decrypt connector secrets.')
  }
  const deps: ApiDeps = {
    configStore: stores.configStore,
    jobStore: stores.jobStore,
    workers: stores.workers,
    registry: new ConnectorRegistry(builtinDefinitions()),
    secrets,
    context: connectorContext(dataDir, env),
    logger,
    apiToken,
    authLimits,
    metrics: new SluiceMetrics({ version: sluiceVersion() }),
    metricsExposure,
  }
  // Other API processes on the same database may add custom definitions at any time.
  if (stores.kind === 'postgres') deps.refreshDefinitions = customDefinitionsRefresher(stores.configStore, deps.registry, logger)
  const started: SluiceService[] = []
  let app: FastifyInstance | undefined
  const close = async (): Promise<void> => {
    for (const service of started.splice(0).reverse()) {
      try {
        await service.stop()
      } catch (err) {
        logger.error({ err, service: service.name }, 'service failed to stop')
      }
    }
    if (app) await app.close()
    app = undefined
    await stores.close()
  }
  try {
    // Several API processes may start at once on a shared store: one creates the workspace.
    await stores.exclusive(() => ensureDefaultWorkspace(deps))
    app = await createApp(deps)
    // Listen before the services start: a port already in use must stop this process before
    // its worker recovers (and re-runs) attempts it believes orphaned.
    await app.listen({ host, port: options.port ?? 8001 })
    for (const service of [...builtinServices(stores, env, options.worker !== false), ...(options.services ?? [])]) {
      await service.start(deps)
      started.push(service)
    }
  } catch (e) {
    await close()
    throw e
  }
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 8001)
  const urlHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
  logger.info({ url: `http://${urlHost}:${port}`, dataDir }, 'sluice listening')
  return { url: `http://${urlHost}:${port}`, port, dataDir, deps, app, close }
}

/** Creates the `default` workspace (name and slug "default") when no workspace exists. */
export async function ensureDefaultWorkspace(deps: Pick<ApiDeps, 'configStore'>): Promise<void> {
  const existing = await deps.configStore.listWorkspaces({ includeTombstone: true })
  if (existing.length > 0) return
  await deps.configStore.putWorkspace(newWorkspaceRecord({ name: 'default', slug: 'default' }))
}
