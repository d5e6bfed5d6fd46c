import type { SqliteDatabase } from './database.js'
import { SluiceError } from '../../errors.js'
import { type StreamDescriptor, streamKey, type StreamStats } from '../../protocol/index.js'
import { ACTIVE_JOB_STATUSES, CLAIMABLE_JOB_STATUSES, canEndAttempt, isLeaseExpired, nextJobState, type JobTransition } from '../../domain/job-transitions.js'
import { type AttemptOutcome, type AttemptRecord, type JobOutcome, type ClaimedAttempt, type CreateJobInput, type JobConfigType, type JobCounts, type JobListFilter, type JobRecord, type JobStatus, type JobStore, type LogHeadTrim, type RefreshMode, type StreamStateRecord } from '../job-store.js'

/** Options of {@link SqliteJobStore}. */
export interface SqliteJobStoreOptions {
  /** Clock in epoch ms; injected by tests (schedules, leases). Defaults to Date.now. */
  now?: () => number
}

interface JobRow {
  id: number
  config_type: string
  config_id: string
  status: string
  streams: string
  scheduled_for: number | null
  cancel_requested: number
  run_after: number
  created_at: number
  updated_at: number
  started_at: number | null
  refresh_mode: string | null
}

interface AttemptRow {
  job_id: number
  attempt_number: number
  status: string
  worker_id: string | null
  lease_expires_at: number | null
  total_stats: string
  stream_stats: string
  failures: string
  created_at: number
  updated_at: number
  ended_at: number | null
}

/** Non-terminal statuses, spelled as in the partial index `jobs_active` (migration 003) so SQLite uses it. */
const ACTIVE_SQL = ACTIVE_JOB_STATUSES.map((s) => `'${s}'`).join(', ')
/** Claimable statuses, spelled as in the partial index of runnable jobs so SQLite uses it. */
const CLAIMABLE_SQL = CLAIMABLE_JOB_STATUSES.map((s) => `'${s}'`).join(', ')
const DEFAULT_PAGE_SIZE = 200
/** Retention deletes at most this many log lines, or jobs, per transaction. */
const RETENTION_LOG_BATCH = 10_000
const RETENTION_JOB_BATCH = 100

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/** All-zero stats of a fresh attempt. */
export function emptyStats(): StreamStats {
  return { recordsEmitted: 0, bytesEmitted: 0, recordsCommitted: 0, bytesCommitted: 0, stateMessagesEmitted: 0 }
}

/**
 * JobStore on the embedded SQLite database (better-sqlite3, synchronous). Every read-modify-write
 * runs inside `BEGIN IMMEDIATE` so two claimers (threads or processes on the same file) never
 * take the same job. Status changes are decided by the job state machine (domain/job-transitions)
 * and written as compare-and-set updates. Every timestamp is epoch ms.
 */
export class SqliteJobStore implements JobStore {
  readonly #db: SqliteDatabase
  readonly #now: () => number
  readonly #runnableListeners = new Set<() => void>()

  constructor(db: SqliteDatabase, options: SqliteJobStoreOptions = {}) {
    this.#db = db
    this.#now = options.now ?? Date.now
  }

  /**
   * Calls `listener` after each new job is committed, so a worker in this process can claim it at
   * once instead of at its next poll. Returns the unsubscribe function.
   */
  onRunnable(listener: () => void): () => void {
    this.#runnableListeners.add(listener)
    return () => this.#runnableListeners.delete(listener)
  }

