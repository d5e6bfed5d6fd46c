/** How many failed authentications a client address may make, and the clock to count them. */
export interface FailedAuthLimits {
  /** Failures allowed per window before the address is refused (default 10). */
  maxFailures?: number
  /** Window length in ms (default 60 s); a blocked address waits until its window ends. */
  windowMs?: number
  /** Addresses tracked at most; the oldest windows are forgotten first (default 10,000). */
  maxClients?: number
  /** Injectable clock (tests). */
  now?: () => number
}

interface Window {
  startedAt: number
  failures: number
}

/**
 * Counts failed authentications per client address in fixed windows. Once an address reaches
 * the limit, every request from it is refused until its window ends, correct credentials
 * included: otherwise a guesser would learn which guess was right. Memory is bounded by
 * `maxClients`.
 */
export class FailedAuthLimiter {
  readonly #maxFailures: number
  readonly #windowMs: number
  readonly #maxClients: number
  readonly #now: () => number
  readonly #windows = new Map<string, Window>()

  constructor(limits: FailedAuthLimits = {}) {
    this.#maxFailures = limits.maxFailures ?? 10
    this.#windowMs = limits.windowMs ?? 60_000
    this.#maxClients = limits.maxClients ?? 10_000
    this.#now = limits.now ?? Date.now
  }

  /** Milliseconds the address must wait before it may try again; 0 when it may try now. */
  retryAfterMs(address: string): number {
    const window = this.#current(address)
    if (!window || window.failures < this.#maxFailures) return 0
    return window.startedAt + this.#windowMs - this.#now()
  }

  /** Records one failed authentication of the address. */
  recordFailure(address: string): void {
    const window = this.#current(address)
    if (window) {
      window.failures++
      return
    }
    if (this.#windows.size >= this.#maxClients) {
      const oldest = this.#windows.keys().next().value
      if (oldest !== undefined) this.#windows.delete(oldest)
    }
    this.#windows.set(address, { startedAt: this.#now(), failures: 1 })
  }

  #current(address: string): Window | undefined {
    const window = this.#windows.get(address)
    if (window && this.#now() - window.startedAt >= this.#windowMs) {
      this.#windows.delete(address)
      return undefined
    }
    return window
  }
}
