import assert from 'node:assert/strict'
import { describe, it, mock } from 'node:test'
import { runLoadSession, writeWithLoaders } from '../../../src/connectors/loader/index.js'
import { configError } from '../../../src/errors.js'
import {
  type ConfiguredCatalog,
  type DestinationMessage,
  type LoadSession,
  type RecordBatch,
  rowBatch,
  type StateMessage,
  type StreamLoader,
} from '../../../src/protocol/index.js'
import { collect, configuredStream, runOptions } from '../../formats/fixtures.js'

/**
 * The shared destination loop, driven with an in-memory loader that records what the loop asks
 * of it. Its records become durable only on flush/finish (as a staged write would), so every
 * assertion about STATE timing is about the loop's rule, not the loader's.
 */

const SCHEMA = { type: 'object', properties: { id: { type: 'integer' } } }
const A = { name: 'a', namespace: 'public' }
const B = { name: 'b', namespace: 'public' }
const CATALOG: ConfiguredCatalog = { streams: [configuredStream('a', SCHEMA), configuredStream('b', SCHEMA)] }

class MemoryLoader implements StreamLoader {
  accepted = 0
  durable = 0
  readonly rows: number[] = []
  readonly committed: number[] = []

  constructor(
    readonly name: string,
    readonly log: string[],
    readonly failOn?: number,
    readonly beforeAccept?: () => Promise<void>,
  ) {}

  async start(): Promise<void> {
    this.log.push(`${this.name}:start`)
  }

  async accept(batch: RecordBatch): Promise<void> {
    await this.beforeAccept?.()
    const ids = batch.rows().map((r) => r.id as number)
    if (this.failOn !== undefined && ids.includes(this.failOn)) throw new Error(`cannot load ${this.failOn}`)
    this.rows.push(...ids)
    this.accepted++
    this.log.push(`${this.name}:accept ${ids.join(',')}`)
  }

  checkpoint(): number {
    return this.accepted
  }

  isDurable(checkpoint: number): boolean {
    return this.durable >= checkpoint
  }

  async flush(): Promise<void> {
    this.committed.push(...this.rows.splice(0))
    this.durable = this.accepted
    this.log.push(`${this.name}:flush`)
  }

  async finish(): Promise<void> {
    await this.flush()
    this.log.push(`${this.name}:finish`)
  }

  async close(succeeded: boolean): Promise<void> {
    if (!succeeded) this.rows.length = 0
    this.log.push(`${this.name}:close ${succeeded}`)
  }
}

function memorySession(
  stateFlushMs: number,
  failOn?: number,
  beforeAccept?: () => Promise<void>,
): { session: LoadSession; log: string[]; loaders: Map<string, MemoryLoader> } {
  const log: string[] = []
  const loaders = new Map<string, MemoryLoader>()
  const session: LoadSession = {
    stateFlushMs,
    createStreamLoader(stream) {
      const loader = new MemoryLoader(stream.stream.name, log, failOn, beforeAccept)
      loaders.set(stream.stream.name, loader)
      return loader
    },
    translateError: (e) => configError(`translated: ${(e as Error).message}`),
    async close(succeeded) {
      log.push(`session:close ${succeeded}`)
    },
  }
  return { session, log, loaders }
}

const batch = (stream: typeof A, ...ids: number[]): RecordBatch => rowBatch(stream, ids.map((id) => ({ id })))
const state = (stream: typeof A, cursor: number): StateMessage => ({ type: 'STATE', stream, data: { cursor } })
const complete = (stream: typeof A): DestinationMessage => ({ type: 'STREAM_STATUS', stream, status: 'COMPLETE' })

async function* messages(list: DestinationMessage[]): AsyncGenerator<DestinationMessage> {
  yield* list
}