  /** Runs fn in a BEGIN IMMEDIATE transaction (takes the write lock up front). */
  #immediate<T>(fn: () => T): T {
    return this.#db.transaction(fn).immediate()
  }

  async createJob(input: CreateJobInput): Promise<JobRecord> {
    const job = this.#insertJob(input)
    for (const listener of this.#runnableListeners) listener()
    return job
  }

  #insertJob(input: CreateJobInput): JobRecord {
    return this.#immediate(() => {
      const now = this.#now()
      const active = this.#activeRows(input.configId)
      if (active.length > 0) {
        if (input.cancelActive !== true) {
          throw new SluiceError('SLUICE_ERR_SYNC_RUNNING', `A sync is already running for: ${input.configId}`)
        }
        for (const row of active) {
          const job = toJob(row)
          this.#applyTransition(job.id, nextJobState(job, { type: 'superseded' }), now)
        }
      }
      if (input.scheduledFor !== undefined) {
        const taken = this.#db.prepare('SELECT id FROM jobs WHERE config_id = ? AND scheduled_for = ?').get(input.configId, input.scheduledFor)
        if (taken !== undefined) {
          throw new SluiceError('SLUICE_ERR_CONFLICT', `A job already exists for the schedule slot ${new Date(input.scheduledFor).toISOString()} of connection ${input.configId}.`)
        }
      }
      const info = this.#db
        .prepare(
          `INSERT INTO jobs (config_type, config_id, status, streams, scheduled_for, cancel_requested, run_after, created_at, updated_at, refresh_mode)
           VALUES (?, ?, 'pending', ?, ?, 0, 0, ?, ?, ?)`,
        )
        .run(input.configType, input.configId, JSON.stringify(input.streams.map(plainDescriptor)), input.scheduledFor ?? null, now, now, input.refreshMode ?? null)
      return this.#jobById(Number(info.lastInsertRowid)) as JobRecord
    })
  }

  async getJob(id: number): Promise<JobRecord | undefined> {
    return this.#jobById(id)
  }

  async listJobs(filter: JobListFilter): Promise<{ jobs: JobRecord[]; totalJobCount: number }> {
    const where: string[] = []
    const params: unknown[] = []
    if (filter.configTypes !== undefined && filter.configTypes.length > 0) {
      where.push(`config_type IN (${filter.configTypes.map(() => '?').join(', ')})`)
      params.push(...filter.configTypes)
    }
    if (filter.configId !== undefined) {
      where.push('config_id = ?')
      params.push(filter.configId)
    }
    if (filter.statuses !== undefined && filter.statuses.length > 0) {
      where.push(`status IN (${filter.statuses.map(() => '?').join(', ')})`)
      params.push(...filter.statuses)
    }
    const ranges: Array<[number | undefined, string]> = [
      [filter.createdAtStart, 'created_at >= ?'],
      [filter.createdAtEnd, 'created_at <= ?'],
      [filter.updatedAtStart, 'updated_at >= ?'],
      [filter.updatedAtEnd, 'updated_at <= ?'],
    ]
    for (const [value, clause] of ranges) {
      if (value !== undefined) {
        where.push(clause)
        params.push(value)
      }
    }
    const whereSql = where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''
    const column = filter.orderByField === 'updatedAt' ? 'updated_at' : 'created_at'
    const direction = filter.orderByMethod === 'ASC' ? 'ASC' : 'DESC'
    const pageSize = Math.max(0, Math.floor(filter.pageSize ?? DEFAULT_PAGE_SIZE))
    const offset = Math.max(0, Math.floor(filter.rowOffset ?? 0))
    const total = this.#db.prepare(`SELECT COUNT(*) AS n FROM jobs ${whereSql}`).get(...params) as { n: number }
    const rows = this.#db
      .prepare(`SELECT * FROM jobs ${whereSql} ORDER BY ${column} ${direction}, id ${direction} LIMIT ? OFFSET ?`)
      .all(...params, pageSize, offset) as JobRow[]
    return { jobs: rows.map(toJob), totalJobCount: total.n }
  }

  async activeJob(connectionId: string): Promise<JobRecord | undefined> {
    const row = this.#activeRows(connectionId)[0]
    return row === undefined ? undefined : toJob(row)
  }

  async updateJob(id: number, patch: Partial<Pick<JobRecord, 'status' | 'runAfter' | 'cancelRequested' | 'startedAt'>>): Promise<JobRecord> {
    return this.#immediate(() => {
      const current = this.#jobById(id)
      if (current === undefined) throw new SluiceError('SLUICE_ERR_NOT_FOUND', `Could not find job with id: ${id}`, { id })
      this.#applyTransition(id, nextJobState(current, { type: 'patched', patch }), this.#now())
      return this.#jobById(id) as JobRecord
    })
  }

  async requestCancel(id: number): Promise<JobRecord | undefined> {
    return this.#immediate(() => {
      const job = this.#jobById(id)
      if (job === undefined) return undefined
      const transition = nextJobState(job, { type: 'cancel_requested' })
      if (transition !== undefined) this.#applyTransition(id, transition, this.#now())
      return this.#jobById(id)
    })
  }

  async listAttempts(jobId: number): Promise<AttemptRecord[]> {
    const rows = this.#db.prepare('SELECT * FROM attempts WHERE job_id = ? ORDER BY attempt_number').all(jobId) as AttemptRow[]
    return rows.map(toAttempt)
  }

  async getAttempt(jobId: number, attemptNumber: number): Promise<AttemptRecord | undefined> {
    return this.#attempt(jobId, attemptNumber)
  }

  async updateAttempt(
    jobId: number,
    attemptNumber: number,
    patch: Partial<Pick<AttemptRecord, 'status' | 'totalStats' | 'streamStats' | 'failures' | 'endedAt' | 'leaseExpiresAt' | 'workerId'>>,
  ): Promise<AttemptRecord> {
    return this.#immediate(() => {
      const current = this.#attempt(jobId, attemptNumber)
      if (current === undefined) {
        throw new SluiceError('SLUICE_ERR_NOT_FOUND', `Could not find attempt ${attemptNumber} of job ${jobId}`, { id: jobId })
      }
      this.#writeAttempt({ ...current, ...patch, updatedAt: this.#now() })
      return this.#attempt(jobId, attemptNumber) as AttemptRecord
    })
  }

  async claimNext(workerId: string, leaseMs: number, now?: number): Promise<ClaimedAttempt | undefined> {
    return this.#immediate(() => {
      const nowMs = now ?? this.#now()
      const row = this.#db
        .prepare(
          // The IN term lets SQLite use the partial index of runnable jobs; CROSS JOIN makes the
          // check for a running attempt start from the (few) running attempts, not the history.
          `SELECT j.* FROM jobs j
           WHERE j.status IN (${CLAIMABLE_SQL})
             AND (j.status = 'pending' OR j.run_after <= ?)
             AND j.cancel_requested = 0
             AND NOT EXISTS (
               SELECT 1 FROM attempts a CROSS JOIN jobs o ON o.id = a.job_id
               WHERE a.status = 'running' AND o.config_id = j.config_id)
           ORDER BY j.id LIMIT 1`,
        )
        .get(nowMs) as JobRow | undefined
      if (row === undefined) return undefined
      // The query narrows the candidates; the state machine decides (in the same write lock).
      const transition = nextJobState(toJob(row), { type: 'claim', now: nowMs })
      if (transition === undefined) return undefined
      const last = this.#db.prepare('SELECT MAX(attempt_number) AS n FROM attempts WHERE job_id = ?').get(row.id) as { n: number | null }
      const attemptNumber = last.n === null ? 0 : last.n + 1
      this.#db
        .prepare(
          `INSERT INTO attempts (job_id, attempt_number, status, worker_id, lease_expires_at, total_stats, stream_stats, failures, created_at, updated_at)
           VALUES (?, ?, 'running', ?, ?, ?, '[]', '[]', ?, ?)`,
        )
        .run(row.id, attemptNumber, workerId, nowMs + leaseMs, JSON.stringify(emptyStats()), nowMs, nowMs)
      this.#applyTransition(row.id, transition, nowMs)
      return { job: this.#jobById(row.id) as JobRecord, attempt: this.#attempt(row.id, attemptNumber) as AttemptRecord }
    })
  }

  async heartbeat(jobId: number, attemptNumber: number, workerId: string, leaseMs: number): Promise<boolean> {
    const nowMs = this.#now()
    const info = this.#db
      .prepare(`UPDATE attempts SET lease_expires_at = ? WHERE job_id = ? AND attempt_number = ? AND worker_id = ? AND status = 'running'`)
      .run(nowMs + leaseMs, jobId, attemptNumber, workerId)
    return info.changes === 1
  }

  async expiredAttempts(now?: number): Promise<AttemptRecord[]> {
    const at = now ?? this.#now()
    // Running attempts are few (one per busy connection): read them all, let the rule decide.
    const rows = this.#db.prepare(`SELECT * FROM attempts WHERE status = 'running' ORDER BY job_id, attempt_number`).all() as AttemptRow[]
    return rows.map(toAttempt).filter((a) => isLeaseExpired(a, at))
  }

  async finishAttempt(
    jobId: number,
    attemptNumber: number,
    workerId: string | undefined,
    attempt: AttemptOutcome,
    job: JobOutcome,
  ): Promise<boolean> {
    return this.#immediate(() => {
      const current = this.#attempt(jobId, attemptNumber)
      if (current === undefined || !canEndAttempt(current, workerId)) return false
      const now = this.#now()
      this.#writeAttempt({ ...current, ...attempt, endedAt: now, updatedAt: now, leaseExpiresAt: undefined })
      const owner = this.#jobById(jobId)
      if (owner === undefined) return true
      const transition = nextJobState(owner, { type: 'attempt_ended', outcome: job })
      if (transition !== undefined) this.#applyTransition(jobId, transition, now)
      // A job already terminal (cancelled by a reset) still records when its attempt ended.
      else this.#db.prepare('UPDATE jobs SET updated_at = ? WHERE id = ?').run(now, jobId)
      return true
    })
  }

  async getState(connectionId: string): Promise<StreamStateRecord[]> {
    const rows = this.#db.prepare('SELECT stream, state FROM stream_state WHERE connection_id = ? ORDER BY stream_key').all(connectionId) as Array<{
      stream: string
      state: string | null
    }>
    return rows.map((r) => ({ stream: JSON.parse(r.stream) as StreamDescriptor, state: r.state === null ? null : (JSON.parse(r.state) as Record<string, unknown>) }))
  }

  async saveState(connectionId: string, states: StreamStateRecord[]): Promise<void> {
    if (states.length === 0) return
    this.#immediate(() => {
      const upsert = this.#db.prepare(
        `INSERT INTO stream_state (connection_id, stream_key, stream, state) VALUES (?, ?, ?, ?)
         ON CONFLICT (connection_id, stream_key) DO UPDATE SET stream = excluded.stream, state = excluded.state`,
      )
      for (const s of states) {
        upsert.run(connectionId, streamKey(s.stream), JSON.stringify(plainDescriptor(s.stream)), s.state === null ? null : JSON.stringify(s.state))
      }
    })
  }

  async clearState(connectionId: string, streams?: StreamDescriptor[]): Promise<void> {
    this.#immediate(() => {
      if (streams === undefined) {
        this.#db.prepare('DELETE FROM stream_state WHERE connection_id = ?').run(connectionId)
        return
      }
      const del = this.#db.prepare('DELETE FROM stream_state WHERE connection_id = ? AND stream_key = ?')
      for (const s of streams) del.run(connectionId, streamKey(s))
    })
  }

  async getGenerations(connectionId: string): Promise<Map<string, number>> {
    const rows = this.#db.prepare('SELECT stream_key, generation FROM stream_generations WHERE connection_id = ?').all(connectionId) as Array<{
      stream_key: string
      generation: number
    }>
    return new Map(rows.map((r) => [r.stream_key, r.generation]))
  }

  async bumpGenerations(connectionId: string, streams: StreamDescriptor[]): Promise<Map<string, number>> {
    return this.#immediate(() => {
      const bump = this.#db.prepare(
        `INSERT INTO stream_generations (connection_id, stream_key, generation) VALUES (?, ?, 1)
         ON CONFLICT (connection_id, stream_key) DO UPDATE SET generation = generation + 1
         RETURNING generation`,
      )
      const result = new Map<string, number>()
      for (const s of streams) {
        const key = streamKey(s)
        if (result.has(key)) continue
        const row = bump.get(connectionId, key) as { generation: number }
        result.set(key, row.generation)
      }
      return result
    })
  }

  async appendLogs(jobId: number, attemptNumber: number, lines: string[], trim?: LogHeadTrim): Promise<void> {
    if (lines.length === 0 && trim === undefined) return
    this.#immediate(() => {
      if (trim !== undefined && trim.count > 0) {
        // The newest of the lines that go carries the marker, so it stays first in id order.
        const last = this.#db
          .prepare('SELECT id FROM attempt_logs WHERE job_id = ? AND attempt_number = ? ORDER BY id LIMIT 1 OFFSET ?')
          .get(jobId, attemptNumber, trim.count - 1) as { id: number } | undefined
        const keep = last?.id ?? Number.MAX_SAFE_INTEGER
        this.#db.prepare('DELETE FROM attempt_logs WHERE job_id = ? AND attempt_number = ? AND id < ?').run(jobId, attemptNumber, keep)
        if (last !== undefined) this.#db.prepare('UPDATE attempt_logs SET line = ? WHERE id = ?').run(trim.marker, last.id)
        else this.#db.prepare('INSERT INTO attempt_logs (job_id, attempt_number, line) VALUES (?, ?, ?)').run(jobId, attemptNumber, trim.marker)
      }
      const insert = this.#db.prepare('INSERT INTO attempt_logs (job_id, attempt_number, line) VALUES (?, ?, ?)')
      for (const line of lines) insert.run(jobId, attemptNumber, line)
    })
  }

  async readLogs(jobId: number, attemptNumber: number): Promise<string[]> {
    const rows = this.#db.prepare('SELECT line FROM attempt_logs WHERE job_id = ? AND attempt_number = ? ORDER BY id').all(jobId, attemptNumber) as Array<{ line: string }>
    return rows.map((r) => r.line)
  }

  async deleteLogsEndedBefore(endedBefore: number): Promise<number> {
    // From the ended attempts into the log index (CROSS JOIN fixes that order): never a scan of
    // every log line. Batches keep each write lock short; the event loop runs between them.
    const batch = this.#db.prepare(
      `DELETE FROM attempt_logs WHERE id IN (
         SELECT l.id FROM attempts a CROSS JOIN attempt_logs l ON l.job_id = a.job_id AND l.attempt_number = a.attempt_number
         WHERE a.ended_at < ? LIMIT ${RETENTION_LOG_BATCH})`,
    )
    let total = 0
    for (;;) {
      const deleted = this.#immediate(() => batch.run(endedBefore).changes)
      total += deleted
      if (deleted < RETENTION_LOG_BATCH) return total
      await yieldToEventLoop()
    }
  }

  async deleteJobsFinishedBefore(updatedBefore: number): Promise<number> {
    // The jobs each connection keeps, read once: a sweep only deletes older jobs, so one that is
    // the latest (or latest succeeded) now stays so, and reading the set per batch scanned every
    // job each time.
    const kept = this.#db
      .prepare(
        `SELECT max(id) AS id FROM jobs GROUP BY config_id, config_type
         UNION SELECT max(id) FROM jobs WHERE status = 'succeeded' GROUP BY config_id, config_type`,
      )
      .all() as Array<{ id: number }>
    const keep = JSON.stringify(kept.map((r) => r.id))
    const select = this.#db.prepare(
      `SELECT id FROM jobs WHERE status NOT IN (${ACTIVE_SQL}) AND updated_at < ?
         AND id NOT IN (SELECT value FROM json_each(?))
       LIMIT ${RETENTION_JOB_BATCH}`,
    )
    const deleteLogs = this.#db.prepare('DELETE FROM attempt_logs WHERE job_id = ?')
    // Attempts go with their job (ON DELETE CASCADE).
    const deleteJob = this.#db.prepare('DELETE FROM jobs WHERE id = ?')
    let total = 0
    for (;;) {
      const deleted = this.#immediate(() => {
        const ids = (select.all(updatedBefore, keep) as Array<{ id: number }>).map((r) => r.id)
        for (const id of ids) {
          deleteLogs.run(id)
          deleteJob.run(id)
        }
        return ids.length
      })
      total += deleted
      if (deleted < RETENTION_JOB_BATCH) return total
      await yieldToEventLoop()
    }
  }

  async jobCounts(now?: number): Promise<JobCounts> {
    const nowMs = now ?? this.#now()
    // A read transaction, so the three counts come from one snapshot.
    return this.#db.transaction((): JobCounts => {
      const byStatus = this.#db
        .prepare('SELECT status, config_type AS configType, COUNT(*) AS count FROM jobs GROUP BY status, config_type ORDER BY status, config_type')
        .all() as JobCounts['byStatusAndType']
      // The claim's WHERE minus the one-running-attempt-per-connection check: a job queued behind its connection still waits.
      const queue = this.#db
        .prepare(
          `SELECT COUNT(*) AS queued, MIN(MAX(run_after, created_at)) AS oldest FROM jobs
           WHERE status IN (${CLAIMABLE_SQL}) AND (status = 'pending' OR run_after <= ?) AND cancel_requested = 0`,
        )
        .get(nowMs) as { queued: number; oldest: number | null }
      const byWorker = this.#db
        .prepare(`SELECT worker_id AS workerId, COUNT(*) AS count FROM attempts WHERE status = 'running' AND worker_id IS NOT NULL GROUP BY worker_id ORDER BY worker_id`)
        .all() as JobCounts['runningAttemptsByWorker']
      const counts: JobCounts = { byStatusAndType: byStatus, queued: queue.queued, runningAttemptsByWorker: byWorker }
      if (queue.oldest !== null) counts.oldestQueuedSince = queue.oldest
      return counts
    })()
  }

  #activeRows(connectionId: string): JobRow[] {
    return this.#db.prepare(`SELECT * FROM jobs WHERE config_id = ? AND status IN (${ACTIVE_SQL}) ORDER BY id DESC`).all(connectionId) as JobRow[]
  }

  /**
   * Writes a decided transition as a compare-and-set on the status and cancel flag it was decided
   * from. Callers hold the write lock, so a lost swap is a bug, not a race: it throws.
   */
  #applyTransition(id: number, transition: JobTransition | undefined, now: number): void {
    if (transition === undefined) return
    const { from, to } = transition
    const info = this.#db
      .prepare(
        `UPDATE jobs SET status = ?, cancel_requested = ?, run_after = ?, started_at = ?, updated_at = ?
         WHERE id = ? AND status = ? AND cancel_requested = ?`,
      )
      .run(to.status, to.cancelRequested ? 1 : 0, to.runAfter, to.startedAt ?? null, now, id, from.status, from.cancelRequested ? 1 : 0)
    if (info.changes !== 1) throw new SluiceError('SLUICE_ERR_CONFLICT', `Job ${id} changed while it moved from ${from.status} to ${to.status}.`, { id })
  }

  #jobById(id: number): JobRecord | undefined {
    const row = this.#db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined
    return row === undefined ? undefined : toJob(row)
  }

  #attempt(jobId: number, attemptNumber: number): AttemptRecord | undefined {
    const row = this.#db.prepare('SELECT * FROM attempts WHERE job_id = ? AND attempt_number = ?').get(jobId, attemptNumber) as AttemptRow | undefined
    return row === undefined ? undefined : toAttempt(row)
  }

  #writeAttempt(a: AttemptRecord): void {
    this.#db
      .prepare(
        `UPDATE attempts SET status = ?, worker_id = ?, lease_expires_at = ?, total_stats = ?, stream_stats = ?, failures = ?,
           updated_at = ?, ended_at = ? WHERE job_id = ? AND attempt_number = ?`,
      )
      .run(
        a.status,
        a.workerId ?? null,
        a.leaseExpiresAt ?? null,
        JSON.stringify(a.totalStats),
        JSON.stringify(a.streamStats),
        JSON.stringify(a.failures),
        a.updatedAt,
        a.endedAt ?? null,
        a.jobId,
        a.attemptNumber,
      )
  }
}

