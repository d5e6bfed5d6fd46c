import { configError, type FailureType, isSluiceError, SluiceError, systemError, transientError } from '../errors.js'
import type { FailureReasonRecord } from '../protocol/index.js'
import type { AttemptProgress } from './types.js'

/** Which side of a sync an attempt failure came from (Airbyte's `failureOrigin`). */
export type FailureOrigin = FailureReasonRecord['failureOrigin']

/** Node network error codes that usually pass on retry. */
const TRANSIENT_NODE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH'])

/**
 * Node file-system error codes that no retry can fix: someone must free space, fix permissions
 * or remount. They fail the attempt at once as config errors, with what to do.
 */
const OPERATOR_NODE_CODES: Record<string, string> = {
  ENOSPC: 'the disk is full: free space, then sync again',
  EDQUOT: 'the disk quota is exhausted: raise it or free space, then sync again',
  EACCES: 'permission denied: give the sluice process access, then sync again',
  EPERM: 'operation not permitted: give the sluice process access, then sync again',
  EROFS: 'the file system is read-only: remount it read-write or pick another path',
}

/**
 * Turns anything thrown by a connector into a SluiceError: network errors are transient,
 * file-system errors an operator must fix are config errors, the rest system errors.
 */
export function toSluiceError(error: unknown): SluiceError {
  if (isSluiceError(error)) return error
  const code = (error as { code?: unknown } | null)?.code
  const message = error instanceof Error ? error.message : String(error)
  if (typeof code === 'string' && TRANSIENT_NODE_CODES.has(code)) return transientError(message, error)
  const action = typeof code === 'string' ? OPERATOR_NODE_CODES[code] : undefined
  if (action !== undefined) return configError(`${message} (${action}).`, error)
  return systemError(message, error)
}

/**
 * How `runAttempt` rejects. It is a SluiceError with the code and failure type of the
 * underlying error (cancellation: `SLUICE_ERR_CANCELLED` / `manual_cancellation`; only
 * `transient_error` is worth a retry), plus where it came from and the stats so far:
 * - `origin`: `source`, `destination`, `persistence` (onStateCommitted threw) or `replication`
 *   (the engine itself, or a cancellation);
 * - `partialSuccess`: some records were committed (a state was echoed and saved);
 * - `stats`: totals and per-stream stats at the moment of failure (committed counts are exact).
 * `message` is the underlying message (user-facing, no secrets); `cause` the original error.
 */
export class AttemptFailure extends SluiceError {
  readonly origin: FailureOrigin
  readonly partialSuccess: boolean
  readonly stats: AttemptProgress

  constructor(origin: FailureOrigin, error: unknown, stats: AttemptProgress) {
    const base = toSluiceError(error)
    super(base.code, base.message, { failureType: base.failureType, httpStatus: base.httpStatus, cause: error })
    this.name = 'AttemptFailure'
    this.origin = origin
    this.stats = stats
    this.partialSuccess = stats.totalStats.recordsCommitted > 0
  }

  /** Whether the worker should try another attempt. */
  get retryable(): boolean {
    return this.failureType === ('transient_error' satisfies FailureType)
  }

  /** The failure in the job store's shape. */
  toFailureReason(now = Date.now()): FailureReasonRecord {
    return {
      failureOrigin: this.origin,
      failureType: this.failureType,
      externalMessage: this.message,
      internalMessage: this.cause instanceof Error && this.cause.message !== this.message ? this.cause.message : undefined,
      stacktrace: this.cause instanceof Error ? this.cause.stack : this.stack,
      retryable: this.retryable,
      timestamp: now,
    }
  }
}

export function isAttemptFailure(e: unknown): e is AttemptFailure {
  return e instanceof AttemptFailure
}
