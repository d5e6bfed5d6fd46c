import type { Logger } from 'pino'

/** How often a store call is tried, and the pause before try n (1-based). */
export interface StoreRetryOptions {
  attempts?: number
  delayMs?: (retry: number) => number
  logger?: Logger | undefined
}

/**
 * Runs a store call that records an outcome the worker must not lose (an attempt's end), trying
 * again with a growing pause when the store fails (a restart, a full pool, a lock timeout).
 * Throws the last error when every try failed; the caller logs it and moves on, and the attempt's
 * lease then expires so recovery records it.
 */
export async function retryStoreCall<T>(what: string, call: () => Promise<T>, options: StoreRetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 5
  for (let attempt = 1; ; attempt++) {
    try {
      return await call()
    } catch (err) {
      if (attempt >= attempts) throw err
      options.logger?.warn({ err, attempt }, `store call failed (${what}); trying again`)
      await new Promise((resolve) => setTimeout(resolve, (options.delayMs ?? ((n) => Math.min(5_000, 200 * 2 ** (n - 1))))(attempt)))
    }
  }
}
