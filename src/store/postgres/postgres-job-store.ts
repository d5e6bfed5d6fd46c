import { streamKey, type StreamDescriptor } from '../../protocol/index.js'
import { SluiceError, notFound } from '../../errors.js'
import type {
  AttemptOutcome,
  AttemptRecord,
  CreateJobInput,
  JobOutcome,
  ClaimedAttempt,
  JobConfigType,
  JobCounts,
  JobListFilter,
  JobRecord,
  JobStatus,
  JobStore,
  LogHeadTrim,
  RefreshMode,
  StreamStateRecord,
} from '../job-store.js'
import { isUniqueViolation, type PostgresDatabase } from './postgres-database.js'
import { ACTIVE_JOB_STATUSES, CLAIMABLE_JOB_STATUSES, canEndAttempt, isLeaseExpired, nextJobState, type JobState, type JobTransition } from '../../domain/job-transitions.js'

/** The NOTIFY channel job events travel on. */
export const JOB_EVENTS_CHANNEL = 'sluice_jobs'

/** What other processes hear about jobs: a new runnable job, or a cancel request. */
export interface JobEvent {
  type: 'runnable' | 'cancel'
  jobId: number
}

const EMPTY_STATS = { recordsEmitted: 0, bytesEmitted: 0, recordsCommitted: 0, bytesCommitted: 0, stateMessagesEmitted: 0 }
/** Non-terminal statuses, spelled like the one-active index's predicate so lookups use it. */
const ACTIVE_SQL = ACTIVE_JOB_STATUSES.map((s) => `'${s}'`).join(', ')
const CLAIMABLE_SQL = CLAIMABLE_JOB_STATUSES.map((s) => `'${s}'`).join(', ')
/** A compare-and-set that keeps losing means something rewrites the row in a loop: give up. */
const MAX_SWAP_TRIES = 20
/** Retention deletes at most this many log lines, or jobs, per statement. */
const RETENTION_LOG_BATCH = 10_000
const RETENTION_JOB_BATCH = 100

interface JobRow {
  id: number
  config_type: JobConfigType
  config_id: string
  status: JobStatus
  streams: StreamDescriptor[]
  scheduled_for: number | null
  cancel_requested: boolean
  run_after: number
  created_at: number
  updated_at: number
  started_at: number | null
  refresh_mode: RefreshMode | null
}

interface AttemptRow {
  job_id: number
  attempt_number: number
  status: AttemptRecord['status']
  worker_id: string | null
  lease_expires_at: number | null
  total_stats: AttemptRecord['totalStats']
  stream_stats: AttemptRecord['streamStats']
  failures: AttemptRecord['failures']
  created_at: number
  updated_at: number
  ended_at: number | null
}

export interface PostgresJobStoreOptions {
  /** Injected clock (epoch ms) for tests of leases and schedules; defaults to Date.now. */
  now?: () => number
  /** Where `onRunnable` listens (a LISTEN connection, opened on the first listener). */
  events?: JobEventSource
}

/** The part of PostgresJobEvents the store uses (kept narrow to avoid an import cycle). */
export interface JobEventSource {
  subscribe(listener: (event: JobEvent | { type: 'reconnected' }) => void): Promise<() => void>
}

/**
 * JobStore on a shared PostgreSQL database, for many API and worker processes at once.
 * - Status changes are decided by the job state machine (domain/job-transitions) from a read
 *   row and written as compare-and-set updates (`WHERE status = <from> AND cancel_requested =
 *   <before>`); a lost swap re-reads and decides again.
 * - claimNext reads with `FOR UPDATE SKIP LOCKED` (a runnable job no other worker is claiming)
 *   and, in the same transaction, swaps the job to running and inserts the attempt whose lease
 *   heartbeats extend. Every timestamp is epoch ms.
 * - A partial unique index keeps one non-terminal job per connection (SLUICE_ERR_SYNC_RUNNING)
 *   and another one job per schedule slot, so racing schedulers cannot double-create.
 * - Job creation and cancel requests NOTIFY `sluice_jobs` (see PostgresJobEvents) so idle
 *   workers wake at once and running ones stop within a heartbeat.
 */
export class PostgresJobStore implements JobStore {
  readonly #db: PostgresDatabase
  readonly #now: () => number
  readonly #events: JobEventSource | undefined

