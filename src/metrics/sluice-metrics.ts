import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { FailureType } from '../errors.js'
import type { JobConfigType } from '../store/job-store.js'

/** How an attempt ended, as the attempt metrics label it. */
export type AttemptEnd = 'succeeded' | 'failed' | 'cancelled'

/** What the worker reports when an attempt ends (see {@link SluiceMetrics.attemptEnded}). */
export interface AttemptEndedSample {
  jobType: JobConfigType
  status: AttemptEnd
  /** Set when `status` is `failed`: the failure type that decides the retry. */
  failureType?: FailureType
  durationMs: number
}

/**
 * What a worker records (src/worker takes this, not the whole {@link SluiceMetrics}): attempts
 * started and ended, records committed, claim round trips, lease expiries and its busy slots.
 */
export interface WorkerMetrics {
  attemptStarted(jobType: JobConfigType, waitedMs?: number): void
  attemptEnded(sample: AttemptEndedSample): void
  recordsCommitted(connectionId: string, records: number, bytes: number): void
  claimObserved(durationMs: number): void
  leasesExpired(count?: number): void
  attemptsRunning(count: number): void
}

/** Options of {@link SluiceMetrics}. */
export interface SluiceMetricsOptions {
  /**
   * Adds Node's process metrics (CPU, RSS, heap, event loop lag, GC). Default true. Create one
   * such set per process: prom-client starts an event-loop monitor for each that never stops.
   */
  processMetrics?: boolean
  /** Value of the `version` label of `sluice_build_info`. */
  version?: string
}

// Syncs last seconds to hours; API calls milliseconds to minutes (discover may take 5 min).
const ATTEMPT_BUCKETS_S = [1, 5, 15, 30, 60, 120, 300, 600, 1_800, 3_600, 7_200, 21_600]
const REQUEST_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]
// bench/claims.ts: claim p50 1-8 ms, p99 up to 30 ms under load.
const CLAIM_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5]
const QUEUE_WAIT_BUCKETS_S = [0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 3_600]

/**
 * The metrics of one process, in a registry of its own: tests build several apps in one process,
 * and prom-client's global registry refuses a second metric of the same name. The API records
 * request latency; the worker calls the attempt, record, claim and lease methods. Scrape-time
 * gauges read from the store live in {@link StoreGauges}, registered on the same registry.
 */
export class SluiceMetrics implements WorkerMetrics {
  readonly registry = new Registry()
  readonly #requestDuration: Histogram<'method' | 'route' | 'status_code'>
  readonly #attemptsStarted: Counter<'type'>
  readonly #attemptsEnded: Counter<'type' | 'status'>
  readonly #attemptsFailed: Counter<'type' | 'failure_type'>
  readonly #attemptDuration: Histogram<'type' | 'status'>
  readonly #queueWait: Histogram<'type'>
  readonly #records: Counter<'connection_id'>
  readonly #bytes: Counter<'connection_id'>
  readonly #claimDuration: Histogram
  readonly #leaseExpiries: Counter
  readonly #attemptsRunning: Gauge

