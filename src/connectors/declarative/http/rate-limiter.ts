import { throwIfAborted } from '../../../errors.js'

/** Politeness limits for one source: parallel requests and requests per second. */
export interface RateLimitOptions {
  /** Requests in flight at once (default 4). */
  maxConcurrency?: number
  /** Sustained requests per second; undefined means unlimited. */
  requestsPerSecond?: number
}

/** Abortable sleep. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'))
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * A semaphore plus an evenly spaced schedule (one slot every 1/rps seconds). Shared by every
 * request of a source instance, including OAuth refreshes and parent-stream reads.
 */
export class RateLimiter {
  readonly #max: number
  readonly #intervalMs: number
  #inFlight = 0
  #nextSlot = 0
  readonly #waiters: Array<() => void> = []

  constructor(opts: RateLimitOptions = {}) {
    this.#max = Math.max(1, Math.floor(opts.maxConcurrency ?? 4))
    this.#intervalMs = opts.requestsPerSecond && opts.requestsPerSecond > 0 ? 1000 / opts.requestsPerSecond : 0
  }

  /** Waits for a concurrency slot and the next rate slot; call the returned release when done. */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    throwIfAborted(signal)
    if (this.#inFlight >= this.#max) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve))
    }
    this.#inFlight++
    let released = false
    const release = (): void => {
      if (released) return
      released = true
      this.#inFlight--
      this.#waiters.shift()?.()
    }
    if (this.#intervalMs > 0) {
      const now = Date.now()
      const slot = Math.max(now, this.#nextSlot)
      this.#nextSlot = slot + this.#intervalMs
      try {
        await sleep(slot - now, signal)
      } catch (e) {
        release()
        throw e
      }
    }
    return release
  }
}
