import type { Logger } from 'pino'
import { enabledStreams } from '../domain/enabled-streams.js'
import { isSluiceError } from '../errors.js'
import type { ConfigStore, ConnectionRecord, ScheduleRecord, ScheduleTimeUnit } from '../store/config-store.js'
import type { JobRecord, JobStore } from '../store/job-store.js'
import { parseQuartzCron, type QuartzCron } from '../domain/quartz-cron.js'
import { PeriodicTask } from './periodic-task.js'

export interface SchedulerOptions {
  configStore: ConfigStore
  jobStore: JobStore
  /** Clock in epoch ms (default Date.now); tests inject a fake one. */
  now?: () => number
  /** How often schedules are checked (default 5 s). */
  tickMs?: number
  logger?: Logger
  /** Called for each job the scheduler creates (e.g. to wake the worker). */
  onJobCreated?: (job: JobRecord) => void
  /** A basic-schedule connection that never synced is due this long after its creation (default 0). */
  newConnectionGraceMs?: number
}

const UNIT_MS: Record<Exclude<ScheduleTimeUnit, 'months'>, number> = {
  minutes: 60_000,
  hours: 3_600_000,
  days: 86_400_000,
  weeks: 7 * 86_400_000,
}

/**
 * The server's default for {@link SchedulerOptions.newConnectionGraceMs}: scripts (the seed's
 * among them) create a connection and call connections/sync right away, and must get their job
 * rather than a 409 because the scheduler won the race. Their manual sync then starts the interval.
 */
export const NEW_CONNECTION_GRACE_MS = 10_000

/** `from` plus a basic schedule's interval; months are calendar months (UTC). */
export function addInterval(from: number, units: number, timeUnit: ScheduleTimeUnit): number {
  if (timeUnit !== 'months') return from + units * UNIT_MS[timeUnit]
  const d = new Date(from)
  const day = d.getUTCDate()
  d.setUTCDate(1)
  d.setUTCMonth(d.getUTCMonth() + units)
  // 31 January + 1 month is the last day of February, not 3 March.
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate()
  d.setUTCDate(Math.min(day, last))
  return d.getTime()
}

/** What the scheduler knows about a connection's past jobs (all epoch ms). */
export interface ScheduleHistory {
  /** Creation time of the newest sync job (manual ones included), if any. */
  lastSyncStart?: number
  /** The slot of the newest job the scheduler created, if any. */
  lastScheduledFor?: number
}

/**
 * The slot (epoch ms) of the run that is due at `now`, or undefined when none is. Derived only
 * from the stored connection and its jobs, so it survives restarts and applies a schedule change
 * at once. A run missed while the server was down yields ONE slot, not one per missed period.
 * - basic: due when the interval has passed since the last sync start; a connection that never
 *   synced is due at once, or `newConnectionGraceMs` after its creation (that is the slot).
 * - cron: the first fire time after the newest of (last slot, last sync start, last change of
 *   the connection).
 */
export function dueSlot(
  connection: Pick<ConnectionRecord, 'schedule' | 'createdAt' | 'updatedAt'>,
  history: ScheduleHistory,
  now: number,
  opts: { newConnectionGraceMs?: number; compileCron?: (expr: string, zone: string) => QuartzCron } = {},
): number | undefined {
  const compileCron = opts.compileCron ?? parseQuartzCron
  const schedule: ScheduleRecord = connection.schedule
  switch (schedule.type) {
    case 'manual':
      return undefined
    case 'basic': {
      if (history.lastSyncStart === undefined) {
        const first = connection.createdAt * 1000 + (opts.newConnectionGraceMs ?? 0)
        return first <= now ? first : undefined
      }
      const due = addInterval(history.lastSyncStart, schedule.units, schedule.timeUnit)
      return due <= now ? due : undefined
    }
    case 'cron': {
      const anchor = Math.max(history.lastScheduledFor ?? 0, history.lastSyncStart ?? 0, connection.updatedAt * 1000)
      const next = compileCron(schedule.cronExpression, schedule.cronTimeZone).nextRun(new Date(anchor))
      return next !== undefined && next.getTime() <= now ? next.getTime() : undefined
    }
  }
}

