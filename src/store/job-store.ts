import type { FailureReasonRecord, StreamDescriptor, StreamStats, StreamStatsEntry } from '../protocol/index.js'

/**
 * Job store port: jobs, attempts, per-stream state, generations and attempt logs, plus the
 * claim/lease primitives the worker uses. Adapters: sqlite/ (one process, BEGIN IMMEDIATE) and
 * postgres/ (FOR UPDATE SKIP LOCKED, leases renewed by heartbeat). Both take every status
 * change from the job state machine in domain/job-transitions.ts and write it as a
 * compare-and-set; every time in a job or attempt record is epoch ms.
 */
export const JOB_STATUSES = ['pending', 'running', 'incomplete', 'failed', 'succeeded', 'cancelled'] as const
export type JobStatus = (typeof JOB_STATUSES)[number]
export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ['failed', 'succeeded', 'cancelled']

export const JOB_CONFIG_TYPES = ['sync', 'reset_connection', 'refresh', 'clear'] as const
export type JobConfigType = (typeof JOB_CONFIG_TYPES)[number]

export type AttemptStatus = 'running' | 'failed' | 'succeeded'

export const REFRESH_MODES = ['truncate', 'merge'] as const
export type RefreshMode = (typeof REFRESH_MODES)[number]

export interface JobRecord {
  id: number
  configType: JobConfigType
  /** connectionId */
  configId: string
  status: JobStatus
  /** Streams the job works on (reset/clear: the streams to reset). */
  streams: StreamDescriptor[]
  /** Set when the job was created by the scheduler: the slot it is for (epoch ms); unique per connection. */
  scheduledFor?: number
  /**
   * Refresh jobs only: `truncate` drops the streams' older records at the end, `merge` keeps
   * them. Adapters that do not store it read it back as undefined, which the worker runs as merge.
   */
  refreshMode?: RefreshMode
  cancelRequested: boolean
  /** Earliest time (epoch ms) a worker may start the next attempt (retry backoff). */
  runAfter: number
  /** epoch ms, like every time in job and attempt records (the API converts to Airbyte's seconds) */
  createdAt: number
  /** epoch ms */
  updatedAt: number
  /** epoch ms: when the first attempt was claimed */
  startedAt?: number
}

export interface AttemptRecord {
  jobId: number
  /** 0-based */
  attemptNumber: number
  status: AttemptStatus
  workerId?: string
  /** epoch ms; the worker must heartbeat before this or loses the attempt */
  leaseExpiresAt?: number
  totalStats: StreamStats
  streamStats: StreamStatsEntry[]
  failures: FailureReasonRecord[]
  /** epoch ms */
  createdAt: number
  /** epoch ms */
  updatedAt: number
  /** epoch ms */
  endedAt?: number
}

export interface StreamStateRecord {
  stream: StreamDescriptor
  /** Opaque connector state; null means "reset". */
  state: Record<string, unknown> | null
}

export interface JobListFilter {
  configTypes?: JobConfigType[]
  configId?: string
  statuses?: JobStatus[]
  /** Inclusive bounds, epoch ms. */
  createdAtStart?: number
  createdAtEnd?: number
  updatedAtStart?: number
  updatedAtEnd?: number
  orderByField?: 'createdAt' | 'updatedAt'
  orderByMethod?: 'ASC' | 'DESC'
  pageSize?: number
  rowOffset?: number
}

/** A job handed to a worker together with the attempt it must run. */
export interface ClaimedAttempt {
  job: JobRecord
  attempt: AttemptRecord
}

/** How an attempt ended, as `JobStore.finishAttempt` records it. */
export type AttemptOutcome = Pick<AttemptRecord, 'status' | 'failures'> & Partial<Pick<AttemptRecord, 'totalStats' | 'streamStats'>>

/** Where the job goes when its attempt ends (`JobStore.finishAttempt`). */
export type JobOutcome = Pick<JobRecord, 'status'> & Partial<Pick<JobRecord, 'runAfter'>>

/** What `JobStore.createJob` takes. */
export interface CreateJobInput {
  configType: JobConfigType
  configId: string
  streams: StreamDescriptor[]
  scheduledFor?: number
  cancelActive?: boolean
  refreshMode?: RefreshMode
}

/** Counts a monitoring scrape reads (`JobStore.jobCounts`). */
export interface JobCounts {
  /** Jobs per (status, type); combinations with no job are left out. */
  byStatusAndType: Array<{ status: JobStatus; configType: JobConfigType; count: number }>
  /** Jobs waiting for a worker now: pending, or incomplete with runAfter <= now; no cancel request. */
  queued: number
  /** Epoch ms since which the longest-waiting queued job has been runnable (its creation or its runAfter). */
  oldestQueuedSince?: number
  /** Running attempts per worker id. */
  runningAttemptsByWorker: Array<{ workerId: string; count: number }>
}

/** What `JobStore.appendLogs` removes first: the attempt log's size cap keeps the tail. */
export interface LogHeadTrim {
  /** How many of the attempt's oldest stored lines go. */
  count: number
  /** The line that takes their place, first in the log (says what was dropped). */
  marker: string
}

