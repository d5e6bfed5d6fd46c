import { setImmediate as nextMacrotask } from 'node:timers/promises'
import type {
  ConfiguredCatalog,
  DestinationMessage,
  RunOptions,
  SourceMessage,
  StateMessage,
  StreamDescriptor,
} from '../protocol/index.js'
import { streamKey, streamLabel } from '../protocol/index.js'
import { cancelledError, SluiceError, systemError } from '../errors.js'
import { AttemptFailure, type FailureOrigin, toSluiceError } from './attempt-failure.js'
import { snapshotStats, StreamRun } from './attempt-stats.js'
import { mapBatch } from './batch-mapping.js'
import { BoundedChannel } from './bounded-channel.js'
import { mapStreamDescriptor } from './stream-mapper.js'
import type { AttemptInput, AttemptProgress, AttemptResult } from './types.js'

/** Knobs of the engine; the defaults suit production, tests shrink them. */
export interface EngineTuning {
  /** Record batches the source may be ahead of the destination in the hand-off (plus one in each loop's hands). */
  maxBatchesAhead: number
  /** Messages of any kind in the hand-off (bounds a flood of states). */
  maxMessagesAhead: number
  /** After an abort, how long a connector may take to notice before the engine stops waiting for it. */
  abortGraceMs: number
  /** Interval of `onProgress` calls. */
  progressIntervalMs: number
  /** Interval of progress lines in the attempt log. */
  logIntervalMs: number
}

export const DEFAULT_ENGINE_TUNING: EngineTuning = {
  maxBatchesAhead: 2,
  maxMessagesAhead: 64,
  abortGraceMs: 2000,
  progressIntervalMs: 1000,
  logIntervalMs: 30_000,
}

/** CPU-bound loops yield to timers and I/O this often, so an abort or a heartbeat is never starved. */
const MACROTASK_EVERY_MS = 20

/**
 * Runs one sync attempt: source `read` -> stream mapping -> destination `write`, with a bounded
 * hand-off between the two loops (backpressure: memory does not grow with the sync's size).
 *
 * Checkpoint rule: a STATE reaches the destination after the records before it; only the
 * states the destination echoes are mapped back to source names and passed, in order, to
 * `onStateCommitted`; the records before a state count as committed once that call resolves.
 * After a clean end of the source, every stream that got no STREAM_STATUS COMPLETE gets one;
 * after an error or an abort, none is sent (so overwrite streams keep their old data).
 *
 * Resolves with the stats (emitted = committed) on success; rejects with an `AttemptFailure`
 * carrying origin, failure type and the stats so far (code `SLUICE_ERR_CANCELLED` on abort).
 */
export async function runAttempt(input: AttemptInput, tuning: Partial<EngineTuning> = {}): Promise<AttemptResult> {
  return new AttemptRun(input, { ...DEFAULT_ENGINE_TUNING, ...tuning }).run()
}

/** The source of a reset/clear: per stream STARTED, a null state, COMPLETE (Airbyte's EmptyAirbyteSource). */
async function* emptySourceMessages(catalog: ConfiguredCatalog): AsyncGenerator<SourceMessage> {
  for (const configured of catalog.streams) {
    const stream: StreamDescriptor = { name: configured.stream.name, namespace: configured.stream.namespace ?? null }
    yield { type: 'STREAM_STATUS', stream, status: 'STARTED' }
    yield { type: 'STATE', stream, data: null }
    yield { type: 'STREAM_STATUS', stream, status: 'COMPLETE' }
  }
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}

class AttemptRun {
  readonly #input: AttemptInput
  readonly #tuning: EngineTuning
  readonly #controller = new AbortController()
  readonly #options: RunOptions
  readonly #channel: BoundedChannel<DestinationMessage>
  readonly #runs = new Map<string, StreamRun>()
  readonly #byDestination = new Map<string, StreamRun>()
  readonly #unknownStreams = new Set<string>()
  /**
   * Callbacks that abandon pending connector calls once `abortGraceMs` have passed after the
   * internal abort. A set of callbacks rather than one long-lived promise raced against each
   * call: every `Promise.race` would leave a reaction (and the batch it resolved with) on it.
   */
  readonly #graceWaiters = new Set<() => void>()
  #graceExpired = false
  #destinationCatalog: ConfiguredCatalog = { streams: [] }
  #failure: { origin: FailureOrigin; error: unknown } | undefined
  #cancelled = false
  #inputDrained = false
  #lastProgress = 0
  #lastLog = Date.now()
  #lastMacrotask = Date.now()
  #graceTimer: NodeJS.Timeout | undefined

