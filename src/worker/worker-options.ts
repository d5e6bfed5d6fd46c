import type { Logger } from 'pino'
import { envInt } from '../env-settings.js'
import type { ConnectorRegistry } from '../connectors/registry.js'
import type { AttemptInput, AttemptResult } from '../engine/types.js'
import type { ConnectorContext } from '../protocol/index.js'
import type { SecretService } from '../secrets/secret-service.js'
import type { ConfigStore } from '../store/config-store.js'
import type { JobStore } from '../store/job-store.js'
import type { WorkerMetrics } from '../metrics/index.js'
import { retryPolicyFromEnv, type RetryPolicy } from './retry-policy.js'
import type { StoreRetryOptions } from './store-retry.js'
import { Notifier } from '../notifications/notifier.js'
import { DEFAULT_ATTEMPT_LOG_MAX_BYTES, MIN_ATTEMPT_LOG_MAX_BYTES } from './attempt-log.js'

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
  webhookRetry?: WebhookRetry
  /**
   * Discover the source and apply schema changes before a sync at most once per this many hours
   * per connection (default 24, Airbyte's self-managed default; 0: before every sync).
   */
  schemaCheckIntervalHours?: number
  /** Sends the workspaces' sync notifications (success, failure, auto-disable); none: not sent. */
  notifier?: Notifier
  /** Retries of the store call that records an attempt's end (default 5 tries, 0.2 s doubling to 5 s). */
  storeRetry?: Pick<StoreRetryOptions, 'attempts' | 'delayMs'>
  /** Where attempts, records, claims and lease expiries are counted (the process's /metrics); none: not counted. */
  metrics?: WorkerMetrics
  /** Size cap of one attempt's stored log, UTF-8 bytes; past it the oldest lines go (default 10 MiB). */
  attemptLogMaxBytes?: number
}

/** Tries per webhook operation and the wait before retry n. */
export interface WebhookRetry {
  attempts: number
  backoffMs: (retry: number) => number
}

/**
 * The notifier of a worker process: Slack-compatible webhooks, SLUICE_NOTIFICATION_ATTEMPTS
 * tries each (default 3), SLUICE_NOTIFICATION_BACKOFF_MS apart (default 1000, growing).
 */
export function notifierFromEnv(env: NodeJS.ProcessEnv, logger: Logger): Notifier {
  const backoff = envInt(env, 'SLUICE_NOTIFICATION_BACKOFF_MS', 1000)
  return new Notifier(logger, { attempts: envInt(env, 'SLUICE_NOTIFICATION_ATTEMPTS', 3, 1), backoffMs: (n) => Math.min(5, n) * backoff })
}

/**
 * Worker settings from the environment: SLUICE_WORKER_CONCURRENCY (2), SLUICE_WORKER_POLL_MS
 * (500), SLUICE_WORKER_LEASE_MS (30000), SLUICE_WORKER_HEARTBEAT_MS (1000),
 * SLUICE_AUTO_DISABLE_FAILED_JOBS (30), SLUICE_AUTO_DISABLE_FAILED_DAYS (7),
 * SLUICE_SCHEMA_CHECK_INTERVAL_HOURS (24), SLUICE_ATTEMPT_LOG_MAX_BYTES (10 MiB) and the retry
 * settings of {@link retryPolicyFromEnv}.
 */
export function workerOptionsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Pick<
  WorkerOptions,
  | 'concurrency'
  | 'pollIntervalMs'
  | 'leaseMs'
  | 'heartbeatMs'
  | 'retry'
  | 'autoDisableAfterFailedJobs'
  | 'autoDisableAfterFailedDays'
  | 'webhookRetry'
  | 'schemaCheckIntervalHours'
  | 'attemptLogMaxBytes'
> {
  const webhookBackoff = envInt(env, 'SLUICE_WEBHOOK_BACKOFF_MS', 1000)
  return {
    autoDisableAfterFailedJobs: envInt(env, 'SLUICE_AUTO_DISABLE_FAILED_JOBS', 30),
    autoDisableAfterFailedDays: envInt(env, 'SLUICE_AUTO_DISABLE_FAILED_DAYS', 7),
    schemaCheckIntervalHours: envInt(env, 'SLUICE_SCHEMA_CHECK_INTERVAL_HOURS', 24),
    concurrency: envInt(env, 'SLUICE_WORKER_CONCURRENCY', 2, 1),
    pollIntervalMs: envInt(env, 'SLUICE_WORKER_POLL_MS', 500, 10),
    leaseMs: envInt(env, 'SLUICE_WORKER_LEASE_MS', 30_000, 1000),
    heartbeatMs: envInt(env, 'SLUICE_WORKER_HEARTBEAT_MS', 1000, 50),
    retry: retryPolicyFromEnv(env),
    webhookRetry: { attempts: envInt(env, 'SLUICE_WEBHOOK_ATTEMPTS', 4, 1), backoffMs: (n) => Math.min(5, n) * webhookBackoff },
    attemptLogMaxBytes: envInt(env, 'SLUICE_ATTEMPT_LOG_MAX_BYTES', DEFAULT_ATTEMPT_LOG_MAX_BYTES, MIN_ATTEMPT_LOG_MAX_BYTES),
  }
}