describe('destination loop (writeWithLoaders)', () => {
  it('commits before passing a STATE at once when stateFlushMs is 0, and swaps only on COMPLETE', async () => {
    const { session, log, loaders } = memorySession(0)
    const out: string[] = []
    for await (const s of runLoadSession(session, CATALOG, messages([batch(A, 1, 2), state(A, 2), batch(A, 3), complete(A), batch(B, 9)]), runOptions('/tmp'))) {
      out.push(`${s.stream.name}:${JSON.stringify(s.data)}:${loaders.get('a')!.committed.join(',')}`)
    }
    assert.deepEqual(out, ['a:{"cursor":2}:1,2'])
    // b had no COMPLETE: its records are flushed at the end, never finished (no swap).
    assert.deepEqual(log, [
      'a:start',
      'b:start',
      'a:accept 1,2',
      'a:flush',
      'a:accept 3',
      'a:flush',
      'a:finish',
      'b:accept 9',
      'b:flush',
      'a:close true',
      'b:close true',
      'session:close true',
    ])
    assert.deepEqual(loaders.get('b')!.committed, [9])
  })

  it('holds a STATE until its stream is durable, keeps later states behind it, and flushes after stateFlushMs', async () => {
    mock.timers.enable({ apis: ['Date'], now: 0 })
    try {
      const { session, loaders } = memorySession(1000)
      const released: string[] = []
      async function* input(): AsyncGenerator<DestinationMessage> {
        yield batch(A, 1)
        yield state(A, 1)
        // b has nothing pending, but its state may not overtake a's.
        yield state(B, 0)
        yield batch(A, 2)
        assert.deepEqual(released, [], 'no state passes before a is durable')
        mock.timers.tick(1000)
        // The oldest state has waited stateFlushMs: the loop flushes a after this message.
        yield batch(B, 5)
      }
      for await (const s of runLoadSession(session, CATALOG, input(), runOptions('/tmp'))) {
        released.push(`${s.stream.name}:${JSON.stringify(s.data)}`)
        if (released.length === 2) assert.deepEqual(loaders.get('a')!.committed, [1, 2])
      }
      assert.deepEqual(released, ['a:{"cursor":1}', 'b:{"cursor":0}'])
    } finally {
      mock.timers.reset()
    }
  })

  it('pulls the next message only after the loader accepted the previous one', async () => {
    let pulled = 0
    let slowAccepts = 0
    const { session } = memorySession(0, undefined, async () => {
      const before = pulled
      await new Promise((r) => setImmediate(r))
      await new Promise((r) => setImmediate(r))
      assert.equal(pulled, before, 'the loop pulled a message while a batch was being accepted')
      slowAccepts++
    })
    async function* input(): AsyncGenerator<DestinationMessage> {
      for (let i = 0; i < 20; i++) {
        pulled++
        yield batch(A, i)
      }
    }
    await collect(runLoadSession(session, CATALOG, input(), runOptions('/tmp')))
    assert.equal(slowAccepts, 20)
  })

  it('closes every loader and the session as failed and translates the error when a loader fails', async () => {
    const { session, log, loaders } = memorySession(0, 3)
    const write = writeWithLoaders(async () => session)
    await assert.rejects(
      collect(write({}, CATALOG, messages([batch(B, 7), batch(A, 1), state(A, 1), batch(A, 3)]), runOptions('/tmp'))),
      /translated: cannot load 3/,
    )
    assert.deepEqual(log.slice(-3), ['a:close false', 'b:close false', 'session:close false'])
    // b's records were never flushed, and the failed close discarded them.
    assert.deepEqual(loaders.get('b')!.committed, [])
    assert.deepEqual(loaders.get('b')!.rows, [])
  })

  it('rejects with a cancellation while the input is stuck, and tears down as failed', async () => {
    const { session, log } = memorySession(0)
    const controller = new AbortController()
    async function* stuck(): AsyncGenerator<DestinationMessage> {
      yield batch(A, 1)
      controller.abort()
      await new Promise(() => undefined)
    }
    await assert.rejects(collect(runLoadSession(session, CATALOG, stuck(), runOptions('/tmp', controller.signal))), /cancel/i)
    assert.deepEqual(log.slice(-1), ['session:close false'])
    assert.ok(!log.includes('a:flush'))
  })

  it('tears down as failed when the consumer stops early', async () => {
    const { session, log } = memorySession(0)
    for await (const s of runLoadSession(session, CATALOG, messages([batch(A, 1), state(A, 1), batch(A, 2), state(A, 2)]), runOptions('/tmp'))) {
      assert.deepEqual(s.data, { cursor: 1 })
      break
    }
    assert.deepEqual(log.slice(-3), ['a:close false', 'b:close false', 'session:close false'])
  })

  it('refuses records of a stream outside the catalog', async () => {
    const { session } = memorySession(0)
    const other = { name: 'other', namespace: 'public' }
    await assert.rejects(collect(runLoadSession(session, CATALOG, messages([batch(other, 1)]), runOptions('/tmp'))), /not in the configured catalog/)
  })
})
