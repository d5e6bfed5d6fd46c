import type { ConnectorLogger } from '../protocol/index.js'
import { SECRET_MASK } from '../secrets/secret-service.js'
import type { JobStore } from '../store/job-store.js'

const FLUSH_LINES = 200
const FLUSH_INTERVAL_MS = 500
/** Secrets shorter than this are not scrubbed: they would blank out ordinary words. */
const MIN_SECRET_LENGTH = 3
/** Lines kept per attempt: a connector that logs without end must not fill the store (or jobs/get). */
export const MAX_LOG_LINES_PER_ATTEMPT = 50_000

/**
 * The log of one attempt, kept in the job store so any process can read it (jobs/get,
 * attempt/get_for_job). Lines are formatted like Airbyte's ("2026-01-01 12:00:00 INFO message"),
 * buffered and written in small transactions, and every known secret value is replaced by the
 * mask before a line is stored.
 */
export class AttemptLog implements ConnectorLogger {
  readonly #store: JobStore
  readonly #jobId: number
  readonly #attemptNumber: number
  readonly #now: () => number
  #secrets: string[] = []
  #buffer: string[] = []
  #lines = 0
  #dropped = false
  #timer: NodeJS.Timeout | undefined
  #writing: Promise<void> = Promise.resolve()

  constructor(store: JobStore, jobId: number, attemptNumber: number, now: () => number = Date.now) {
    this.#store = store
    this.#jobId = jobId
    this.#attemptNumber = attemptNumber
    this.#now = now
  }

  /** Adds values to scrub from every later line (decrypted connector secrets). */
  addSecrets(values: readonly string[]): void {
    // Longest first, so a secret containing another is masked whole.
    this.#secrets = [...new Set([...this.#secrets, ...values.filter((v) => v.length >= MIN_SECRET_LENGTH)])].sort((a, b) => b.length - a.length)
  }

  /** Replaces every known secret in `text` by the mask. */
  scrub(text: string): string {
    let out = text
    for (const s of this.#secrets) if (out.includes(s)) out = out.split(s).join(SECRET_MASK)
    return out
  }

  debug(message: string): void {
    this.#add('DEBUG', message)
  }

  info(message: string): void {
    this.#add('INFO', message)
  }

  warn(message: string): void {
    this.#add('WARN', message)
  }

  error(message: string): void {
    this.#add('ERROR', message)
  }

  /** Writes the buffered lines; resolves when they are stored. Never rejects (logs must not fail a sync). */
  flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
    const lines = this.#buffer
    this.#buffer = []
    if (lines.length > 0) {
      this.#writing = this.#writing.then(() => this.#store.appendLogs(this.#jobId, this.#attemptNumber, lines)).catch(() => undefined)
    }
    return this.#writing
  }

  #add(level: string, message: string): void {
    const stamp = new Date(this.#now()).toISOString().replace('T', ' ').slice(0, 19)
    for (const line of this.scrub(message).split('\n')) {
      if (this.#lines >= MAX_LOG_LINES_PER_ATTEMPT) {
        if (!this.#dropped) this.#buffer.push(`${stamp} WARN log limit of ${MAX_LOG_LINES_PER_ATTEMPT} lines reached: later lines of this attempt are dropped`)
        this.#dropped = true
        break
      }
      this.#lines++
      this.#buffer.push(`${stamp} ${level} ${line}`)
    }
    if (this.#buffer.length >= FLUSH_LINES) void this.flush()
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => void this.flush(), FLUSH_INTERVAL_MS)
      this.#timer.unref()
    }
  }
}
