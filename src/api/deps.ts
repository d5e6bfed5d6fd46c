import type { Logger } from 'pino'
import type { FailedAuthLimits } from './failed-auth-limiter.js'
import type { ConnectorContext } from '../protocol/index.js'
import type { ConnectorRegistry } from '../connectors/registry.js'
import type { MetricsExposure, SluiceMetrics } from '../metrics/index.js'
import type { SecretService } from '../secrets/secret-service.js'
import type { ConfigStore } from '../store/config-store.js'
import type { JobStore } from '../store/job-store.js'
import type { WorkerRegistry } from '../store/worker-registry.js'

/** Everything the HTTP layer needs; built once by the composition root (src/server.ts). */
export interface ApiDeps {
  configStore: ConfigStore
  jobStore: JobStore
  registry: ConnectorRegistry
  secrets: SecretService
  /** Passed to connectors on check/discover (and by the worker on sync). */
  context: ConnectorContext
  logger: Logger
  /** When set, every call except health needs this token (Bearer, or Basic password). */
  apiToken?: string | undefined
  /** Failed authentications allowed per client address (SLUICE_AUTH_MAX_FAILURES per SLUICE_AUTH_WINDOW_SECONDS). */
  authLimits?: FailedAuthLimits | undefined
  /** Live worker processes (shared PostgreSQL store); without it workers/list derives them from running attempts. */
  workers?: WorkerRegistry | undefined
  /**
   * Shared store only: brings the registry up to date with custom definitions other API
   * processes added; the app calls it before each request.
   */
  refreshDefinitions?: (() => Promise<void>) | undefined
  /** This process's metrics (default: a registry of the app's own, without process metrics); the embedded worker records into the same one. */
  metrics?: SluiceMetrics | undefined
  /** Who may read `GET /metrics` (SLUICE_METRICS; default `public`, like health). */
  metricsExposure?: MetricsExposure | undefined
  /** Clock in epoch ms for time-based readings such as the queue age of `/metrics` (tests inject one; default Date.now). */
  now?: (() => number) | undefined
  /** Time limits of synchronous connector calls, in ms (defaults: check 60 s, discover 5 min). */
  timeouts?: { checkMs?: number; discoverMs?: number } | undefined
}