  constructor(options: SluiceMetricsOptions = {}) {
    const registers = [this.registry]
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry })
    new Gauge({ name: 'sluice_build_info', help: 'Always 1; the version label says which sluice this process runs.', labelNames: ['version'], registers }).set(
      { version: options.version ?? 'unknown' },
      1,
    )
    this.#requestDuration = new Histogram({
      name: 'sluice_http_request_duration_seconds',
      help: 'API request latency by route pattern (not the raw URL), method and status code.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: REQUEST_BUCKETS_S,
      registers,
    })
    this.#attemptsStarted = new Counter({ name: 'sluice_attempts_started_total', help: 'Attempts this process started, by job type.', labelNames: ['type'], registers })
    this.#attemptsEnded = new Counter({
      name: 'sluice_attempts_ended_total',
      help: 'Attempts this process ended, by job type and outcome (succeeded, failed, cancelled).',
      labelNames: ['type', 'status'],
      registers,
    })
    this.#attemptsFailed = new Counter({
      name: 'sluice_attempts_failed_total',
      help: 'Failed attempts by job type and failure type (only transient_error is retried).',
      labelNames: ['type', 'failure_type'],
      registers,
    })
    this.#attemptDuration = new Histogram({
      name: 'sluice_attempt_duration_seconds',
      help: 'Attempt wall time from claim to end, by job type and outcome.',
      labelNames: ['type', 'status'],
      buckets: ATTEMPT_BUCKETS_S,
      registers,
    })
    this.#queueWait = new Histogram({
      name: 'sluice_job_queue_wait_seconds',
      help: 'Time a job waited runnable before a worker claimed it, by job type.',
      labelNames: ['type'],
      buckets: QUEUE_WAIT_BUCKETS_S,
      registers,
    })
    this.#records = new Counter({ name: 'sluice_records_total', help: 'Records the destination committed, per connection.', labelNames: ['connection_id'], registers })
    this.#bytes = new Counter({ name: 'sluice_bytes_total', help: 'Bytes the destination committed, per connection.', labelNames: ['connection_id'], registers })
    this.#claimDuration = new Histogram({ name: 'sluice_claim_duration_seconds', help: 'Duration of one claim of the next job (the store round trip).', buckets: CLAIM_BUCKETS_S, registers })
    this.#leaseExpiries = new Counter({
      name: 'sluice_lease_expiries_total',
      help: 'Attempts this process found with an expired lease (their worker died) and recovered.',
      registers,
    })
    this.#attemptsRunning = new Gauge({ name: 'sluice_attempts_running', help: "Attempts this process's worker runs now (0 without a worker).", registers })
  }

  /** One API request ended; `route` is the route pattern (e.g. `/api/v1/jobs/get`), never the raw URL. */
  requestEnded(method: string, route: string, statusCode: number, durationMs: number): void {
    this.#requestDuration.observe({ method, route, status_code: String(statusCode) }, durationMs / 1000)
  }

  /** A worker claimed a job and starts its attempt; `waitedMs` is how long the job was runnable before. */
  attemptStarted(jobType: JobConfigType, waitedMs?: number): void {
    this.#attemptsStarted.inc({ type: jobType })
    if (waitedMs !== undefined) this.#queueWait.observe({ type: jobType }, Math.max(0, waitedMs) / 1000)
  }

  /** An attempt ended: counts it by outcome (and failure type) and observes its duration. */
  attemptEnded(sample: AttemptEndedSample): void {
    this.#attemptsEnded.inc({ type: sample.jobType, status: sample.status })
    if (sample.status === 'failed') this.#attemptsFailed.inc({ type: sample.jobType, failure_type: sample.failureType ?? 'system_error' })
    this.#attemptDuration.observe({ type: sample.jobType, status: sample.status }, Math.max(0, sample.durationMs) / 1000)
  }

  /** Records and bytes a destination made durable for a connection (call at each committed state). */
  recordsCommitted(connectionId: string, records: number, bytes: number): void {
    if (records > 0) this.#records.inc({ connection_id: connectionId }, records)
    if (bytes > 0) this.#bytes.inc({ connection_id: connectionId }, bytes)
  }

  /** One claim round trip took `durationMs` (whether or not it found a job). */
  claimObserved(durationMs: number): void {
    this.#claimDuration.observe(Math.max(0, durationMs) / 1000)
  }

  /** This process recovered `count` attempts whose lease had expired. */
  leasesExpired(count = 1): void {
    if (count > 0) this.#leaseExpiries.inc(count)
  }

  /** The worker of this process now runs `count` attempts. */
  attemptsRunning(count: number): void {
    this.#attemptsRunning.set(count)
  }

  /** The exposition text and its content type, for `GET /metrics`. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }
}
