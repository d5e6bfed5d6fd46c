import pg from 'pg'
import type { PostgresDatabase, StoreLogger } from './postgres-database.js'
import { JOB_EVENTS_CHANNEL, type JobEvent } from './postgres-job-store.js'

/** Receives job events; `reconnected` means some events may have been missed (poll now). */
export type JobEventListener = (event: JobEvent | { type: 'reconnected' }) => void

export interface PostgresJobEventsOptions {
  /** First reconnect delay in ms (doubles up to 30 s, with jitter). */
  retryBaseMs?: number
  /** Where a failed or lost LISTEN is reported. */
  logger?: StoreLogger | undefined
}

/**
 * LISTENs on `sluice_jobs` over one dedicated connection (LISTEN cannot share a pool) and fans
 * events out to in-process listeners. The connection is opened on the first subscription and
 * re-opened with jittered backoff when it drops; polling in the worker covers the gap.
 */
export class PostgresJobEvents {
  readonly #db: PostgresDatabase
  readonly #listeners = new Set<JobEventListener>()
  readonly #retryBaseMs: number
  readonly #logger: StoreLogger | undefined
  #client: pg.Client | undefined
  #connecting: Promise<void> | undefined
  #retryTimer: NodeJS.Timeout | undefined
  #failures = 0
  #closed = false

  constructor(db: PostgresDatabase, options: PostgresJobEventsOptions = {}) {
    this.#db = db
    this.#retryBaseMs = options.retryBaseMs ?? 250
    this.#logger = options.logger
  }

  /**
   * Adds a listener; resolves once the LISTEN is in place (or the first attempt failed, in
   * which case reconnects continue in the background). Returns the unsubscribe function.
   */
  async subscribe(listener: JobEventListener): Promise<() => void> {
    this.#listeners.add(listener)
    if (!this.#client && !this.#connecting && !this.#retryTimer) await this.#connect()
    else if (this.#connecting) await this.#connecting
    return () => {
      this.#listeners.delete(listener)
    }
  }

  /** True while the LISTEN connection is up. */
  get listening(): boolean {
    return this.#client !== undefined
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#listeners.clear()
    if (this.#retryTimer) clearTimeout(this.#retryTimer)
    this.#retryTimer = undefined
    if (this.#connecting) await this.#connecting.catch(() => {})
    const client = this.#client
    this.#client = undefined
    if (client) await client.end().catch(() => {})
  }

  #connect(): Promise<void> {
    this.#connecting = this.#open().finally(() => {
      this.#connecting = undefined
    })
    return this.#connecting
  }

  async #open(): Promise<void> {
    const client = new pg.Client(this.#db.clientConfig())
    client.on('error', (err) => this.#dropped(client, err))
    client.on('end', () => this.#dropped(client))
    client.on('notification', (msg) => {
      if (msg.channel !== JOB_EVENTS_CHANNEL || !msg.payload) return
      let event: JobEvent
      try {
        event = JSON.parse(msg.payload) as JobEvent
      } catch {
        return
      }
      this.#emit(event)
    })
    try {
      await client.connect()
      await client.query(`LISTEN ${JOB_EVENTS_CHANNEL}`)
    } catch (err) {
      await client.end().catch(() => {})
      const retryInMs = this.#scheduleRetry()
      this.#logger?.warn({ err, retryInMs }, 'could not LISTEN for job events; retrying (workers poll meanwhile)')
      return
    }
    if (this.#closed) {
      await client.end().catch(() => {})
      return
    }
    const reconnected = this.#failures > 0
    this.#failures = 0
    this.#client = client
    if (reconnected) this.#emit({ type: 'reconnected' })
  }

  #dropped(client: pg.Client, err?: Error): void {
    if (this.#client !== client) return
    this.#client = undefined
    client.end().catch(() => {})
    const retryInMs = this.#scheduleRetry()
    this.#logger?.warn({ err, retryInMs }, 'the LISTEN connection for job events was lost; reconnecting (workers poll meanwhile)')
  }

  /** Schedules the next connect; returns its delay in ms (undefined when none was scheduled). */
  #scheduleRetry(): number | undefined {
    if (this.#closed || this.#retryTimer) return undefined
    this.#failures++
    const cap = Math.min(30_000, this.#retryBaseMs * 2 ** Math.min(this.#failures, 10))
    const delay = cap / 2 + Math.random() * (cap / 2)
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined
      if (!this.#closed) void this.#connect()
    }, delay)
    this.#retryTimer.unref()
    return Math.round(delay)
  }

  #emit(event: JobEvent | { type: 'reconnected' }): void {
    for (const listener of this.#listeners) {
      try {
        listener(event)
      } catch {
        // A failing listener must not stop the others from hearing the event.
      }
    }
  }
}
