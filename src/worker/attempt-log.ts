import type { ConnectorLogger } from '../protocol/index.js'
import { SECRET_MASK } from '../secrets/secret-service.js'
import type { JobStore } from '../store/job-store.js'

const FLUSH_LINES = 200
const FLUSH_INTERVAL_MS = 500
/** Secrets shorter than this are not scrubbed: they would blank out ordinary words. */
const MIN_SECRET_LENGTH = 3
/** Default size cap of one attempt's log (SLUICE_ATTEMPT_LOG_MAX_BYTES). */
export const DEFAULT_ATTEMPT_LOG_MAX_BYTES = 10 * 1024 * 1024
/** The smallest cap accepted: room for the last few lines of a failure. */
export const MIN_ATTEMPT_LOG_MAX_BYTES = 4096

/** Bytes a line takes in a downloaded log: its UTF-8 text and the newline. */
function lineBytes(line: string): number {
  return Buffer.byteLength(line, 'utf8') + 1
}

/**
 * The log of one attempt, kept in the job store so any process can read it (jobs/get,
 * attempt/get_for_job). Lines are formatted like Airbyte's ("2026-01-01 12:00:00 INFO message"),
 * buffered and written in small transactions, and every known secret value is replaced by the
 * mask before a line is stored.
 *
 * The stored lines never take more than `maxBytes` (UTF-8, newlines included): past the cap the
 * oldest lines go and one marker line at the top says how many bytes were dropped, so the end of
 * the attempt, where its failure is, always stays. Memory stays bounded too: the lines waiting for
 * the store never hold more than the cap, and of the stored lines only their sizes are kept.
 */
export class AttemptLog implements ConnectorLogger {
  readonly #store: JobStore
  readonly #jobId: number
  readonly #attemptNumber: number
  readonly #now: () => number
  readonly #maxBytes: number
  #secrets: string[] = []
  /** Lines not yet handed to the store, oldest first from #pendingHead, with their sizes. */
  #pending: string[] = []
  #pendingSizes: number[] = []
  #pendingHead = 0
  #pendingBytes = 0
  /** Sizes of the lines in the store (the marker excepted), oldest first from #storedHead. */
  #storedSizes: number[] = []
  #storedHead = 0
  #storedBytes = 0
  /** Pending lines were dropped in memory: every stored line is older, so all of them go too. */
  #dropAllStored = false
  /** Bytes dropped so far, and what the stored marker says (0: no marker stored). */
  #droppedBytes = 0
  #markerShows = 0
  #timer: NodeJS.Timeout | undefined
  #writing: Promise<void> | undefined

  constructor(store: JobStore, jobId: number, attemptNumber: number, now: () => number = Date.now, maxBytes = DEFAULT_ATTEMPT_LOG_MAX_BYTES) {
    this.#store = store
    this.#jobId = jobId
    this.#attemptNumber = attemptNumber
    this.#now = now
    this.#maxBytes = maxBytes
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
    if (this.#writing === undefined && this.#hasWork()) this.#writing = this.#drain()
    return this.#writing ?? Promise.resolve()
  }

  /** Lines wait, or lines were dropped in memory (the marker and the older stored lines follow). */
  #hasWork(): boolean {
    return this.#pendingHead < this.#pending.length || this.#dropAllStored
  }

  /**
   * Writes batches until nothing waits; one write at a time, in order. The writer is released in
   * the same step as the last check, so a line added after it starts a new one.
   */
  async #drain(): Promise<void> {
    try {
      while (this.#hasWork()) {
        const lines = this.#pending.slice(this.#pendingHead)
        const sizes = this.#pendingSizes.slice(this.#pendingHead)
        this.#pending = []
        this.#pendingSizes = []
        this.#pendingHead = 0
        this.#pendingBytes = 0
        const dropAllStored = this.#dropAllStored
        this.#dropAllStored = false
        try {
          await this.#write(lines, sizes, dropAllStored)
        } catch {
          // The batch is lost (logs must not fail a sync); the older stored lines still go next time.
          this.#dropAllStored ||= dropAllStored
          return
        }
      }
    } finally {
      this.#writing = undefined
    }
  }

  /** Stores one batch, first dropping the oldest lines (stored, then of the batch) that pass the cap. */
  async #write(lines: string[], sizes: number[], dropAllStored: boolean): Promise<void> {
    let stored = this.#storedBytes
    let incoming = sizes.reduce((a, b) => a + b, 0)
    let dropStored = 0
    let skip = 0
    let dropped = 0
    while (this.#storedHead + dropStored < this.#storedSizes.length && (dropAllStored || stored + incoming > this.#maxBytes)) {
      const size = this.#storedSizes[this.#storedHead + dropStored] ?? 0
      dropStored++
      stored -= size
      dropped += size
    }
    while (skip < lines.length && stored + incoming > this.#maxBytes) {
      const size = sizes[skip] ?? 0
      skip++
      incoming -= size
      dropped += size
    }
    const kept = lines.slice(skip)
    const totalDropped = this.#droppedBytes + dropped
    if (totalDropped === this.#markerShows) {
      await this.#store.appendLogs(this.#jobId, this.#attemptNumber, kept)
    } else {
      const marker = `${this.#stamp()} WARN … ${totalDropped} bytes of earlier log dropped (cap ${this.#maxBytes} bytes)`
      const count = dropStored + (this.#markerShows > 0 ? 1 : 0)
      // Nothing of this attempt stored yet: the marker simply goes first.
      if (count === 0) await this.#store.appendLogs(this.#jobId, this.#attemptNumber, [marker, ...kept])
      else await this.#store.appendLogs(this.#jobId, this.#attemptNumber, kept, { count, marker })
      this.#markerShows = totalDropped
    }
    // Lines dropped in memory while this write ran are counted on top (the next write shows them).
    this.#droppedBytes += dropped
    this.#storedHead += dropStored
    this.#storedBytes = stored + incoming
    for (let i = skip; i < sizes.length; i++) this.#storedSizes.push(sizes[i] ?? 0)
    if (this.#storedHead > 1024 && this.#storedHead * 2 > this.#storedSizes.length) {
      this.#storedSizes = this.#storedSizes.slice(this.#storedHead)
      this.#storedHead = 0
    }
  }

  #stamp(): string {
    return new Date(this.#now()).toISOString().replace('T', ' ').slice(0, 19)
  }

  #add(level: string, message: string): void {
    const stamp = this.#stamp()
    for (const line of this.scrub(message).split('\n')) {
      const text = `${stamp} ${level} ${line}`
      const size = lineBytes(text)
      this.#pending.push(text)
      this.#pendingSizes.push(size)
      this.#pendingBytes += size
    }
    // A store slower than the connector: the oldest waiting lines go in memory already.
    while (this.#pendingBytes > this.#maxBytes && this.#pendingHead < this.#pending.length) {
      const size = this.#pendingSizes[this.#pendingHead] ?? 0
      this.#pending[this.#pendingHead] = ''
      this.#pendingHead++
      this.#pendingBytes -= size
      this.#droppedBytes += size
      this.#dropAllStored = true
    }
    if (this.#pendingHead > 1024 && this.#pendingHead * 2 > this.#pending.length) {
      this.#pending = this.#pending.slice(this.#pendingHead)
      this.#pendingSizes = this.#pendingSizes.slice(this.#pendingHead)
      this.#pendingHead = 0
    }
    if (this.#pending.length - this.#pendingHead >= FLUSH_LINES) void this.flush()
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => void this.flush(), FLUSH_INTERVAL_MS)
      this.#timer.unref()
    }
  }
}
