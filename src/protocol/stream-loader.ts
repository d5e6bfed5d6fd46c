import type { ConfiguredCatalog, ConfiguredStream } from './catalog.js'
import type { ConnectorConfig, RunOptions } from './connector.js'
import type { RecordBatch } from './messages.js'

/*
 * What a destination implements so the shared message loop can drive it (the shape of Airbyte's
 * bulk CDK: a per-write `DestinationWriter` with setup/teardown hands out one `StreamLoader` per
 * stream, and the framework owns the loop). The loop lives in `connectors/loader/`; it feeds
 * batches, keeps STATE messages in order and passes each one on only once the loader of its
 * stream reports the records before it durable, calls `finish` on STREAM_STATUS COMPLETE, and
 * closes everything in `finally`.
 */

/**
 * One stream's loader for one write. Created (synchronously, so configuration errors surface
 * before any I/O of other streams) for every configured stream, then started in catalog order
 * before the first message is read. Calls never overlap: the loop awaits each one.
 */
export interface StreamLoader {
  /** Open/stage: creates or prepares what the stream writes into (tables, staging). */
  start(): Promise<void>
  /**
   * Takes one non-empty batch of the stream. The loop pulls the next message only once this
   * resolves, so a slow destination slows the source down (backpressure).
   */
  accept(batch: RecordBatch): Promise<void>
  /**
   * A position covering every record accepted so far: the loop takes one when a STATE of the
   * stream arrives. Positions never decrease; 0 means nothing needs to become durable.
   * Loaders sharing one transaction may return positions of that transaction (a commit makes
   * every stream durable at once).
   */
  checkpoint(): number
  /** Whether every record up to `checkpoint` is durable (committed, visible after a crash). */
  isDurable(checkpoint: number): boolean
  /** Makes every accepted record durable now (commit the transaction, complete the open files). */
  flush(): Promise<void>
  /**
   * The stream is COMPLETE: makes its records durable and publishes the stream (overwrite: swap
   * the new data in, drop older generations). Only here may earlier data be replaced.
   */
  finish(): Promise<void>
  /**
   * Teardown, called once per started loader. `succeeded` is false after an error or an abort:
   * the loader then discards whatever it has not committed, so no partial output shows.
   */
  close(succeeded: boolean): Promise<void>
}

/**
 * The per-write part of a destination (connection, client, transaction): hands out the stream
 * loaders and is closed after them.
 */
export interface LoadSession {
  /**
   * How long a STATE may wait for its stream's records to become durable on their own (a file
   * part filling up) before the loop flushes that stream; 0 flushes at every STATE.
   */
  readonly stateFlushMs: number
  /** The loader of one configured stream. */
  createStreamLoader(stream: ConfiguredStream): StreamLoader
  /**
   * Turns an error of the write into the error the attempt reports (driver codes to
   * SluiceErrors). Not called after an abort: the loop reports a cancellation then.
   */
  translateError?(error: unknown): Error
  /** Teardown after every loader closed; `succeeded` false: end without committing anything more. */
  close(succeeded: boolean): Promise<void>
}

/** Opens the session of one write (validating the config, connecting). */
export type LoadSessionFactory<C extends ConnectorConfig = ConnectorConfig> = (
  config: C,
  catalog: ConfiguredCatalog,
  opts: RunOptions,
) => Promise<LoadSession>
