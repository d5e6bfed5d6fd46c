import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AttemptFailure, runAttempt } from '../../src/engine/index.js'
import { readTestDestination } from '../../src/connectors/test-destination/index.js'
import type { Destination, Source } from '../../src/protocol/index.js'
import { rowBatch } from '../../src/protocol/index.js'
import { SluiceError } from '../../src/errors.js'
import { attemptInput, catalogOf, sandbox, testDestination, testSource } from './engine-helpers.js'

const items = { name: 'items', namespace: null }

async function cancelledWithin(promise: Promise<unknown>, abortedAt: () => number, limitMs: number): Promise<AttemptFailure> {
  try {
    await promise
  } catch (e) {
    const elapsed = Date.now() - abortedAt()
    assert.ok(e instanceof AttemptFailure)
    assert.equal(e.code, 'SLUICE_ERR_CANCELLED')
    assert.equal(e.failureType, 'manual_cancellation')
    assert.ok(elapsed < limitMs, `took ${elapsed} ms after the abort`)
    return e
  }
  assert.fail('the attempt was not cancelled')
}

test('abort stops a slow sync within a second, runs both finally blocks, and swaps nothing in', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const config = { records: 10, batchSize: 5 }
  const first = await catalogOf(testSource, config, 'full_refresh', 'overwrite', { generationId: 1, minimumGenerationId: 1 })
  await runAttempt(attemptInput(box, { sourceConfig: config, catalog: first }))

  const finallies: string[] = []
  const slowSource: Source = {
    ...testSource,
    async *read(c, cat, st, opts) {
      try {
        yield* testSource.read(c, cat, st, opts)
      } finally {
        finallies.push('source')
      }
    },
  }
  const slowDestination: Destination = {
    ...testDestination,
    async *write(c, cat, inp, opts) {
      try {
        yield* testDestination.write(c, cat, inp, opts)
      } finally {
        finallies.push('destination')
      }
    },
  }
  const controller = new AbortController()
  const second = await catalogOf(testSource, config, 'full_refresh', 'overwrite', { generationId: 2, minimumGenerationId: 2 })
  const input = attemptInput(box, {
    source: slowSource,
    destination: slowDestination,
    sourceConfig: { records: 100_000, batchSize: 5, delayMs: 20 },
    destinationConfig: { path: box.outDir, delayMs: 10 },
    catalog: second,
    signal: controller.signal,
  })
  const running = runAttempt(input)
  await new Promise((r) => setTimeout(r, 300))
  const abortedAt = Date.now()
  controller.abort()
  const err = await cancelledWithin(running, () => abortedAt, 1000)
  assert.deepEqual(finallies.sort(), ['destination', 'source'])
  assert.ok(err.stats.totalStats.recordsEmitted > 0)
  assert.ok(input.committed.length > 0)
  assert.ok(input.options.logger.lines.some((l) => l.includes('cancellation requested')))
  const visible = await readTestDestination(box.outDir, items)
  assert.equal(visible.length, 10)
  assert.ok(visible.every((l) => l._airbyte_generation_id === 1))
})

test('a connector that ignores the signal cannot hold the attempt past the grace period', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const stuck: Source = {
    ...testSource,
    async *read() {
      yield rowBatch(items, [{ id: 1 }])
      // Never resolves and never looks at the signal.
      await new Promise(() => {})
    },
  }
  const controller = new AbortController()
  const catalog = await catalogOf(testSource, {}, 'full_refresh', 'append')
  const running = runAttempt(attemptInput(box, { source: stuck, catalog, signal: controller.signal }), { abortGraceMs: 300 })
  await new Promise((r) => setTimeout(r, 100))
  const abortedAt = Date.now()
  controller.abort()
  await cancelledWithin(running, () => abortedAt, 1000)
})

test('an already aborted signal fails at once without reading', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const controller = new AbortController()
  controller.abort()
  let reads = 0
  const counting: Source = {
    ...testSource,
    read(c, cat, st, opts) {
      reads++
      return testSource.read(c, cat, st, opts)
    },
  }
  const catalog = await catalogOf(testSource, {}, 'full_refresh', 'append')
  await cancelledWithin(runAttempt(attemptInput(box, { source: counting, catalog, signal: controller.signal })), () => Date.now(), 100)
  assert.equal(reads, 0)
})

test('abort during a CPU-bound sync (fast source, fast destination) is still seen promptly', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const busy: Source = {
    ...testSource,
    async *read() {
      for (let i = 0; ; i++) yield rowBatch(items, [{ id: i }], { bytes: 10 })
    },
  }
  const sink: Destination = {
    ...testDestination,
    async *write(_c, _cat, inp) {
      for await (const m of inp) if (m.type === 'STATE') yield m
    },
  }
  const controller = new AbortController()
  const catalog = await catalogOf(testSource, {}, 'full_refresh', 'append')
  const running = runAttempt(attemptInput(box, { source: busy, destination: sink, catalog, signal: controller.signal }))
  const abortedAt = Date.now() + 200
  setTimeout(() => controller.abort(), 200)
  const err = await cancelledWithin(running, () => abortedAt, 1000)
  assert.ok(err.stats.totalStats.recordsEmitted > 100)
})

test('an abort reason that is a SluiceError (a lost lease) is what the attempt rejects with', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const controller = new AbortController()
  const catalog = await catalogOf(testSource, {}, 'full_refresh', 'append')
  const running = runAttempt(attemptInput(box, { sourceConfig: { records: 1000, batchSize: 1, delayMs: 10 }, catalog, signal: controller.signal }))
  setTimeout(() => controller.abort(new SluiceError('SLUICE_ERR_CANCELLED', 'lease lost', { failureType: 'system_error' })), 50)
  await assert.rejects(running, (e: unknown) => {
    assert.ok(e instanceof AttemptFailure)
    assert.equal(e.code, 'SLUICE_ERR_CANCELLED')
    assert.equal(e.failureType, 'system_error')
    assert.equal(e.message, 'lease lost')
    return true
  })
})
