import { SluiceError } from '../errors.js'
import { JOB_STATUSES, TERMINAL_JOB_STATUSES, type AttemptRecord, type JobOutcome, type JobRecord, type JobStatus } from '../store/job-store.js'

/**
 * The job state machine, written once. Both job stores read the current row, ask these pure
 * functions what happens next, and write the answer with a compare-and-set on the fields the
 * decision was made from (`UPDATE ... WHERE status = <from> AND cancel_requested = <before>`), so
 * the rules live here and the SQL only reads and swaps.
 *
 * ```
 *   pending ──claim──▶ running ──attempt ended──▶ succeeded | failed | incomplete | cancelled
 *      │                  │                                             │
 *      │             cancel: cancelRequested set, the worker ends it    └──claim after runAfter──▶ running
 *      └── cancel / superseded by a reset ──▶ cancelled (cancelRequested set)
 * ```
 * Terminal statuses (succeeded, failed, cancelled) are final.
 */

/** The fields of a job the transitions read and write. */
export type JobState = Pick<JobRecord, 'status' | 'cancelRequested' | 'runAfter' | 'startedAt'>

/** What happened to a job. `now` is epoch ms. */
export type JobStateEvent =
  /** A worker wants to start the job's next attempt. */
  | { type: 'claim'; now: number }
  /** The job's running attempt ended; the worker proposes where the job goes. */
  | { type: 'attempt_ended'; outcome: JobOutcome }
  /** A user (or a sweep of stranded jobs) asked to cancel. */
  | { type: 'cancel_requested' }
  /** A reset/clear/refresh created with `cancelActive` replaces the connection's active job. */
  | { type: 'superseded' }
  /** A direct patch (`JobStore.updateJob`): repair and tests, still bound by the terminal rule. */
  | { type: 'patched'; patch: Partial<JobState> }

/**
 * A decided change. The store writes `to` only if the row still holds `from`
 * (compare-and-set); a row that moved meanwhile means another process decided first.
 */
export interface JobTransition {
  from: Pick<JobState, 'status' | 'cancelRequested'>
  to: JobState
  /** True when the job may be claimed after the change (stores wake idle workers). */
  runnable: boolean
  /** True when a running attempt should stop (stores tell its worker at once). */
  cancelSignalled: boolean
}

/** Statuses a worker may claim from (`incomplete` once its runAfter passed). */
export const CLAIMABLE_JOB_STATUSES: readonly JobStatus[] = ['pending', 'incomplete']
/** Non-terminal statuses: a connection has at most one job in them. */
export const ACTIVE_JOB_STATUSES: readonly JobStatus[] = JOB_STATUSES.filter((s) => !TERMINAL_JOB_STATUSES.includes(s))

/** True for succeeded, failed and cancelled: no event changes such a job. */
export function isTerminalJobStatus(status: JobStatus): boolean {
  return TERMINAL_JOB_STATUSES.includes(status)
}

/** True when a worker may start the job's next attempt at `now` (epoch ms). */
export function isClaimable(job: Pick<JobState, 'status' | 'cancelRequested' | 'runAfter'>, now: number): boolean {
  if (job.cancelRequested) return false
  return job.status === 'pending' || (job.status === 'incomplete' && job.runAfter <= now)
}

/**
 * The job's next state after `event`, or undefined when the event changes nothing (a terminal
 * job, a job not claimable yet, a cancel already requested). Throws SLUICE_ERR_CONFLICT for a
 * patch that would leave a terminal status.
 */
export function nextJobState(job: JobState, event: JobStateEvent): JobTransition | undefined {
  const from = { status: job.status, cancelRequested: job.cancelRequested }
  const change = (to: Partial<JobState>, cancelSignalled = false): JobTransition => {
    const merged = { ...job, ...to }
    // Only the state fields: callers pass whole records.
    const next: JobState = { status: merged.status, cancelRequested: merged.cancelRequested, runAfter: merged.runAfter }
    if (merged.startedAt !== undefined) next.startedAt = merged.startedAt
    return { from, to: next, runnable: CLAIMABLE_JOB_STATUSES.includes(next.status) && !next.cancelRequested, cancelSignalled }
  }
  switch (event.type) {
    case 'claim':
      if (!isClaimable(job, event.now)) return undefined
      return change({ status: 'running', startedAt: job.startedAt ?? event.now })
    case 'attempt_ended': {
      // A job already terminal (cancelled by a reset) keeps its status; the attempt still ends.
      if (isTerminalJobStatus(job.status)) return undefined
      // A cancel requested while the attempt was failing wins over a retry: the job ends cancelled.
      const retry = CLAIMABLE_JOB_STATUSES.includes(event.outcome.status)
      const status = job.cancelRequested && retry ? 'cancelled' : event.outcome.status
      return change({ status, runAfter: event.outcome.runAfter ?? job.runAfter })
    }
    case 'cancel_requested':
      if (CLAIMABLE_JOB_STATUSES.includes(job.status)) return change({ status: 'cancelled', cancelRequested: true }, true)
      // Running: the worker sees the request at its next heartbeat, aborts and ends the job.
      if (job.status === 'running' && !job.cancelRequested) return change({ cancelRequested: true }, true)
      return undefined
    case 'superseded':
      if (isTerminalJobStatus(job.status)) return undefined
      // Its running attempt (if any) keeps going until its worker sees the request.
      return change({ status: 'cancelled', cancelRequested: true }, true)
    case 'patched': {
      const { patch } = event
      if (isTerminalJobStatus(job.status) && patch.status !== undefined && patch.status !== job.status) {
        throw new SluiceError('SLUICE_ERR_CONFLICT', `Job status ${job.status} is final; it cannot become ${patch.status}.`)
      }
      return change(patch, patch.cancelRequested === true && !job.cancelRequested)
    }
  }
}

/**
 * True when the attempt may be ended by `workerId` (undefined: by anyone, e.g. a reaper of lost
 * workers): it is still running and, given a worker, still that worker's.
 */
export function canEndAttempt(attempt: Pick<AttemptRecord, 'status' | 'workerId'>, workerId: string | undefined): boolean {
  return attempt.status === 'running' && (workerId === undefined || attempt.workerId === workerId)
}

/** True when a running attempt's lease ran out at `now` (epoch ms): its worker is presumed dead. */
export function isLeaseExpired(attempt: Pick<AttemptRecord, 'status' | 'leaseExpiresAt'>, now: number): boolean {
  return attempt.status === 'running' && (attempt.leaseExpiresAt === undefined || attempt.leaseExpiresAt < now)
}
