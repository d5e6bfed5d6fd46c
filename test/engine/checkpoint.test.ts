import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AttemptFailure, runAttempt } from '../../src/engine/index.js'
import { readTestDestination } from '../../src/connectors/test-destination/index.js'
import type { Destination, DestinationMessage, StateMessage } from '../../src/protocol/index.js'
import { SluiceError } from '../../src/errors.js'
import { attemptInput, catalogOf, sandbox, testDestination, testSource } from './engine-helpers.js'

const items = { name: 'items', namespace: null }

/** Wraps the test destination and records every message it receives, in order. */
function recording(inner: Destination = testDestination): Destination & { seen: DestinationMessage[] } {
  const seen: DestinationMessage[] = []
  return {
    seen,
    spec: inner.spec,
    capabilities: inner.capabilities,
    check: inner.check.bind(inner),
    write(config, catalog, input, opts) {
      async function* tap() {
        for await (const m of input) {
          seen.push(m)
          yield m
        }
      }
      return inner.write(config, catalog, tap(), opts)
    },
  }
}

async function failure(promise: Promise<unknown>): Promise<AttemptFailure> {
  try {
    await promise
  } catch (e) {
    assert.ok(e instanceof AttemptFailure, `not an AttemptFailure: ${String(e)}`)
    return e
  }
  assert.fail('the attempt did not fail')
}

test('a state is handed over only after the records before it are visible in the destination', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const config = { records: 23, batchSize: 5 }
  const catalog = await catalogOf(testSource, config, 'incremental', 'append')
  const input = attemptInput(box, { sourceConfig: config, catalog })
  const checked: number[] = []
  input.onStateCommitted = async (states) => {
    for (const s of states) {
      const visible = (await readTestDestination(box.outDir, items)).map((l) => l._airbyte_data.id)
      assert.equal(visible.at(-1), s.data?.id)
      checked.push(s.data?.id as number)
    }
  }
  await runAttempt(input)
  assert.deepEqual(checked, [5, 10, 15, 20, 23])
})

test('the destination sees records, then their state, and COMPLETE once per stream at the end', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const config = { records: 6, batchSize: 4, streams: ['items', 'other'] }
  const catalog = await catalogOf(testSource, config, 'full_refresh', 'append')
  const dest = recording()
  const input = attemptInput(box, { sourceConfig: config, catalog, destination: dest })
  await runAttempt(input)
  const logs = input.options.logger.lines
  for (const expected of ['INFO engine: attempt started with 2 stream(s): items, other', 'INFO engine: stream items started', 'INFO engine: stream other complete: 6 records read', 'INFO engine: stream items: 6 records (', 'INFO engine: attempt succeeded: 12 records (']) {
    assert.ok(logs.some((l) => l.startsWith(expected)), `no log line starting with ${expected}`)
  }
  const trace = dest.seen.map((m) => (m.type === 'RECORD_BATCH' ? `R:${m.stream.name}:${m.count}` : m.type === 'STATE' ? `S:${m.stream.name}:${m.recordCount}` : `${m.status}:${m.stream.name}`))
  assert.deepEqual(trace, ['R:items:4', 'S:items:4', 'R:items:2', 'S:items:2', 'R:other:4', 'S:other:4', 'R:other:2', 'S:other:2', 'COMPLETE:items', 'COMPLETE:other'])
})

test('a destination that never echoes: nothing is committed, even when the source stops half-way', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const config = { records: 20, batchSize: 5 }
  const catalog = await catalogOf(testSource, config, 'incremental', 'append')
  const ok = attemptInput(box, { sourceConfig: config, catalog, destinationConfig: { path: box.outDir, echoStates: false } })
  await runAttempt(ok)
  assert.equal(ok.committed.length, 0)

  const failing = attemptInput(box, { sourceConfig: { ...config, failAfterRecords: 12 }, catalog, destinationConfig: { path: box.outDir, echoStates: false } })
  const err = await failure(runAttempt(failing))
  assert.equal(failing.committed.length, 0)
  assert.equal(err.stats.totalStats.recordsEmitted, 12)
  assert.equal(err.stats.totalStats.recordsCommitted, 0)
  assert.equal(err.partialSuccess, false)
})