  constructor(db: PostgresDatabase, options: PostgresJobStoreOptions = {}) {
    this.#db = db
    this.#now = options.now ?? Date.now
    this.#events = options.events
  }

  /**
   * Calls `listener` whenever a job may have become runnable in ANY process (creation, retry,
   * finished attempt) and after the LISTEN connection was re-opened, so an in-process worker
   * claims at once instead of at its next poll. Returns the unsubscribe function.
   */
  onRunnable(listener: () => void): () => void {
    if (!this.#events) return () => undefined
    let unsubscribe: (() => void) | undefined
    let stopped = false
    void this.#events
      .subscribe((event) => {
        if (event.type === 'runnable' || event.type === 'reconnected') listener()
      })
      .then((u) => {
        if (stopped) u()
        else unsubscribe = u
      })
    return () => {
      stopped = true
      unsubscribe?.()
    }
  }

  async createJob(input: CreateJobInput): Promise<JobRecord> {
    // Two racing resets can both cancel the same active job; the loser's insert then trips the
    // one-active index and a retry sees the winner's new job, which it cancels in turn.
    for (let tries = 0; ; tries++) {
      try {
        return await this.#createJobOnce(input)
      } catch (e) {
        if (!(input.cancelActive === true && tries < 3 && isUniqueViolation(e, 'sluice_jobs_one_active'))) {
          throw this.#createJobError(e, input)
        }
      }
    }
  }

  async #createJobOnce(input: CreateJobInput): Promise<JobRecord> {
    const nowMs = this.#now()
    const values = [
      input.configType,
      input.configId,
      JSON.stringify(input.streams),
      input.scheduledFor ?? null,
      nowMs,
      nowMs,
      JOB_EVENTS_CHANNEL,
      input.refreshMode ?? null,
    ]
    // The NOTIFY rides in the same statement (one round trip) and is delivered only on commit.
    const insert = `WITH ins AS (
        INSERT INTO sluice_jobs (config_type, config_id, status, streams, scheduled_for, cancel_requested, run_after, created_at, updated_at, refresh_mode)
        VALUES ($1, $2, 'pending', $3, $4, false, $5, $6, $6, $8) RETURNING *
      ), note AS (
        SELECT pg_notify($7, json_build_object('type', 'runnable', 'jobId', id)::text) FROM ins
      )
      SELECT ins.* FROM ins, note`
    if (input.cancelActive !== true) {
      const rows = await this.#db.query<JobRow>(insert, values)
      return toJob(rows[0] as JobRow)
    }
    return this.#db.transaction(async () => {
      const active = await this.#db.query<JobRow>(`SELECT * FROM sluice_jobs WHERE config_id = $1 AND status IN (${ACTIVE_SQL}) FOR UPDATE`, [
        input.configId,
      ])
      for (const row of active) {
        const job = toJob(row)
        const transition = nextJobState(job, { type: 'superseded' })
        // The rows are locked: a lost swap is a bug, not a race.
        if (transition !== undefined && (await this.#swap(job.id, transition, nowMs)) === undefined) throw lostSwap(job.id, transition)
      }
      const rows = await this.#db.query<JobRow>(insert, values)
      return toJob(rows[0] as JobRow)
    })
  }

  #createJobError(e: unknown, input: { configId: string; scheduledFor?: number }): unknown {
    if (isUniqueViolation(e, 'sluice_jobs_one_active')) {
      return new SluiceError('SLUICE_ERR_SYNC_RUNNING', `A sync is already running for: ${input.configId}`, { id: input.configId })
    }
    if (isUniqueViolation(e, 'sluice_jobs_schedule_slot')) {
      return new SluiceError(
        'SLUICE_ERR_CONFLICT',
        `A job already exists for connection ${input.configId} and schedule slot ${input.scheduledFor}.`,
        { id: input.configId },
      )
    }
    return e
  }

  async getJob(id: number): Promise<JobRecord | undefined> {
    const rows = await this.#db.query<JobRow>(`SELECT * FROM sluice_jobs WHERE id = $1`, [id])
    return rows[0] && toJob(rows[0])
  }

  async listJobs(filter: JobListFilter): Promise<{ jobs: JobRecord[]; totalJobCount: number }> {
    const where: string[] = []
    const params: unknown[] = []
    const add = (sql: string, value: unknown): void => {
      params.push(value)
      where.push(sql.replace('?', `$${params.length}`))
    }
    if (filter.configTypes && filter.configTypes.length > 0) add('config_type = ANY(?)', filter.configTypes)
    if (filter.configId !== undefined) add('config_id = ?', filter.configId)
    if (filter.statuses && filter.statuses.length > 0) add('status = ANY(?)', filter.statuses)
    if (filter.createdAtStart !== undefined) add('created_at >= ?', filter.createdAtStart)
    if (filter.createdAtEnd !== undefined) add('created_at <= ?', filter.createdAtEnd)
    if (filter.updatedAtStart !== undefined) add('updated_at >= ?', filter.updatedAtStart)
    if (filter.updatedAtEnd !== undefined) add('updated_at <= ?', filter.updatedAtEnd)
    const whereSql = where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''
    const column = filter.orderByField === 'updatedAt' ? 'updated_at' : 'created_at'
    const direction = filter.orderByMethod === 'ASC' ? 'ASC' : 'DESC'
    const countRows = await this.#db.query<{ n: number }>(`SELECT count(*)::int AS n FROM sluice_jobs ${whereSql}`, params)
    const pageParams = [...params, filter.pageSize ?? null, filter.rowOffset ?? 0]
    const rows = await this.#db.query<JobRow>(
      `SELECT * FROM sluice_jobs ${whereSql} ORDER BY ${column} ${direction}, id ${direction}
       LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      pageParams,
    )
    return { jobs: rows.map(toJob), totalJobCount: countRows[0]?.n ?? 0 }
  }

  async activeJob(connectionId: string): Promise<JobRecord | undefined> {
    const rows = await this.#db.query<JobRow>(
      `SELECT * FROM sluice_jobs WHERE config_id = $1 AND status IN (${ACTIVE_SQL}) ORDER BY id DESC LIMIT 1`,
      [connectionId],
    )
    return rows[0] && toJob(rows[0])
  }

  async updateJob(
    id: number,
    patch: Partial<Pick<JobRecord, 'status' | 'runAfter' | 'cancelRequested' | 'startedAt'>>,
  ): Promise<JobRecord> {
    for (let tries = 0; tries < MAX_SWAP_TRIES; tries++) {
      const current = await this.getJob(id)
      if (!current) throw notFound('job', id)
      const transition = nextJobState(current, { type: 'patched', patch })
      if (transition === undefined) return current
      let row: JobRow | undefined
      try {
        row = await this.#swap(id, transition, this.#now())
      } catch (e) {
        if (isUniqueViolation(e, 'sluice_jobs_one_active')) {
          throw new SluiceError('SLUICE_ERR_SYNC_RUNNING', `Another job is already active for the connection of job ${id}.`, { id })
        }
        throw e
      }
      if (row) return toJob(row)
    }
    throw new SluiceError('SLUICE_ERR_CONFLICT', `Job ${id} kept changing; the update was not applied.`, { id })
  }

  async listAttempts(jobId: number): Promise<AttemptRecord[]> {
    const rows = await this.#db.query<AttemptRow>(`SELECT * FROM sluice_attempts WHERE job_id = $1 ORDER BY attempt_number`, [jobId])
    return rows.map(toAttempt)
  }

  async getAttempt(jobId: number, attemptNumber: number): Promise<AttemptRecord | undefined> {
    const rows = await this.#db.query<AttemptRow>(`SELECT * FROM sluice_attempts WHERE job_id = $1 AND attempt_number = $2`, [
      jobId,
      attemptNumber,
    ])
    return rows[0] && toAttempt(rows[0])
  }

  async updateAttempt(
    jobId: number,
    attemptNumber: number,
    patch: Partial<Pick<AttemptRecord, 'status' | 'totalStats' | 'streamStats' | 'failures' | 'endedAt' | 'leaseExpiresAt' | 'workerId'>>,
  ): Promise<AttemptRecord> {
    const sets: string[] = []
    const params: unknown[] = [jobId, attemptNumber]
    const set = (column: string, value: unknown): void => {
      params.push(value)
      sets.push(`${column} = $${params.length}`)
    }
    if (patch.status !== undefined) set('status', patch.status)
    if (patch.totalStats !== undefined) set('total_stats', JSON.stringify(patch.totalStats))
    if (patch.streamStats !== undefined) set('stream_stats', JSON.stringify(patch.streamStats))
    if (patch.failures !== undefined) set('failures', JSON.stringify(patch.failures))
    if (patch.endedAt !== undefined) set('ended_at', patch.endedAt)
    if (patch.leaseExpiresAt !== undefined) set('lease_expires_at', patch.leaseExpiresAt)
    if (patch.workerId !== undefined) set('worker_id', patch.workerId)
    set('updated_at', this.#now())
    const rows = await this.#db.query<AttemptRow>(
      `UPDATE sluice_attempts SET ${sets.join(', ')} WHERE job_id = $1 AND attempt_number = $2 RETURNING *`,
      params,
    )
    const row = rows[0]
    if (!row) throw notFound('attempt', `${jobId}/${attemptNumber}`)
    return toAttempt(row)
  }

  async requestCancel(id: number): Promise<JobRecord | undefined> {
    for (let tries = 0; tries < MAX_SWAP_TRIES; tries++) {
      const job = await this.getJob(id)
      if (!job) return undefined
      const transition = nextJobState(job, { type: 'cancel_requested' })
      if (transition === undefined) return job
      const row = await this.#swap(id, transition, this.#now())
      if (row) return toJob(row)
    }
    throw new SluiceError('SLUICE_ERR_CONFLICT', `Job ${id} kept changing; the cancel was not recorded.`, { id })
  }

  async claimNext(workerId: string, leaseMs: number, now: number = this.#now()): Promise<ClaimedAttempt | undefined> {
    // The read narrows the candidates and locks one; SKIP LOCKED lets concurrent claimers pass over
    // the row another one is taking. The state machine decides; the swap and the attempt row
    // commit together.
    return this.#db.transaction(async () => {
      const candidates = await this.#db.query<JobRow>(
        `SELECT * FROM sluice_jobs
         WHERE status IN (${CLAIMABLE_SQL}) AND (status = 'pending' OR run_after <= $1)
           AND NOT cancel_requested
           AND NOT EXISTS (
             SELECT 1 FROM sluice_attempts a JOIN sluice_jobs o ON o.id = a.job_id
             WHERE o.config_id = sluice_jobs.config_id AND a.status = 'running')
         ORDER BY id LIMIT 1
         FOR UPDATE SKIP LOCKED`,
        [now],
      )
      const candidate = candidates[0]
      if (!candidate) return undefined
      const job = toJob(candidate)
      const transition = nextJobState(job, { type: 'claim', now })
      if (transition === undefined) return undefined
      const { from, to } = transition
      const rows = await this.#db.query<{ job: JobRow; attempt: AttemptRow }>(
        `WITH job AS (
           UPDATE sluice_jobs SET status = $3, started_at = $4, updated_at = $5
           WHERE id = $1 AND status = $2 AND cancel_requested = $6
           RETURNING *
         ), attempt AS (
           INSERT INTO sluice_attempts (job_id, attempt_number, status, worker_id, lease_expires_at, total_stats, stream_stats, failures, created_at, updated_at)
           SELECT job.id, COALESCE((SELECT max(a.attempt_number) + 1 FROM sluice_attempts a WHERE a.job_id = job.id), 0),
                  'running', $7, $8, $9, '[]', '[]', $5, $5
           FROM job
           RETURNING *
         )
         SELECT row_to_json(job.*) AS job, row_to_json(attempt.*) AS attempt FROM job, attempt`,
        [job.id, from.status, to.status, to.startedAt ?? null, now, from.cancelRequested, workerId, now + leaseMs, JSON.stringify(EMPTY_STATS)],
      )
      const row = rows[0]
      // The row is locked: a lost swap is a bug, not a race.
      if (!row) throw lostSwap(job.id, transition)
      return { job: toJob(row.job), attempt: toAttempt(row.attempt) }
    })
  }

  async heartbeat(jobId: number, attemptNumber: number, workerId: string, leaseMs: number): Promise<boolean> {
    const rows = await this.#db.query(
      `UPDATE sluice_attempts SET lease_expires_at = $4
       WHERE job_id = $1 AND attempt_number = $2 AND worker_id = $3 AND status = 'running'
       RETURNING job_id`,
      [jobId, attemptNumber, workerId, this.#now() + leaseMs],
    )
    return rows.length > 0
  }

  async expiredAttempts(now: number = this.#now()): Promise<AttemptRecord[]> {
    // Running attempts are few (one per busy connection): read them all, let the rule decide.
    const rows = await this.#db.query<AttemptRow>(`SELECT * FROM sluice_attempts WHERE status = 'running' ORDER BY job_id, attempt_number`)
    return rows.map(toAttempt).filter((a) => isLeaseExpired(a, now))
  }

  async finishAttempt(
    jobId: number,
    attemptNumber: number,
    workerId: string | undefined,
    attempt: AttemptOutcome,
    job: JobOutcome,
  ): Promise<boolean> {
    for (let tries = 0; tries < MAX_SWAP_TRIES; tries++) {
      const read = await this.#db.query<{ job: JobRow; attempt: AttemptRow }>(
        `SELECT row_to_json(j.*) AS job, row_to_json(a.*) AS attempt
         FROM sluice_attempts a JOIN sluice_jobs j ON j.id = a.job_id WHERE a.job_id = $1 AND a.attempt_number = $2`,
        [jobId, attemptNumber],
      )
      const current = read[0]
      if (!current || !canEndAttempt(toAttempt(current.attempt), workerId)) return false
      const owner = toJob(current.job)
      // A job already terminal (cancelled by a reset) keeps its status but still records when its
      // attempt ended: the swap then writes the job's own state back.
      const transition = nextJobState(owner, { type: 'attempt_ended', outcome: job })
      const to = transition?.to ?? owner
      if (await this.#endAttempt(jobId, attemptNumber, workerId, attempt, owner, to, transition?.runnable === true)) return true
      // Lost: another finisher ended the attempt (the re-read returns false) or the job moved
      // (a cancel request): decide again from the new row.
    }
    throw new SluiceError('SLUICE_ERR_CONFLICT', `Job ${jobId} kept changing; attempt ${attemptNumber} was not ended.`, { id: jobId })
  }

  /**
   * One statement: the job swap (guarded by the status and cancel flag it was decided from, and
   * by the attempt still running for this worker) and the attempt's end commit together. Every
   * finisher writes the job row, so its row lock orders a reaper and a late worker: the second
   * one's guards fail and nothing changes.
   */
  async #endAttempt(
    jobId: number,
    attemptNumber: number,
    workerId: string | undefined,
    attempt: AttemptOutcome,
    from: JobState,
    to: JobState,
    runnable: boolean,
  ): Promise<boolean> {
    const rows = await this.#db.query<{ finished: number }>(
      `WITH j AS (
         UPDATE sluice_jobs SET status = $6, run_after = $7, cancel_requested = $8, updated_at = $9
         WHERE id = $1 AND status = $4 AND cancel_requested = $5
           AND EXISTS (SELECT 1 FROM sluice_attempts WHERE job_id = $1 AND attempt_number = $2 AND status = 'running' AND ($3::text IS NULL OR worker_id = $3))
         RETURNING id
       ), a AS (
         UPDATE sluice_attempts SET status = $10, failures = $11,
           total_stats = COALESCE($12::jsonb, total_stats), stream_stats = COALESCE($13::jsonb, stream_stats),
           ended_at = $9, updated_at = $9
         FROM j WHERE job_id = j.id AND attempt_number = $2 AND status = 'running' AND ($3::text IS NULL OR worker_id = $3)
         RETURNING job_id
       ), note AS (
         -- Wake workers only when something became runnable: this job's retry, or a job queued
         -- behind this attempt on the same connection. NOTIFY serialises commits, so a plain
         -- success must not pay for it (measured: 16 claimers 440 -> 1480 jobs/s).
         SELECT pg_notify($14, json_build_object('type', 'runnable', 'jobId', a.job_id)::text) FROM a
         WHERE $15::boolean OR EXISTS (
           SELECT 1 FROM sluice_jobs done JOIN sluice_jobs queued ON queued.config_id = done.config_id
           -- Spelled like the one-active index's predicate so the lookup uses it, whatever the history.
           WHERE done.id = a.job_id AND queued.id <> done.id
             AND queued.status NOT IN ('failed', 'succeeded', 'cancelled') AND queued.status <> 'running')
       )
       SELECT (SELECT count(*)::int FROM a) AS finished, (SELECT count(*)::int FROM note) AS notified`,
      [
        jobId,
        attemptNumber,
        workerId ?? null,
        from.status,
        from.cancelRequested,
        to.status,
        to.runAfter,
        to.cancelRequested,
        this.#now(),
        attempt.status,
        JSON.stringify(attempt.failures),
        attempt.totalStats === undefined ? null : JSON.stringify(attempt.totalStats),
        attempt.streamStats === undefined ? null : JSON.stringify(attempt.streamStats),
        JOB_EVENTS_CHANNEL,
        runnable,
      ],
    )
    return (rows[0]?.finished ?? 0) > 0
  }

  async getState(connectionId: string): Promise<StreamStateRecord[]> {
    const rows = await this.#db.query<StreamRow & { state: Record<string, unknown> | null }>(
      `SELECT stream_namespace, stream_name, state FROM sluice_stream_state WHERE connection_id = $1
       ORDER BY stream_namespace, stream_name`,
      [connectionId],
    )
    return rows.map((r) => ({ stream: toDescriptor(r), state: r.state }))
  }

  async saveState(connectionId: string, states: StreamStateRecord[]): Promise<void> {
    if (states.length === 0) return
    // Last write wins per stream when the same stream appears twice in one call.
    const byKey = new Map(states.map((s) => [streamKey(s.stream), s]))
    const values = [...byKey.values()]
    await this.#db.query(
      `INSERT INTO sluice_stream_state (connection_id, stream_namespace, stream_name, state)
       SELECT $1, ns, n, st FROM unnest($2::text[], $3::text[], $4::jsonb[]) AS t(ns, n, st)
       ON CONFLICT (connection_id, stream_namespace, stream_name) DO UPDATE SET state = EXCLUDED.state`,
      [
        connectionId,
        values.map((s) => s.stream.namespace ?? ''),
        values.map((s) => s.stream.name),
        values.map((s) => (s.state === null ? null : JSON.stringify(s.state))),
      ],
    )
  }

  async clearState(connectionId: string, streams?: StreamDescriptor[]): Promise<void> {
    if (streams === undefined) {
      await this.#db.query(`DELETE FROM sluice_stream_state WHERE connection_id = $1`, [connectionId])
      return
    }
    await this.#db.query(
      `DELETE FROM sluice_stream_state s USING unnest($2::text[], $3::text[]) AS t(ns, n)
       WHERE s.connection_id = $1 AND s.stream_namespace = t.ns AND s.stream_name = t.n`,
      [connectionId, streams.map((d) => d.namespace ?? ''), streams.map((d) => d.name)],
    )
  }

  async getGenerations(connectionId: string): Promise<Map<string, number>> {
    const rows = await this.#db.query<StreamRow & { generation: number }>(
      `SELECT stream_namespace, stream_name, generation FROM sluice_generations WHERE connection_id = $1`,
      [connectionId],
    )
    return new Map(rows.map((r) => [streamKey(toDescriptor(r)), Number(r.generation)]))
  }

  async bumpGenerations(connectionId: string, streams: StreamDescriptor[]): Promise<Map<string, number>> {
    const unique = [...new Map(streams.map((d) => [streamKey(d), d])).values()]
    if (unique.length === 0) return new Map()
    const rows = await this.#db.query<StreamRow & { generation: number }>(
      `INSERT INTO sluice_generations AS g (connection_id, stream_namespace, stream_name, generation)
       SELECT $1, ns, n, 1 FROM unnest($2::text[], $3::text[]) AS t(ns, n)
       ON CONFLICT (connection_id, stream_namespace, stream_name) DO UPDATE SET generation = g.generation + 1
       RETURNING stream_namespace, stream_name, generation`,
      [connectionId, unique.map((d) => d.namespace ?? ''), unique.map((d) => d.name)],
    )
    return new Map(rows.map((r) => [streamKey(toDescriptor(r)), Number(r.generation)]))
  }

  async appendLogs(jobId: number, attemptNumber: number, lines: string[], trim?: LogHeadTrim): Promise<void> {
    if (lines.length === 0 && trim === undefined) return
    const insert = (rows: string[]): Promise<unknown> =>
      this.#db.query(
        `INSERT INTO sluice_attempt_logs (job_id, attempt_number, line) SELECT $1, $2, l FROM unnest($3::text[]) WITH ORDINALITY AS t(l, n) ORDER BY n`,
        [jobId, attemptNumber, rows],
      )
    if (trim === undefined || trim.count === 0) {
      await insert(lines)
      return
    }
    await this.#db.transaction(async () => {
      // The newest of the lines that go carries the marker, so it stays first in id order.
      const marked = await this.#db.query<{ id: number }>(
        `WITH doomed AS (
           SELECT id FROM sluice_attempt_logs WHERE job_id = $1 AND attempt_number = $2 ORDER BY id LIMIT $3
         ), gone AS (
           DELETE FROM sluice_attempt_logs WHERE id IN (SELECT id FROM doomed) AND id < (SELECT max(id) FROM doomed)
         )
         UPDATE sluice_attempt_logs SET line = $4 WHERE id = (SELECT max(id) FROM doomed) RETURNING id`,
        [jobId, attemptNumber, trim.count, trim.marker],
      )
      await insert(marked.length === 0 ? [trim.marker, ...lines] : lines)
    })
  }

  async readLogs(jobId: number, attemptNumber: number): Promise<string[]> {
    const rows = await this.#db.query<{ line: string }>(
      `SELECT line FROM sluice_attempt_logs WHERE job_id = $1 AND attempt_number = $2 ORDER BY id`,
      [jobId, attemptNumber],
    )
    return rows.map((r) => r.line)
  }

  async deleteLogsEndedBefore(endedBefore: number): Promise<number> {
    // Batches keep each statement short; a concurrent sweeper waits on the same rows, then skips them.
    let total = 0
    for (;;) {
      const rows = await this.#db.query<{ n: number }>(
        `WITH gone AS (
           DELETE FROM sluice_attempt_logs WHERE id IN (
             SELECT l.id FROM sluice_attempts a JOIN sluice_attempt_logs l ON l.job_id = a.job_id AND l.attempt_number = a.attempt_number
             WHERE a.ended_at < $1 LIMIT ${RETENTION_LOG_BATCH})
           RETURNING 1
         )
         SELECT count(*)::int AS n FROM gone`,
        [endedBefore],
      )
      const deleted = rows[0]?.n ?? 0
      total += deleted
      if (deleted < RETENTION_LOG_BATCH) return total
    }
  }

  async deleteJobsFinishedBefore(updatedBefore: number): Promise<number> {
    // The jobs each connection keeps, read once: a sweep only deletes older jobs, so one that is
    // the latest (or latest succeeded) now stays so, and reading the set per batch scanned every
    // job each time.
    const kept = await this.#db.query<{ ids: string[] | null }>(
      `SELECT array_agg(id) AS ids FROM (
         SELECT max(id) AS id FROM sluice_jobs GROUP BY config_id, config_type
         UNION SELECT max(id) FROM sluice_jobs WHERE status = 'succeeded' GROUP BY config_id, config_type) k`,
    )
    const keep = kept[0]?.ids ?? []
    // Attempts go with their job (ON DELETE CASCADE); logs have no foreign key and go here.
    let total = 0
    for (;;) {
      const rows = await this.#db.query<{ n: number }>(
        `WITH gone AS (
           DELETE FROM sluice_jobs WHERE id IN (
             SELECT id FROM sluice_jobs WHERE status NOT IN (${ACTIVE_SQL}) AND updated_at < $1
               AND NOT (id = ANY($2::bigint[]))
             LIMIT ${RETENTION_JOB_BATCH})
           RETURNING id
         ), logs AS (
           DELETE FROM sluice_attempt_logs WHERE job_id IN (SELECT id FROM gone)
         )
         SELECT count(*)::int AS n FROM gone`,
        [updatedBefore, keep],
      )
      const deleted = rows[0]?.n ?? 0
      total += deleted
      if (deleted < RETENTION_JOB_BATCH) return total
    }
  }

  /**
   * Writes a decided transition as a compare-and-set on the status and cancel flag it was decided
   * from, and NOTIFYs what it signals (a cancel, a runnable job) in the same statement, delivered
   * on commit. Returns the new row, or undefined when the row moved meanwhile (the swap lost).
   */
  async #swap(id: number, transition: JobTransition, now: number): Promise<JobRow | undefined> {
    const { from, to } = transition
    const events = [...(transition.cancelSignalled ? ['cancel'] : []), ...(transition.runnable ? ['runnable'] : [])]
    const rows = await this.#db.query<JobRow>(
      `WITH upd AS (
         UPDATE sluice_jobs SET status = $4, cancel_requested = $5, run_after = $6, started_at = $7, updated_at = $8
         WHERE id = $1 AND status = $2 AND cancel_requested = $3
         RETURNING *
       ), note AS (
         SELECT pg_notify($9, json_build_object('type', t.e, 'jobId', upd.id)::text) FROM upd, unnest($10::text[]) AS t(e)
       )
       SELECT upd.*, (SELECT count(*) FROM note) AS notified FROM upd`,
      [id, from.status, from.cancelRequested, to.status, to.cancelRequested, to.runAfter, to.startedAt ?? null, now, JOB_EVENTS_CHANNEL, events],
    )
    return rows[0]
  }

  async jobCounts(now: number = this.#now()): Promise<JobCounts> {
    // One statement, so the counts come from one snapshot. The queue is the claim's WHERE minus
    // the one-running-attempt-per-connection check: a job queued behind its connection still waits.
    const rows = await this.#db.query<{
      by_status: JobCounts['byStatusAndType']
      queued: number
      oldest: string | null
      by_worker: JobCounts['runningAttemptsByWorker']
    }>(
      `WITH queued AS (
         SELECT GREATEST(run_after, created_at) AS since FROM sluice_jobs
         WHERE status IN (${CLAIMABLE_SQL}) AND (status = 'pending' OR run_after <= $1) AND NOT cancel_requested
       )
       SELECT
         (SELECT COALESCE(json_agg(json_build_object('status', status, 'configType', config_type, 'count', n) ORDER BY status, config_type), '[]')
            FROM (SELECT status, config_type, count(*)::int AS n FROM sluice_jobs GROUP BY status, config_type) c) AS by_status,
         (SELECT count(*)::int FROM queued) AS queued,
         (SELECT min(since) FROM queued) AS oldest,
         (SELECT COALESCE(json_agg(json_build_object('workerId', worker_id, 'count', n) ORDER BY worker_id), '[]')
            FROM (SELECT worker_id, count(*)::int AS n FROM sluice_attempts WHERE status = 'running' AND worker_id IS NOT NULL GROUP BY worker_id) w) AS by_worker`,
      [now],
    )
    const row = rows[0]
    const counts: JobCounts = { byStatusAndType: row?.by_status ?? [], queued: row?.queued ?? 0, runningAttemptsByWorker: row?.by_worker ?? [] }
    if (row?.oldest != null) counts.oldestQueuedSince = Number(row.oldest)
    return counts
  }
}

function lostSwap(id: number, transition: JobTransition): SluiceError {
  return new SluiceError('SLUICE_ERR_CONFLICT', `Job ${id} changed while it moved from ${transition.from.status} to ${transition.to.status}.`, { id })
}

interface StreamRow {
  stream_namespace: string
  stream_name: string
}

function toDescriptor(r: StreamRow): StreamDescriptor {
  return r.stream_namespace === '' ? { name: r.stream_name } : { name: r.stream_name, namespace: r.stream_namespace }
}

function toJob(r: JobRow): JobRecord {
  const job: JobRecord = {
    id: Number(r.id),
    configType: r.config_type,
    configId: r.config_id,
    status: r.status,
    streams: r.streams,
    cancelRequested: r.cancel_requested,
    runAfter: Number(r.run_after),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  }
  if (r.scheduled_for !== null) job.scheduledFor = Number(r.scheduled_for)
  if (r.started_at !== null) job.startedAt = Number(r.started_at)
  if (r.refresh_mode !== null && r.refresh_mode !== undefined) job.refreshMode = r.refresh_mode
  return job
}

function toAttempt(r: AttemptRow): AttemptRecord {
  const attempt: AttemptRecord = {
    jobId: Number(r.job_id),
    attemptNumber: r.attempt_number,
    status: r.status,
    totalStats: r.total_stats,
    streamStats: r.stream_stats,
    failures: r.failures,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  }
  if (r.worker_id !== null) attempt.workerId = r.worker_id
  if (r.lease_expires_at !== null) attempt.leaseExpiresAt = Number(r.lease_expires_at)
  if (r.ended_at !== null) attempt.endedAt = Number(r.ended_at)
  return attempt
}
