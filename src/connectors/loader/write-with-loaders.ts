import { cancelledError, systemError, throwIfAborted } from '../../errors.js'
import {
  type ConfiguredCatalog,
  type ConnectorConfig,
  type Destination,
  type DestinationMessage,
  type LoadSession,
  type LoadSessionFactory,
  type RunOptions,
  type StateMessage,
  type StreamDescriptor,
  type StreamLoader,
  streamKey,
  streamLabel,
} from '../../protocol/index.js'
import { abortable } from './abortable.js'

/** A STATE received and not yet passed on. */
interface PendingState {
  state: StateMessage
  /** The loader of the state's stream; undefined for a stream outside the catalog (nothing to wait for). */
  loader: StreamLoader | undefined
  /** Position of the loader when the state arrived: the records the state covers. */
  checkpoint: number
  receivedAt: number
}

/**
 * Turns a destination's load session into its `write`: the message loop every built-in
 * destination shares, so a new destination writes only a session and its stream loaders.
 */
export function writeWithLoaders<C extends ConnectorConfig>(openSession: LoadSessionFactory<C>): Destination<C>['write'] {
  return async function* write(config, catalog, input, opts) {
    const session = await openSession(config, catalog, opts)
    yield* runLoadSession(session, catalog, input, opts)
  }
}

/**
 * The destination message loop (house style §7). Pulls one message at a time (the loader's
 * `accept` is awaited before the next pull: backpressure, nothing collected). A STATE passes on
 * only once the loader of its stream reports every record before it durable, and never before
 * an earlier STATE (per-stream states, as Airbyte checkpoints them); when the oldest state has
 * waited `stateFlushMs`, its loader is flushed. STREAM_STATUS COMPLETE finishes the stream (the
 * only place an overwrite swaps). At the end of the input every loader is flushed but none
 * finished: a stream without COMPLETE swaps nothing in. The loaders and the session are closed
 * in `finally` (error, abort, or a consumer that stops early: all close as failed).
 */
export async function* runLoadSession(
  session: LoadSession,
  catalog: ConfiguredCatalog,
  input: AsyncIterable<DestinationMessage>,
  opts: RunOptions,
): AsyncGenerator<StateMessage> {
  const started: StreamLoader[] = []
  let succeeded = false
  try {
    const loaders = new Map<string, StreamLoader>()
    for (const cs of catalog.streams) loaders.set(streamKey(cs.stream), session.createStreamLoader(cs))
    for (const loader of loaders.values()) {
      await loader.start()
      started.push(loader)
    }
    const loaderOf = (stream: StreamDescriptor): StreamLoader => {
      const loader = loaders.get(streamKey(stream))
      if (!loader) throw systemError(`Stream ${streamLabel(stream)} is not in the configured catalog.`)
      return loader
    }
    const finished = new Set<StreamLoader>()
    const pending: PendingState[] = []
    function* releasable(): Generator<StateMessage> {
      while (pending[0] && (pending[0].loader === undefined || pending[0].loader.isDurable(pending[0].checkpoint))) yield pending.shift()!.state
    }

    for await (const msg of abortable(input, opts.signal)) {
      if (msg.type === 'RECORD_BATCH') {
        const loader = loaderOf(msg.stream)
        if (msg.count > 0) await loader.accept(msg)
      } else if (msg.type === 'STATE') {
        const loader = loaders.get(streamKey(msg.stream))
        pending.push({ state: msg, loader, checkpoint: loader?.checkpoint() ?? 0, receivedAt: Date.now() })
      } else if (msg.status === 'COMPLETE') {
        const loader = loaderOf(msg.stream)
        if (!finished.has(loader)) {
          finished.add(loader)
          await loader.finish()
        }
      }
      const oldest = pending[0]
      if (oldest?.loader && !oldest.loader.isDurable(oldest.checkpoint) && Date.now() - oldest.receivedAt >= session.stateFlushMs) {
        await oldest.loader.flush()
      }
      yield* releasable()
    }
    throwIfAborted(opts.signal)
    for (const loader of loaders.values()) {
      if (!loader.isDurable(loader.checkpoint())) await loader.flush()
    }
    yield* releasable()
    succeeded = true
  } catch (err) {
    if (opts.signal.aborted) throw cancelledError()
    throw session.translateError ? session.translateError(err) : err
  } finally {
    try {
      await closeLoaders(started, succeeded)
    } finally {
      await session.close(succeeded)
    }
  }
}

/** Closes every loader; after a failure their own errors are dropped (the first failure is the story). */
async function closeLoaders(loaders: StreamLoader[], succeeded: boolean): Promise<void> {
  let first: unknown
  for (const loader of loaders) {
    try {
      await loader.close(succeeded)
    } catch (err) {
      first ??= err
    }
  }
  if (succeeded && first !== undefined) throw first
}
