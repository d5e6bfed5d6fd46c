import type { Logger } from 'pino'
import { envInt } from '../env-settings.js'
import type { JobStore } from '../store/job-store.js'
import { PeriodicTask } from './periodic-task.js'

const DAY_MS = 86_400_000

export interface RetentionSweeperOptions {
  jobStore: Pick<JobStore, 'deleteLogsEndedBefore' | 'deleteJobsFinishedBefore'>
  /** Days the log of an ended attempt is kept; 0 keeps logs forever. */
  logRetentionDays: number
  /** Days a finished job (with its attempts and logs) is kept; 0 keeps jobs forever. */
  jobRetentionDays: number
  /** How often the sweep runs (default 1 h); the first one runs at start. */
  intervalMs?: number
  /** Clock in epoch ms (default Date.now); tests inject a fake one. */
  now?: () => number
  logger?: Logger | undefined
}

/** What one sweep deleted. */
export interface RetentionSweep {
  logLines: number
  jobs: number
}

/**
 * Retention settings from the environment: SLUICE_LOG_RETENTION_DAYS (30),
 * SLUICE_JOB_RETENTION_DAYS (90), SLUICE_RETENTION_SWEEP_MS (3600000); 0 days keeps forever.
 */
export function retentionFromEnv(env: NodeJS.ProcessEnv): Pick<RetentionSweeperOptions, 'logRetentionDays' | 'jobRetentionDays' | 'intervalMs'> {
  return {
    logRetentionDays: envInt(env, 'SLUICE_LOG_RETENTION_DAYS', 30),
    jobRetentionDays: envInt(env, 'SLUICE_JOB_RETENTION_DAYS', 90),
    intervalMs: envInt(env, 'SLUICE_RETENTION_SWEEP_MS', 3_600_000, 1000),
  }
}

/**
 * Deletes the logs of attempts that ended more than `logRetentionDays` ago and the finished jobs
 * last updated more than `jobRetentionDays` ago (never a pending or running job, never the
 * latest job of a connection: see `JobStore.deleteJobsFinishedBefore`). Each sweep is plain
 * time-bounded DELETEs in short batches, so every server process sharing a PostgreSQL store may
 * run one.
 */
export class RetentionSweeper {
  readonly #options: Required<Omit<RetentionSweeperOptions, 'logger'>> & Pick<RetentionSweeperOptions, 'logger'>
  readonly #task: PeriodicTask

  constructor(options: RetentionSweeperOptions) {
    this.#options = { intervalMs: 3_600_000, now: Date.now, ...options }
    this.#task = new PeriodicTask(() => this.sweep(), this.#options.intervalMs, (err: unknown) =>
      this.#options.logger?.error({ err }, 'retention sweep failed; the next one tries again'),
    )
  }

  /** Sweeps now, then every `intervalMs`; nothing when both retentions are 0 (keep forever). */
  start(): void {
    if (this.#options.logRetentionDays === 0 && this.#options.jobRetentionDays === 0) return
    this.#task.start()
  }

  async stop(): Promise<void> {
    await this.#task.stop()
  }

  /** One sweep; returns what it deleted. */
  async sweep(): Promise<RetentionSweep> {
    const { jobStore, logRetentionDays, jobRetentionDays, logger } = this.#options
    const now = this.#options.now()
    const logLines = logRetentionDays > 0 ? await jobStore.deleteLogsEndedBefore(now - logRetentionDays * DAY_MS) : 0
    const jobs = jobRetentionDays > 0 ? await jobStore.deleteJobsFinishedBefore(now - jobRetentionDays * DAY_MS) : 0
    if (logLines > 0 || jobs > 0) logger?.info({ logLines, jobs, logRetentionDays, jobRetentionDays }, 'retention sweep deleted old attempt logs and jobs')
    return { logLines, jobs }
  }
}
