import type { FailureType } from '../errors.js'
import type { AttemptRecord } from '../store/job-store.js'

/**
 * When a failed attempt is retried, after how long, and when the job gives up. Defaults follow
 * Airbyte's platform (semantics doc §6.5): an attempt that committed records ("partial") and
 * one that did not ("complete") are counted separately; only complete failures back off.
 */
export interface RetryPolicy {
  /** Stop after this many complete failures in a row (SYNC_JOB_RETRIES_COMPLETE_FAILURES_MAX_SUCCESSIVE). */
  maxSuccessiveCompleteFailures: number
  /** Stop after this many complete failures in all (…_COMPLETE_FAILURES_MAX_TOTAL). */
  maxTotalCompleteFailures: number
  /** Stop after this many partial failures in all (…_PARTIAL_FAILURES_MAX_TOTAL). */
  maxTotalPartialFailures: number
  /** Hard cap on attempts per job whatever their kind; undefined = no cap beyond the above. */
  maxAttempts: number | undefined
  /** Backoff after the n-th complete failure in a row: min(base × factor^(n-1), max), plus jitter. */
  backoffBaseMs: number
  backoffFactor: number
  backoffMaxMs: number
  /** Random extra delay, as a fraction of the backoff (0.1 = up to 10 % more). */
  jitter: number
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxSuccessiveCompleteFailures: 5,
  maxTotalCompleteFailures: 10,
  maxTotalPartialFailures: 20,
  maxAttempts: undefined,
  backoffBaseMs: 10_000,
  backoffFactor: 3,
  backoffMaxMs: 30 * 60_000,
  jitter: 0.1,
}

/**
 * The policy with SLUICE_* environment overrides: SLUICE_MAX_ATTEMPTS, SLUICE_RETRY_BACKOFF_MS
 * (base), SLUICE_RETRY_BACKOFF_MAX_MS, SLUICE_RETRY_MAX_SUCCESSIVE_COMPLETE_FAILURES,
 * SLUICE_RETRY_MAX_TOTAL_COMPLETE_FAILURES, SLUICE_RETRY_MAX_TOTAL_PARTIAL_FAILURES.
 */
export function retryPolicyFromEnv(env: NodeJS.ProcessEnv = process.env, base: RetryPolicy = DEFAULT_RETRY_POLICY): RetryPolicy {
  const int = (name: string, fallback: number): number => {
    const raw = env[name]
    if (raw === undefined || raw.trim() === '') return fallback
    const n = Number(raw)
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got '${raw}'.`)
    return n
  }
  const maxAttempts = env.SLUICE_MAX_ATTEMPTS
  return {
    ...base,
    maxAttempts: maxAttempts === undefined || maxAttempts.trim() === '' ? base.maxAttempts : Math.max(1, int('SLUICE_MAX_ATTEMPTS', 1)),
    backoffBaseMs: int('SLUICE_RETRY_BACKOFF_MS', base.backoffBaseMs),
    backoffMaxMs: int('SLUICE_RETRY_BACKOFF_MAX_MS', base.backoffMaxMs),
    maxSuccessiveCompleteFailures: int('SLUICE_RETRY_MAX_SUCCESSIVE_COMPLETE_FAILURES', base.maxSuccessiveCompleteFailures),
    maxTotalCompleteFailures: int('SLUICE_RETRY_MAX_TOTAL_COMPLETE_FAILURES', base.maxTotalCompleteFailures),
    maxTotalPartialFailures: int('SLUICE_RETRY_MAX_TOTAL_PARTIAL_FAILURES', base.maxTotalPartialFailures),
  }
}

/** What happens to a job after one of its attempts failed. */
export type RetryDecision = { retry: true; delayMs: number } | { retry: false; reason: string }

/**
 * Decides from the job's attempts so far (the failed one included, in order) and the failure
 * type of the last one. Config errors are never retried; cancellations are handled by the caller.
 */
export function decideRetry(attempts: readonly AttemptRecord[], failureType: FailureType, policy: RetryPolicy, random: () => number = Math.random): RetryDecision {
  if (failureType === 'config_error') return { retry: false, reason: 'a configuration error is not retried' }
  const failed = attempts.filter((a) => a.status === 'failed')
  let totalComplete = 0
  let totalPartial = 0
  let successiveComplete = 0
  for (const a of failed) {
    if (a.totalStats.recordsCommitted > 0) {
      totalPartial++
      successiveComplete = 0
    } else {
      totalComplete++
      successiveComplete++
    }
  }
  if (policy.maxAttempts !== undefined && attempts.length >= policy.maxAttempts) {
    return { retry: false, reason: `${attempts.length} attempts made (limit ${policy.maxAttempts})` }
  }
  if (successiveComplete >= policy.maxSuccessiveCompleteFailures) {
    return { retry: false, reason: `${successiveComplete} attempts in a row failed without committing records` }
  }
  if (totalComplete >= policy.maxTotalCompleteFailures) {
    return { retry: false, reason: `${totalComplete} attempts failed without committing records` }
  }
  if (totalPartial >= policy.maxTotalPartialFailures) {
    return { retry: false, reason: `${totalPartial} attempts failed after committing records` }
  }
  // A partial failure made progress: retry at once. Complete failures back off exponentially.
  if (successiveComplete === 0) return { retry: true, delayMs: 0 }
  const backoff = Math.min(policy.backoffBaseMs * policy.backoffFactor ** (successiveComplete - 1), policy.backoffMaxMs)
  return { retry: true, delayMs: Math.round(backoff * (1 + policy.jitter * random())) }
}