/**
 * Turns basic and cron schedules into sync jobs. Stateless: every tick re-reads connections and
 * their jobs from the stores. The store's unique (connection, slot) key and its
 * one-non-terminal-job rule make two schedulers (or a restart mid-tick) create one job per slot.
 */
export class Scheduler {
  readonly #settings: Required<Omit<SchedulerOptions, 'logger' | 'onJobCreated'>> & Pick<SchedulerOptions, 'logger' | 'onJobCreated'>
  readonly #crons = new Map<string, QuartzCron>()
  readonly #task: PeriodicTask

  constructor(options: SchedulerOptions) {
    this.#settings = { now: Date.now, tickMs: 5000, newConnectionGraceMs: 0, ...options }
    this.#task = new PeriodicTask(() => this.tick(), this.#settings.tickMs, (err: unknown) => this.#settings.logger?.error({ err }, 'scheduler tick failed'))
  }

  /** Ticks now, then every `tickMs`; a slow tick makes the ones that fall due skip. */
  start(): void {
    this.#task.start()
  }

  async stop(): Promise<void> {
    await this.#task.stop()
  }

  /** Creates the jobs due now; returns them. */
  async tick(): Promise<JobRecord[]> {
    const { configStore, jobStore } = this.#settings
    const now = this.#settings.now()
    const created: JobRecord[] = []
    for (const connection of await configStore.listConnections()) {
      if (connection.status !== 'active' || connection.schedule.type === 'manual') continue
      try {
        if ((await jobStore.activeJob(connection.connectionId)) !== undefined) continue
        const slot = dueSlot(connection, await this.#history(connection.connectionId), now, {
          newConnectionGraceMs: this.#settings.newConnectionGraceMs,
          compileCron: (e, z) => this.#cron(e, z),
        })
        if (slot === undefined) continue
        const job = await jobStore.createJob({ configType: 'sync', configId: connection.connectionId, streams: enabledStreams(connection), scheduledFor: slot })
        created.push(job)
        this.#settings.logger?.info({ connectionId: connection.connectionId, jobId: job.id, slot: new Date(slot).toISOString() }, 'scheduled sync created')
        this.#settings.onJobCreated?.(job)
      } catch (err) {
        // Another scheduler (or a user) got there first: the slot or the connection is taken.
        if (isSluiceError(err) && (err.code === 'SLUICE_ERR_CONFLICT' || err.code === 'SLUICE_ERR_SYNC_RUNNING')) continue
        this.#settings.logger?.warn({ err, connectionId: connection.connectionId }, 'could not schedule a sync')
      }
    }
    return created
  }

  async #history(connectionId: string): Promise<ScheduleHistory> {
    const { jobStore } = this.#settings
    const history: ScheduleHistory = {}
    const lastSync = (await jobStore.listJobs({ configId: connectionId, configTypes: ['sync', 'refresh'], pageSize: 1 })).jobs[0]
    // Whole seconds, as schedules have always been anchored (slots stay on second boundaries).
    if (lastSync !== undefined) history.lastSyncStart = Math.floor(lastSync.createdAt / 1000) * 1000
    // A job is created at or after its slot, so the newest sync also carries the newest slot.
    if (lastSync?.scheduledFor !== undefined) history.lastScheduledFor = lastSync.scheduledFor
    return history
  }

  #cron(expression: string, zone: string): QuartzCron {
    const key = `${zone}\u0000${expression}`
    let cron = this.#crons.get(key)
    if (cron === undefined) {
      cron = parseQuartzCron(expression, zone)
      this.#crons.set(key, cron)
    }
    return cron
  }
}