/** Keeps only name and a non-empty namespace, so stored descriptors compare by value. */
function plainDescriptor(d: StreamDescriptor): StreamDescriptor {
  return d.namespace === undefined || d.namespace === null || d.namespace === '' ? { name: d.name } : { name: d.name, namespace: d.namespace }
}

function toJob(r: JobRow): JobRecord {
  const job: JobRecord = {
    id: r.id,
    configType: r.config_type as JobConfigType,
    configId: r.config_id,
    status: r.status as JobStatus,
    streams: JSON.parse(r.streams) as StreamDescriptor[],
    cancelRequested: r.cancel_requested === 1,
    runAfter: r.run_after,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
  if (r.scheduled_for !== null) job.scheduledFor = r.scheduled_for
  if (r.started_at !== null) job.startedAt = r.started_at
  if (r.refresh_mode !== null) job.refreshMode = r.refresh_mode as RefreshMode
  return job
}

function toAttempt(r: AttemptRow): AttemptRecord {
  const a: AttemptRecord = {
    jobId: r.job_id,
    attemptNumber: r.attempt_number,
    status: r.status as AttemptRecord['status'],
    totalStats: JSON.parse(r.total_stats) as StreamStats,
    streamStats: JSON.parse(r.stream_stats) as AttemptRecord['streamStats'],
    failures: JSON.parse(r.failures) as AttemptRecord['failures'],
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
  if (r.worker_id !== null) a.workerId = r.worker_id
  if (r.lease_expires_at !== null) a.leaseExpiresAt = r.lease_expires_at
  if (r.ended_at !== null) a.endedAt = r.ended_at
  return a
}
