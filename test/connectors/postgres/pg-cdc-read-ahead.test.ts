import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { setImmediate as tick } from 'node:timers/promises'
import { rowBatch, type SourceMessage } from '../../../src/protocol/index.js'
import { readAhead } from '../../../src/connectors/postgres/pg-cdc-read-ahead.js'

const stream = { name: 's', namespace: null }
const batch = (n: number): SourceMessage => rowBatch(stream, [{ n }], { bytes: 100 })
const state = (n: number): SourceMessage => ({ type: 'STATE', stream, data: { n } })
const label = (m: SourceMessage): string => (m.type === 'RECORD_BATCH' ? `b${m.rows()[0]!.n}` : m.type === 'STATE' ? `s${(m.data as { n: number }).n}` : m.type)

describe('readAhead (the CDC change stream decoded while the destination merges)', () => {
  test('keeps the order, and the producer runs at most maxBytes of batches ahead of a stalled consumer', async () => {
    let produced = 0
    let finallyRan = false
    async function* producer(): AsyncGenerator<SourceMessage> {
      try {
        for (let i = 1; i <= 20; i++) {
          produced = i
          yield batch(i)
          if (i % 5 === 0) yield state(i)
        }
      } finally {
        finallyRan = true
      }
    }
    const it = readAhead(producer(), 300, () => assert.fail('not stopped'))
    const first = await it.next()
    assert.equal(label(first.value as SourceMessage), 'b1')
    // The consumer stalls: the producer fills 300 bytes (3 batches) beyond what was taken.
    for (let i = 0; i < 20; i++) await tick()
    assert.ok(produced >= 3 && produced <= 5, `produced ${produced}`)
    const rest: string[] = []
    for await (const m of { [Symbol.asyncIterator]: () => it }) rest.push(label(m))
    const expected = Array.from({ length: 20 }, (_, k) => k + 1).flatMap((i) => (i % 5 === 0 ? [`b${i}`, `s${i}`] : [`b${i}`]))
    assert.deepEqual(['b1', ...rest], expected)
    assert.equal(finallyRan, true)
  })

  test('an error comes after the messages produced before it', async () => {
    async function* producer(): AsyncGenerator<SourceMessage> {
      yield batch(1)
      yield state(1)
      throw new Error('slot gone')
    }
    const seen: string[] = []
    await assert.rejects(async () => {
      for await (const m of readAhead(producer(), 1 << 20, () => undefined)) seen.push(label(m))
    }, /slot gone/)
    assert.deepEqual(seen, ['b1', 's1'])
  })

  test('a consumer that stops early calls stop (settling the pending read), then the producer finishes', async () => {
    let release: (() => void) | undefined
    let finallyRan = false
    async function* producer(): AsyncGenerator<SourceMessage> {
      try {
        yield batch(1)
        // Waits for data that only stop() ends (as a closed replication connection does).
        await new Promise<void>((resolve) => (release = resolve))
        yield batch(2)
      } finally {
        finallyRan = true
      }
    }
    let stops = 0
    for await (const m of readAhead(producer(), 1 << 20, () => {
      stops++
      release?.()
    })) {
      assert.equal(label(m), 'b1')
      break
    }
    assert.equal(stops, 1)
    assert.equal(finallyRan, true)
  })
})
