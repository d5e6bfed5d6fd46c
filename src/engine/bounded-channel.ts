interface Waiter {
  resolve(): void
  reject(error: unknown): void
}

/**
 * Single-producer, single-consumer hand-off between the source and destination loops. It holds
 * at most `maxBatches` record batches and `maxMessages` messages in all: a full channel makes
 * `push` wait, which stops the engine pulling from the source (backpressure, bounded memory).
 */
export class BoundedChannel<T> {
  readonly #queue: T[] = []
  #batches = 0
  #closed = false
  #failure: { error: unknown } | undefined
  #pushWaiter: Waiter | undefined
  #takeWaiter: Waiter | undefined
  readonly #maxBatches: number
  readonly #maxMessages: number
  readonly #isBatch: (item: T) => boolean

  constructor(maxBatches: number, maxMessages: number, isBatch: (item: T) => boolean) {
    this.#maxBatches = maxBatches
    this.#maxMessages = maxMessages
    this.#isBatch = isBatch
  }

  /** Adds an item, waiting while the channel is full; rejects once the channel is cancelled. */
  async push(item: T): Promise<void> {
    const batch = this.#isBatch(item)
    while (this.#failure === undefined && this.#full(batch)) {
      await new Promise<void>((resolve, reject) => {
        this.#pushWaiter = { resolve, reject }
      })
    }
    if (this.#failure !== undefined) throw this.#failure.error
    if (this.#closed) throw new Error('push after close')
    this.#queue.push(item)
    if (batch) this.#batches++
    this.#wake('take')
  }

  /** Next item, or undefined once the channel is closed and drained; rejects once cancelled. */
  async take(): Promise<T | undefined> {
    while (this.#failure === undefined && this.#queue.length === 0 && !this.#closed) {
      await new Promise<void>((resolve, reject) => {
        this.#takeWaiter = { resolve, reject }
      })
    }
    if (this.#failure !== undefined) throw this.#failure.error
    const item = this.#queue.shift()
    if (item === undefined) return undefined
    if (this.#isBatch(item)) this.#batches--
    this.#wake('push')
    return item
  }

  /** No more items: the consumer drains what is queued, then sees the end. */
  close(): void {
    this.#closed = true
    this.#wake('take')
  }

  /** Drops queued items and makes every pending and later push/take reject with `error`. */
  cancel(error: unknown): void {
    if (this.#failure !== undefined) return
    this.#failure = { error }
    this.#queue.length = 0
    this.#batches = 0
    for (const w of [this.#pushWaiter, this.#takeWaiter]) w?.reject(error)
    this.#pushWaiter = undefined
    this.#takeWaiter = undefined
  }

  #full(batch: boolean): boolean {
    return this.#queue.length >= this.#maxMessages || (batch && this.#batches >= this.#maxBatches)
  }

  #wake(side: 'push' | 'take'): void {
    const w = side === 'push' ? this.#pushWaiter : this.#takeWaiter
    if (side === 'push') this.#pushWaiter = undefined
    else this.#takeWaiter = undefined
    w?.resolve()
  }
}