test('a destination may skip states or echo copies: commits follow what it echoes', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const skipping: Destination = {
    ...testDestination,
    async *write(config, catalog, input, opts) {
      let n = 0
      for await (const s of testDestination.write(config, catalog, input, opts)) {
        // Every second state only, as a structured copy.
        if (n++ % 2 === 1) yield structuredClone(s)
      }
    },
  }
  const config = { records: 20, batchSize: 5, failAfterRecords: 17 }
  const catalog = await catalogOf(testSource, config, 'incremental', 'append')
  const input = attemptInput(box, { sourceConfig: config, catalog, destination: skipping })
  const err = await failure(runAttempt(input))
  assert.deepEqual(input.committed.map((s) => s.data?.id), [10])
  assert.deepEqual(input.committed.map((s) => s.recordCount), [5])
  assert.equal(err.stats.totalStats.recordsCommitted, 10)
  assert.equal(err.stats.totalStats.recordsEmitted, 17)
  assert.equal(err.stats.totalStats.stateMessagesEmitted, 3)
  assert.equal(err.partialSuccess, true)
})

test('a source failure: no COMPLETE, overwrite keeps the old data, origin source', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const config = { records: 10, batchSize: 5 }
  const catalog = await catalogOf(testSource, config, 'full_refresh', 'overwrite', { generationId: 1, minimumGenerationId: 1 })
  await runAttempt(attemptInput(box, { sourceConfig: config, catalog }))

  const catalog2 = await catalogOf(testSource, config, 'full_refresh', 'overwrite', { generationId: 2, minimumGenerationId: 2 })
  const dest = recording()
  const input = attemptInput(box, { sourceConfig: { records: 30, batchSize: 5, failAfterRecords: 13, failureType: 'config' }, catalog: catalog2, destination: dest })
  const err = await failure(runAttempt(input))
  assert.equal(err.origin, 'source')
  assert.equal(err.failureType, 'config_error')
  assert.equal(err.code, 'SLUICE_ERR_CONNECTOR_CONFIG')
  assert.equal(err.retryable, false)
  assert.match(err.message, /planned config failure after 13 records/)
  assert.ok(!dest.seen.some((m) => m.type === 'STREAM_STATUS' && m.status === 'COMPLETE'))
  // Staged (durable) states of the new generation were echoed: progress is kept for a retry...
  assert.deepEqual(input.committed.map((s) => s.data?.id), [5, 10])
  assert.equal(err.stats.totalStats.recordsCommitted, 10)
  // ...but the visible data is still the old generation.
  const visible = await readTestDestination(box.outDir, items)
  assert.equal(visible.length, 10)
  assert.ok(visible.every((l) => l._airbyte_generation_id === 1))
  assert.ok(input.options.logger.lines.some((l) => l.startsWith('ERROR engine: source failed (config_error')))
  const reason = err.toFailureReason()
  assert.equal(reason.failureOrigin, 'source')
  assert.equal(reason.retryable, false)
})

test('destination failures carry origin destination and the failure type', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const config = { records: 30, batchSize: 5 }
  const catalog = await catalogOf(testSource, config, 'incremental', 'append')
  const sys = await failure(runAttempt(attemptInput(box, { sourceConfig: config, catalog, destinationConfig: { path: box.outDir, failAfterRecords: 12 } })))
  assert.equal(sys.origin, 'destination')
  assert.equal(sys.failureType, 'system_error')
  assert.equal(sys.stats.totalStats.recordsCommitted, 10)

  const transient = { path: box.outDir, transientFailures: 1, failAfterRecords: 7, runKey: 'flaky' }
  const first = attemptInput(box, { sourceConfig: config, catalog, destinationConfig: transient })
  const err = await failure(runAttempt(first))
  assert.equal(err.origin, 'destination')
  assert.equal(err.failureType, 'transient_error')
  assert.equal(err.retryable, true)
  assert.equal(err.partialSuccess, true)
  // The retry resumes from the committed state and succeeds (only the first run fails).
  const retry = attemptInput(box, { sourceConfig: config, catalog, destinationConfig: transient, state: first.committed.slice(-1) })
  const result = await runAttempt(retry)
  assert.equal(result.totalStats.recordsCommitted, 25)
})