export interface JobStore {
  /**
   * Creates a pending job; throws SLUICE_ERR_SYNC_RUNNING if the connection has a non-terminal
   * job, SLUICE_ERR_CONFLICT if a job already exists for (configId, scheduledFor).
   * With `cancelActive` (reset/clear), the connection's non-terminal job is instead made
   * `cancelled` with cancelRequested set, in the same transaction; its running attempt (if any)
   * keeps running until its worker sees the request, and `claimNext` will not start the new job
   * while that attempt runs.
   */
  createJob(input: CreateJobInput): Promise<JobRecord>
  getJob(id: number): Promise<JobRecord | undefined>
  listJobs(filter: JobListFilter): Promise<{ jobs: JobRecord[]; totalJobCount: number }>
  /** The non-terminal job of a connection, if any. */
  activeJob(connectionId: string): Promise<JobRecord | undefined>
  updateJob(id: number, patch: Partial<Pick<JobRecord, 'status' | 'runAfter' | 'cancelRequested' | 'startedAt'>>): Promise<JobRecord>

  listAttempts(jobId: number): Promise<AttemptRecord[]>
  getAttempt(jobId: number, attemptNumber: number): Promise<AttemptRecord | undefined>
  updateAttempt(
    jobId: number,
    attemptNumber: number,
    patch: Partial<Pick<AttemptRecord, 'status' | 'totalStats' | 'streamStats' | 'failures' | 'endedAt' | 'leaseExpiresAt' | 'workerId'>>,
  ): Promise<AttemptRecord>

  /**
   * Cancels a job: pending or incomplete -> cancelled at once; running -> cancelRequested set
   * (the worker aborts the attempt and then marks the job cancelled); terminal: unchanged.
   * Returns the job after the change, undefined when it does not exist.
   */
  requestCancel(id: number): Promise<JobRecord | undefined>

  /**
   * Atomically picks the oldest runnable job (pending, or incomplete with runAfter <= now, and
   * cancelRequested false) whose connection has no running attempt, creates its next attempt
   * (status running, lease for `leaseMs`) and moves the job to running.
   */
  claimNext(workerId: string, leaseMs: number, now?: number): Promise<ClaimedAttempt | undefined>
  /** Extends the lease; returns false if the attempt is no longer this worker's. */
  heartbeat(jobId: number, attemptNumber: number, workerId: string, leaseMs: number): Promise<boolean>
  /** Running attempts whose lease expired (their worker died). */
  expiredAttempts(now?: number): Promise<AttemptRecord[]>
  /**
   * Ends a running attempt and updates its job in one transaction. The job patch is skipped
   * when the job is already terminal (e.g. cancelled by a reset), and a job whose cancel was
   * requested becomes `cancelled` instead of `incomplete`/`pending` (the worker also sweeps such
   * jobs, for adapters that do not). Returns false, changing nothing, when the attempt is no
   * longer running or (given `workerId`) belongs to another worker.
   */
  finishAttempt(
    jobId: number,
    attemptNumber: number,
    workerId: string | undefined,
    attempt: AttemptOutcome,
    job: JobOutcome,
  ): Promise<boolean>

  getState(connectionId: string): Promise<StreamStateRecord[]>
  /** Upserts the given streams' states (state already durable in the destination). */
  saveState(connectionId: string, states: StreamStateRecord[]): Promise<void>
  /** Deletes state of the given streams, or of all streams when omitted. */
  clearState(connectionId: string, streams?: StreamDescriptor[]): Promise<void>

  /** Current generation id per stream (0 when never bumped). */
  getGenerations(connectionId: string): Promise<Map<string, number>>
  /** Increments and returns the generation of each stream. */
  bumpGenerations(connectionId: string, streams: StreamDescriptor[]): Promise<Map<string, number>>

  /**
   * Appends lines to an attempt's log. With `trim`, first replaces the attempt's `trim.count`
   * oldest lines by `trim.marker`, in the same transaction.
   */
  appendLogs(jobId: number, attemptNumber: number, lines: string[], trim?: LogHeadTrim): Promise<void>
  readLogs(jobId: number, attemptNumber: number): Promise<string[]>

  /**
   * Retention: deletes the log lines of every attempt that ended before `endedBefore` (epoch ms).
   * Returns the number of lines deleted. Safe to run from several processes at once.
   */
  deleteLogsEndedBefore(endedBefore: number): Promise<number>
  /**
   * Retention: deletes terminal jobs last updated before `updatedBefore` (epoch ms), with their
   * attempts and logs, except the latest job of each connection (schedules and the UI's last
   * sync read it). Returns the number of jobs deleted. Safe to run from several processes at once.
   */
  deleteJobsFinishedBefore(updatedBefore: number): Promise<number>

  /** Job counts by status and type, the queue and running attempts per worker, read in one go (metrics). */
  jobCounts(now?: number): Promise<JobCounts>
}