  constructor(input: AttemptInput, tuning: EngineTuning) {
    this.#input = input
    this.#tuning = tuning
    this.#options = { ...input.options, signal: this.#controller.signal }
    this.#channel = new BoundedChannel<DestinationMessage>(tuning.maxBatchesAhead, tuning.maxMessagesAhead, (m) => m.type === 'RECORD_BATCH')
    this.#controller.signal.addEventListener(
      'abort',
      () => {
        this.#graceTimer = setTimeout(() => {
          this.#graceExpired = true
          for (const giveUp of this.#graceWaiters) giveUp()
          this.#graceWaiters.clear()
        }, tuning.abortGraceMs)
      },
      { once: true },
    )
  }

  get #log() {
    return this.#input.options.logger
  }

  /** The other side failed or the attempt was cancelled: errors seen from now on are consequences. */
  get #stopped(): boolean {
    return this.#cancelled || (this.#failure !== undefined && this.#failure.origin !== 'source')
  }

  async run(): Promise<AttemptResult> {
    const outer = this.#input.options.signal
    if (outer.aborted) throw new AttemptFailure('replication', this.#cancelReason(), this.#snapshot())
    this.#prepareStreams()
    const onAbort = () => this.#cancel()
    outer.addEventListener('abort', onAbort, { once: true })
    const labels = [...this.#runs.values()].map((r) => (r.identity ? streamLabel(r.source) : `${streamLabel(r.source)} -> ${streamLabel(r.destination)}`))
    this.#log.info(`engine: attempt started${this.#input.emptySource ? ' (clearing data)' : ''} with ${labels.length} stream(s): ${labels.join(', ')}`)
    const started = Date.now()
    try {
      const producer = this.#pumpSource()
      await this.#driveDestination()
      if (!this.#inputDrained && !this.#stopped && this.#failure === undefined) {
        this.#fail('destination', systemError('The destination stopped reading before the end of its input.'))
      }
      await producer
    } finally {
      outer.removeEventListener('abort', onAbort)
      clearTimeout(this.#graceTimer)
    }
    if (this.#cancelled) {
      this.#log.warn('engine: attempt cancelled')
      throw new AttemptFailure('replication', this.#cancelReason(), this.#snapshot())
    }
    if (this.#failure !== undefined) throw new AttemptFailure(this.#failure.origin, this.#failure.error, this.#snapshot())
    for (const run of this.#runs.values()) run.commitAll()
    const result = this.#snapshot()
    for (const entry of result.streamStats) {
      this.#log.info(`engine: stream ${entry.streamNamespace ? `${entry.streamNamespace}.` : ''}${entry.streamName}: ${entry.stats.recordsCommitted} records (${formatBytes(entry.stats.bytesCommitted)}) committed, ${entry.stats.stateMessagesEmitted} state(s)`)
    }
    const seconds = (Date.now() - started) / 1000
    this.#log.info(`engine: attempt succeeded: ${result.totalStats.recordsCommitted} records (${formatBytes(result.totalStats.bytesCommitted)}) in ${seconds.toFixed(1)} s`)
    this.#input.onProgress?.(result)
    return result
  }

  #prepareStreams(): void {
    const streams = []
    for (const configured of this.#input.catalog.streams) {
      const source: StreamDescriptor = { name: configured.stream.name, namespace: configured.stream.namespace ?? null }
      const destination = mapStreamDescriptor(this.#input.mapping, source)
      const identity = streamKey(source) === streamKey(destination)
      const run = new StreamRun(source, destination, identity, this.#input.fieldSelection?.get(streamKey(source)))
      const destKey = streamKey(destination)
      const clash = this.#byDestination.get(destKey)
      if (clash !== undefined) {
        throw new AttemptFailure(
          'replication',
          new SluiceError('SLUICE_ERR_INVALID_CATALOG', `Streams ${streamLabel(clash.source)} and ${streamLabel(source)} would both be written to ${streamLabel(destination)}; change the namespace mapping, prefix or a stream alias.`),
          this.#snapshot(),
        )
      }
      this.#runs.set(streamKey(source), run)
      this.#byDestination.set(destKey, run)
      streams.push(identity ? configured : { ...configured, stream: { ...configured.stream, name: destination.name, namespace: destination.namespace } })
    }
    this.#destinationCatalog = { streams }
  }

  #snapshot(): AttemptProgress {
    return snapshotStats(this.#runs.values())
  }

  /** The abort reason when the caller gave a SluiceError (e.g. a lost lease), else the cancellation error. */
  #cancelReason(): SluiceError {
    const reason: unknown = this.#input.options.signal.reason
    return reason instanceof SluiceError ? reason : cancelledError()
  }

  #cancel(): void {
    if (this.#cancelled) return
    this.#cancelled = true
    this.#log.warn('engine: cancellation requested, stopping source and destination')
    this.#channel.cancel(cancelledError())
    this.#controller.abort(cancelledError())
  }

  /**
   * Records the first failure. A source failure lets the destination finish what it received
   * (it commits up to the last state, without COMPLETE); any other failure stops both sides.
   */
  #fail(origin: FailureOrigin, error: unknown): void {
    if (this.#failure === undefined && !this.#cancelled) {
      this.#failure = { origin, error }
      const e = toSluiceError(error)
      this.#log.error(`engine: ${origin} failed (${e.failureType}, ${e.code}): ${e.message}`)
    }
    if (origin !== 'source') {
      this.#channel.cancel(cancelledError())
      if (!this.#controller.signal.aborted) this.#controller.abort(cancelledError())
    }
  }

  /** A pending connector call, abandoned if the connector ignores an abort for longer than the grace period. */
  #withGrace<T>(pending: Promise<T>): Promise<T> {
    if (this.#graceExpired) {
      pending.catch(() => {})
      return Promise.reject(cancelledError())
    }
    return new Promise<T>((resolve, reject) => {
      const giveUp = () => reject(cancelledError())
      this.#graceWaiters.add(giveUp)
      pending.then(
        (value) => {
          this.#graceWaiters.delete(giveUp)
          resolve(value)
        },
        (error: unknown) => {
          this.#graceWaiters.delete(giveUp)
          reject(error)
        },
      )
    })
  }

  async #close(iterator: AsyncIterator<unknown> | undefined, side: string): Promise<void> {
    if (iterator?.return === undefined) return
    try {
      await this.#withGrace(iterator.return())
    } catch (e) {
      this.#log.debug(`engine: ${side} cleanup: ${toSluiceError(e).message}`)
    }
  }

  async #pumpSource(): Promise<void> {
    let iterator: AsyncIterator<SourceMessage> | undefined
    try {
      const { source, sourceConfig, catalog, state, emptySource } = this.#input
      const messages = emptySource === true ? emptySourceMessages(catalog) : source.read(sourceConfig, catalog, state, this.#options)
      iterator = messages[Symbol.asyncIterator]()
      for (;;) {
        const next = await this.#withGrace(iterator.next())
        if (next.done === true) break
        await this.#handleSourceMessage(next.value)
        if (Date.now() - this.#lastMacrotask >= MACROTASK_EVERY_MS) {
          await nextMacrotask()
          this.#lastMacrotask = Date.now()
        }
      }
      this.#log.info('engine: source finished')
      for (const run of this.#runs.values()) {
        if (run.completeSent) continue
        run.completeSent = true
        this.#log.info(`engine: stream ${streamLabel(run.source)} complete: ${run.stats.recordsEmitted} records read`)
        await this.#channel.push({ type: 'STREAM_STATUS', stream: run.destination, status: 'COMPLETE' })
      }
      this.#channel.close()
    } catch (e) {
      if (!this.#stopped) this.#fail('source', e)
      this.#channel.close()
    } finally {
      await this.#close(iterator, 'source')
    }
  }

  #runFor(stream: StreamDescriptor, what: string): StreamRun | undefined {
    const key = streamKey(stream)
    const run = this.#runs.get(key)
    if (run === undefined && !this.#unknownStreams.has(key)) {
      this.#unknownStreams.add(key)
      this.#log.warn(`engine: the source emitted ${what} for stream ${streamLabel(stream)}, which is not in the configured catalog; ignored`)
    }
    return run
  }

  async #handleSourceMessage(message: SourceMessage): Promise<void> {
    switch (message.type) {
      case 'RECORD_BATCH': {
        const run = this.#runFor(message.stream, 'records')
        if (run === undefined) return
        if (!run.started) {
          run.started = true
          this.#log.info(`engine: stream ${streamLabel(run.source)} started`)
        }
        run.addRecords(message.count, message.bytes)
        await this.#channel.push(run.identity && run.fields === undefined ? message : mapBatch(message, run.destination, run.fields))
        this.#tick()
        return
      }
      case 'STATE': {
        const run = this.#runFor(message.stream, 'a state')
        if (run === undefined) return
        const original: StateMessage = { type: 'STATE', stream: run.source, data: message.data, recordCount: run.recordsSinceState }
        const forwarded: StateMessage = { type: 'STATE', stream: run.destination, data: message.data, recordCount: run.recordsSinceState }
        // Registered before the push: the destination may echo it before push returns.
        run.addState(original, forwarded)
        await this.#channel.push(forwarded)
        return
      }
      case 'STREAM_STATUS': {
        const run = this.#runFor(message.stream, 'a stream status')
        if (run === undefined) return
        if (message.status === 'COMPLETE' && !run.completeSent) {
          run.completeSent = true
          this.#log.info(`engine: stream ${streamLabel(run.source)} complete: ${run.stats.recordsEmitted} records read`)
        }
        await this.#channel.push({ type: 'STREAM_STATUS', stream: run.destination, status: message.status })
        return
      }
      case 'LOG': {
        const text = `source: ${message.message}`
        if (message.level === 'FATAL' || message.level === 'ERROR') this.#log.error(text)
        else if (message.level === 'WARN') this.#log.warn(text)
        else if (message.level === 'INFO') this.#log.info(text)
        else this.#log.debug(text)
        return
      }
      case 'ESTIMATE':
        return
    }
  }

  async *#destinationInput(): AsyncGenerator<DestinationMessage> {
    for (;;) {
      const message = await this.#channel.take()
      if (message === undefined) {
        this.#inputDrained = true
        return
      }
      yield message
    }
  }

  async #driveDestination(): Promise<void> {
    let iterator: AsyncIterator<StateMessage> | undefined
    try {
      const { destination, destinationConfig } = this.#input
      iterator = destination.write(destinationConfig, this.#destinationCatalog, this.#destinationInput(), this.#options)[Symbol.asyncIterator]()
      for (;;) {
        const next = await this.#withGrace(iterator.next())
        if (next.done === true) break
        await this.#handleEcho(next.value)
      }
    } catch (e) {
      if (!this.#stopped) this.#fail('destination', e)
    } finally {
      await this.#close(iterator, 'destination')
    }
  }

  async #handleEcho(echo: StateMessage): Promise<void> {
    const run = this.#byDestination.get(streamKey(echo.stream))
    const entry = run?.takeEchoed(echo)
    if (run === undefined || entry === undefined) {
      this.#log.warn(`engine: the destination echoed a state it was not sent (stream ${streamLabel(echo.stream)}); ignored`)
      return
    }
    try {
      await this.#input.onStateCommitted([entry.original])
    } catch (e) {
      this.#fail('persistence', e)
      throw e
    }
    run.commit(entry)
    this.#log.debug(`engine: state of ${streamLabel(run.source)} committed (${run.stats.recordsCommitted} records)`)
    this.#tick()
  }

  #tick(): void {
    const now = Date.now()
    const onProgress = this.#input.onProgress
    if (onProgress !== undefined && now - this.#lastProgress >= this.#tuning.progressIntervalMs) {
      this.#lastProgress = now
      try {
        onProgress(this.#snapshot())
      } catch (e) {
        this.#log.warn(`engine: progress callback failed: ${toSluiceError(e).message}`)
      }
    }
    if (now - this.#lastLog >= this.#tuning.logIntervalMs) {
      this.#lastLog = now
      const { totalStats } = this.#snapshot()
      this.#log.info(`engine: progress: ${totalStats.recordsEmitted} records emitted (${formatBytes(totalStats.bytesEmitted)}), ${totalStats.recordsCommitted} committed`)
    }
  }
}