test('a failing onStateCommitted stops the attempt with origin persistence and closes both sides', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const closed: string[] = []
  const config = { records: 1000, batchSize: 5 }
  const catalog = await catalogOf(testSource, config, 'incremental', 'append')
  const input = attemptInput(box, {
    sourceConfig: config,
    catalog,
    source: {
      ...testSource,
      async *read(c, cat, st, opts) {
        try {
          yield* testSource.read(c, cat, st, opts)
        } finally {
          closed.push('source')
        }
      },
    },
    destination: {
      ...testDestination,
      async *write(c, cat, inp, opts) {
        try {
          yield* testDestination.write(c, cat, inp, opts)
        } finally {
          closed.push('destination')
        }
      },
    },
  })
  let calls = 0
  input.onStateCommitted = async () => {
    if (++calls === 2) throw new SluiceError('SLUICE_ERR_STORE', 'disk full')
  }
  const err = await failure(runAttempt(input))
  assert.equal(err.origin, 'persistence')
  assert.equal(err.code, 'SLUICE_ERR_STORE')
  assert.equal(err.failureType, 'system_error')
  assert.equal(err.stats.totalStats.recordsCommitted, 5)
  assert.ok(err.stats.totalStats.recordsEmitted < 100)
  assert.deepEqual(closed.sort(), ['destination', 'source'])
})

test('a destination that stops reading early is a destination failure, not a hang', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const config = { records: 100, batchSize: 5 }
  const catalog = await catalogOf(testSource, config, 'full_refresh', 'append')
  const quitter: Destination = {
    ...testDestination,
    async *write(_c, _cat, inp) {
      for await (const m of inp) {
        if (m.type === 'STATE') return
      }
    },
  }
  const err = await failure(runAttempt(attemptInput(box, { sourceConfig: config, catalog, destination: quitter })))
  assert.equal(err.origin, 'destination')
  assert.match(err.message, /stopped reading/)
})

test('states of streams outside the catalog are ignored with a warning', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const config = { records: 4, batchSize: 2, streams: ['items', 'ghost'] }
  const full = await catalogOf(testSource, config, 'full_refresh', 'append')
  const catalog = { streams: full.streams.filter((s) => s.stream.name === 'items') }
  const chatty = {
    ...testSource,
    async *read(c: Record<string, unknown>, _cat: unknown, st: StateMessage[], opts: Parameters<typeof testSource.read>[3]) {
      yield* testSource.read(c, full, st, opts)
    },
  }
  const input = attemptInput(box, { sourceConfig: config, catalog, source: chatty })
  const result = await runAttempt(input)
  assert.equal(result.totalStats.recordsEmitted, 4)
  assert.ok(input.committed.every((s) => s.stream.name === 'items'))
  assert.equal(input.options.logger.lines.filter((l) => l.includes('ghost')).length, 2)
})

test('onProgress: running totals at the configured interval, the last call equals the result', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const config = { records: 40, batchSize: 2, delayMs: 15 }
  const catalog = await catalogOf(testSource, config, 'incremental', 'append')
  const input = attemptInput(box, { sourceConfig: config, catalog })
  const seen: { emitted: number; committed: number }[] = []
  let last: unknown
  input.onProgress = (p) => {
    seen.push({ emitted: p.totalStats.recordsEmitted, committed: p.totalStats.recordsCommitted })
    last = p
  }
  const started = Date.now()
  const result = await runAttempt(input, { progressIntervalMs: 50 })
  const elapsed = Date.now() - started
  assert.ok(seen.length >= 4, `only ${seen.length} progress calls`)
  // At most one per interval, plus the final one.
  assert.ok(seen.length <= elapsed / 50 + 2, `${seen.length} progress calls in ${elapsed} ms at 50 ms`)
  for (let i = 1; i < seen.length; i++) {
    assert.ok((seen[i]?.emitted ?? 0) >= (seen[i - 1]?.emitted ?? 0))
    assert.ok((seen[i]?.committed ?? 0) >= (seen[i - 1]?.committed ?? 0))
  }
  assert.ok(seen.every((s) => s.committed <= s.emitted))
  assert.deepEqual(last, result)
  assert.equal(result.totalStats.recordsCommitted, 40)
})
