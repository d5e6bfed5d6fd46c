import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setImmediate as tick } from 'node:timers/promises'
import { runAttempt } from '../../src/engine/index.js'
import { fakerDefinition } from '../../src/connectors/faker/index.js'
import type { Destination, RecordBatch, Source } from '../../src/protocol/index.js'
import { attemptInput, catalogOf, sandbox, testDestination, testSource } from './engine-helpers.js'

const items = { name: 'items', namespace: null }
const MiB = 1024 * 1024

/** A source of `batches` batches of fresh 1 MiB buffers (so retained batches would show in RSS). */
function bufferSource(batches: number, counters: { produced: number; consumed: number; maxAhead: number }): Source {
  return {
    ...testSource,
    async *read() {
      for (let i = 0; i < batches; i++) {
        const payload = Buffer.alloc(MiB, i & 0xff)
        counters.produced++
        counters.maxAhead = Math.max(counters.maxAhead, counters.produced - counters.consumed)
        const batch: RecordBatch = { type: 'RECORD_BATCH', stream: items, emittedAt: Date.now(), count: 1, bytes: MiB, rows: () => [{ id: i, payload }] }
        yield batch
        if (i % 10 === 9) yield { type: 'STATE', stream: items, data: { id: i } }
      }
    },
  }
}

/** A slow consumer that only looks at each batch and echoes states. */
function slowSink(counters: { consumed: number }, everyBatch: () => Promise<void>): Destination {
  return {
    ...testDestination,
    async *write(_c, _cat, input) {
      for await (const m of input) {
        if (m.type === 'RECORD_BATCH') {
          assert.equal((m.rows()[0]?.payload as Buffer).length, MiB)
          await everyBatch()
          counters.consumed++
        } else if (m.type === 'STATE') yield m
      }
    },
  }
}

test('backpressure: the source is never more than the hand-off bound ahead of a slow destination', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const counters = { produced: 0, consumed: 0, maxAhead: 0 }
  const catalog = await catalogOf(testSource, {}, 'full_refresh', 'append')
  const input = attemptInput(box, {
    source: bufferSource(60, counters),
    destination: slowSink(counters, () => new Promise((r) => setTimeout(r, 2))),
    catalog,
  })
  const result = await runAttempt(input, { maxBatchesAhead: 2 })
  assert.equal(result.totalStats.recordsCommitted, 60)
  assert.equal(input.committed.length, 6)
  // Two in the hand-off, one being handed by the engine's source loop, one in the source's hands.
  assert.ok(counters.maxAhead <= 2 + 2, `source was ${counters.maxAhead} batches ahead`)
  assert.ok(counters.maxAhead >= 2, 'no overlap between source and destination')
})

test('bounded memory: 1.5 GiB streamed through a slow consumer without RSS growing with it', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const counters = { produced: 0, consumed: 0, maxAhead: 0 }
  const catalog = await catalogOf(testSource, {}, 'full_refresh', 'append')
  const baseline = process.memoryUsage().rss
  let peak = baseline
  const input = attemptInput(box, {
    source: bufferSource(1536, counters),
    destination: slowSink(counters, async () => {
      await tick()
      peak = Math.max(peak, process.memoryUsage().rss)
    }),
    catalog,
  })
  const result = await runAttempt(input)
  assert.equal(result.totalStats.bytesCommitted, 1536 * MiB)
  const growth = (peak - baseline) / MiB
  t.diagnostic(`RSS growth ${growth.toFixed(0)} MiB while streaming 1536 MiB`)
  assert.ok(growth < 200, `RSS grew by ${growth.toFixed(0)} MiB while streaming 1536 MiB`)
})

test('bounded memory on a real source: 1M Faker users take no more memory than a few batches', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const faker = fakerDefinition.source
  const config = { count: 1_000_000, records_per_slice: 2_000, always_updated: false }
  const discovered = await faker.discover(config, box.options())
  const users = discovered.streams.find((s) => s.name === 'users')
  assert.ok(users)
  const catalog = { streams: [{ stream: users, syncMode: 'full_refresh' as const, destinationSyncMode: 'append' as const, cursorField: ['updated_at'], primaryKey: [['id']], syncId: 1, generationId: 0, minimumGenerationId: 0 }] }
  const baseline = process.memoryUsage().rss
  let peak = baseline
  let rows = 0
  const counting: Destination = {
    ...testDestination,
    async *write(_c, _cat, input) {
      for await (const m of input) {
        if (m.type === 'RECORD_BATCH') {
          rows += m.columns?.().columns[0]?.length ?? 0
          peak = Math.max(peak, process.memoryUsage().rss)
        } else if (m.type === 'STATE') yield m
      }
    },
  }
  const input = attemptInput(box, { source: faker, sourceConfig: config, destination: counting, catalog })
  const result = await runAttempt(input)
  assert.equal(rows, 1_000_000)
  assert.equal(result.totalStats.recordsCommitted, 1_000_000)
  assert.equal(input.committed.length, 500)
  const growth = (peak - baseline) / MiB
  t.diagnostic(`RSS growth ${growth.toFixed(0)} MiB for 1M Faker users`)
  assert.ok(growth < 150, `RSS grew by ${growth.toFixed(0)} MiB for 1M rows`)
})
