import { cancelledError, SluiceError } from '../errors.js'

/** Why the worker aborted an attempt's signal. */
export type AbortCause = 'cancel' | 'lease_lost' | 'shutdown'

/** An attempt this worker runs: the abort handle of its run and why it was aborted, if it was. */
export interface RunningAttempt {
  controller: AbortController
  cause: AbortCause | undefined
}

/** The key of an attempt in the worker's table of running attempts. */
export function attemptKey(a: { jobId: number; attemptNumber: number }): string {
  return `${a.jobId}/${a.attemptNumber}`
}

/** Aborts a running attempt because the worker stops; a cause set earlier (cancel, lease lost) wins. */
export function abortForShutdown(run: RunningAttempt): void {
  run.cause ??= 'shutdown'
  run.controller.abort(new SluiceError('SLUICE_ERR_CANCELLED', 'The worker is shutting down.', { failureType: 'system_error' }))
}

/** The error an attempt ends with when it was aborted for `cause`. */
export function abortError(cause: AbortCause): SluiceError {
  return cause === 'cancel' ? cancelledError() : new SluiceError('SLUICE_ERR_CANCELLED', `Attempt aborted: ${cause}.`, { failureType: 'system_error' })
}
