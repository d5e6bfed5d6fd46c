import type { JsonSchema } from '../../../protocol/index.js'
import type { ManifestNode } from '../manifest-loader.js'
import { DatetimeCursor } from './datetime-cursor.js'
import { DeclarativeStream, type StreamEnvironment, type StreamEvent } from './declarative-stream.js'
import type { IncrementingCountCursor } from './incrementing-count-cursor.js'
import type { Row } from './record-selector.js'

/**
 * StateDelegatingStream: without state (a first sync, or a full refresh) the `full_refresh_stream`
 * is read, typically a cheaper bulk endpoint; with state the `incremental_stream` is. The stream
 * is described (schema, cursor, primary key) by its incremental stream. After a first incremental
 * sync through the full refresh stream, the state is the newest cursor value among its records, so
 * the next sync continues with the incremental stream.
 */
export class StateDelegatingStream {
  readonly name: string
  readonly #full: DeclarativeStream
  readonly #incremental: DeclarativeStream

  constructor(node: ManifestNode, env: StreamEnvironment) {
    this.#full = new DeclarativeStream(node.full_refresh_stream as ManifestNode, env)
    this.#incremental = new DeclarativeStream(node.incremental_stream as ManifestNode, env)
    this.name = typeof node.name === 'string' && node.name ? node.name : this.#incremental.name
  }

  get primaryKey(): string[][] {
    return this.#incremental.primaryKey
  }

  get jsonSchema(): JsonSchema {
    return this.#incremental.jsonSchema
  }

  get cursor(): DatetimeCursor | IncrementingCountCursor | undefined {
    return this.#incremental.cursor
  }

  async *read(state: Record<string, unknown> | undefined, signal: AbortSignal, opts: { firstPageOnly?: boolean; fullRefresh?: boolean } = {}): AsyncGenerator<StreamEvent> {
    const hasState = !opts.fullRefresh && !!state && Object.keys(state).length > 0
    if (hasState) {
      yield* this.#incremental.read(state, signal, opts)
      return
    }
    const cursor = this.#incremental.cursor
    // The newest record by the cursor's order: its sort key and the value the state stores.
    let newest: { key: number; value: unknown } | undefined
    const valueOf = (r: Row): { key: number; value: unknown } | undefined => {
      if (cursor instanceof DatetimeCursor) {
        const dt = cursor.recordCursor(r)
        return dt && { key: dt.us, value: cursor.format(dt) }
      }
      const n = cursor?.recordValue(r)
      return n === undefined ? undefined : { key: n, value: r[cursor?.cursorField ?? ''] }
    }
    for await (const ev of this.#full.read(undefined, signal, { ...opts, fullRefresh: true })) {
      if (ev.kind === 'records' && cursor && !opts.fullRefresh) {
        for (const r of ev.rows) {
          const v = valueOf(r)
          if (v && (!newest || v.key > newest.key)) newest = v
        }
      }
      yield ev
    }
    if (cursor && !opts.fullRefresh && !opts.firstPageOnly && newest) yield { kind: 'state', data: { [cursor.cursorField]: newest.value } }
  }
}
