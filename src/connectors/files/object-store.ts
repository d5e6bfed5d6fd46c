import type { Writable } from 'node:stream'

/**
 * One object being written. Nothing is visible under its key until `commit` resolves (a temp
 * file renamed into place, a multipart upload completed); `abort` discards it.
 */
export interface ObjectSink {
  readonly stream: Writable
  /** Ends the stream and makes the object durable and visible. */
  commit(): Promise<void>
  /** Discards everything written; safe to call after a failure. */
  abort(): Promise<void>
}

/** The part of a file store the file writers need: Local Files and S3 implement it. */
export interface ObjectStore {
  /** Opens a new object for a streaming write, tagged with the sync generation. */
  create(key: string, generationId: number): Promise<ObjectSink>
  /** Keys under a prefix (full keys, any depth). */
  list(prefix: string): AsyncIterable<string>
  /** The generation an object was written with (0 when it carries none). */
  generationOf(key: string): Promise<number>
  delete(keys: readonly string[]): Promise<void>
}
