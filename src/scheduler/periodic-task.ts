/**
 * Runs `work` at start and then every `intervalMs`, never two runs at once: while one is still
 * going (a slow store), the ticks that fall due are skipped, so runs never stack up. A failed run
 * goes to `onError` and the next tick tries again. The timer never keeps the process alive.
 */
export class PeriodicTask {
  readonly #work: () => Promise<unknown>
  readonly #intervalMs: number
  readonly #onError: (err: unknown) => void
  #timer: NodeJS.Timeout | undefined
  #running: Promise<unknown> = Promise.resolve()
  #inFlight = false

  constructor(work: () => Promise<unknown>, intervalMs: number, onError: (err: unknown) => void) {
    this.#work = work
    this.#intervalMs = intervalMs
    this.#onError = onError
  }

  start(): void {
    if (this.#timer !== undefined) return
    this.#run()
    this.#timer = setInterval(() => this.#run(), this.#intervalMs)
    this.#timer.unref()
  }

  /** Stops the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    await this.#running
  }

  #run(): void {
    if (this.#inFlight) return
    this.#inFlight = true
    this.#running = this.#work()
      .catch(this.#onError)
      .finally(() => (this.#inFlight = false))
  }
}
