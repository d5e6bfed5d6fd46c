import { Gauge, type Registry } from 'prom-client'
import { JOB_CONFIG_TYPES, JOB_STATUSES, type JobStore } from '../store/job-store.js'
import type { WorkerRegistry, WorkerStatus } from '../store/worker-registry.js'

/** Where the scrape-time gauges read from. */
export interface StoreGaugeSources {
  jobStore: Pick<JobStore, 'jobCounts'>
  /** The shared store's worker registry; without it, live workers are those with running attempts. */
  workers?: Pick<WorkerRegistry, 'list'> | undefined
  /** A registered worker silent for longer than this is dead and not counted. */
  staleAfterMs: number
  /** Clock in epoch ms (tests inject one). Default Date.now. */
  now?: () => number
}

const WORKER_STATUSES: readonly WorkerStatus[] = ['running', 'stopping']

/**
 * Gauges read from the store when Prometheus scrapes, so every API process reports the same
 * cluster-wide picture (queue depth, live workers) whatever it runs itself. `refresh()` sets them
 * all from one store snapshot; when the store cannot be read, `sluice_store_up` is 0, the labelled
 * store gauges are emptied and the queue gauges are NaN, rather than left at stale values.
 */
export class StoreGauges {
  readonly #sources: StoreGaugeSources
  readonly #up: Gauge
  readonly #jobs: Gauge<'status' | 'type'>
  readonly #queueDepth: Gauge
  readonly #queueAge: Gauge
  readonly #workers: Gauge<'status'>
  readonly #running: Gauge<'worker_id'>
  readonly #concurrency: Gauge<'worker_id'>

  constructor(registry: Registry, sources: StoreGaugeSources) {
    this.#sources = sources
    const registers = [registry]
    this.#up = new Gauge({ name: 'sluice_store_up', help: '1 when the last scrape could read the store, else 0.', registers })
    this.#jobs = new Gauge({ name: 'sluice_jobs', help: 'Jobs in the store by status and type.', labelNames: ['status', 'type'], registers })
    this.#queueDepth = new Gauge({
      name: 'sluice_queue_depth',
      help: 'Jobs waiting for a worker: pending, or incomplete with their retry due; cancel requests excluded.',
      registers,
    })
    this.#queueAge = new Gauge({
      name: 'sluice_queue_oldest_age_seconds',
      help: 'How long the longest-waiting queued job has been runnable (0 when the queue is empty).',
      registers,
    })
    this.#workers = new Gauge({ name: 'sluice_workers', help: 'Live workers by status (running, stopping).', labelNames: ['status'], registers })
    this.#running = new Gauge({ name: 'sluice_worker_running_attempts', help: 'Attempts each live worker is running.', labelNames: ['worker_id'], registers })
    this.#concurrency = new Gauge({
      name: 'sluice_worker_concurrency',
      help: 'Attempts each registered worker may run at once (sluice worker --concurrency).',
      labelNames: ['worker_id'],
      registers,
    })
  }

  /** Reads the store once and sets every gauge; never throws (a failed read shows as sluice_store_up 0). */
  async refresh(): Promise<void> {
    const now = (this.#sources.now ?? Date.now)()
    const read = await Promise.all([this.#sources.jobStore.jobCounts(now), this.#sources.workers?.list(this.#sources.staleAfterMs) ?? []]).catch(
      () => undefined,
    )
    if (!read) {
      for (const gauge of [this.#jobs, this.#workers, this.#running, this.#concurrency]) gauge.reset()
      // An unlabelled gauge is always exposed: NaN, so an empty queue is not read into a store outage.
      this.#queueDepth.set(Number.NaN)
      this.#queueAge.set(Number.NaN)
      this.#up.set(0)
      return
    }
    const [counts, registered] = read
    this.#up.set(1)
    // Every (status, type) pair is set, zeros included, so a series does not vanish when its count drops to 0.
    this.#jobs.reset()
    for (const status of JOB_STATUSES) for (const type of JOB_CONFIG_TYPES) this.#jobs.set({ status, type }, 0)
    for (const c of counts.byStatusAndType) this.#jobs.set({ status: c.status, type: c.configType }, c.count)
    this.#queueDepth.set(counts.queued)
    this.#queueAge.set(counts.oldestQueuedSince === undefined ? 0 : Math.max(0, now - counts.oldestQueuedSince) / 1000)

    // Registered workers (sluice worker), then those known only through running attempts (embedded in serve).
    this.#workers.reset()
    this.#running.reset()
    this.#concurrency.reset()
    const byStatus = new Map<WorkerStatus, number>(WORKER_STATUSES.map((s) => [s, 0]))
    const running = new Map(counts.runningAttemptsByWorker.map((w) => [w.workerId, w.count]))
    for (const w of registered) {
      byStatus.set(w.status, (byStatus.get(w.status) ?? 0) + 1)
      this.#running.set({ worker_id: w.workerId }, running.get(w.workerId) ?? 0)
      this.#concurrency.set({ worker_id: w.workerId }, w.concurrency)
      running.delete(w.workerId)
    }
    for (const [workerId, count] of running) {
      byStatus.set('running', (byStatus.get('running') ?? 0) + 1)
      this.#running.set({ worker_id: workerId }, count)
    }
    for (const [status, count] of byStatus) this.#workers.set({ status }, count)
  }
}
