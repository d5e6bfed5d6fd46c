import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BoundedChannel } from '../../src/engine/bounded-channel.js'

const isBatch = (s: string) => s.startsWith('b')
const settled = async (p: Promise<unknown>) => {
  let done = false
  p.then(() => (done = true), () => (done = true))
  await new Promise((r) => setImmediate(r))
  return done
}

test('push waits while the batch bound or the message bound is reached', async () => {
  const ch = new BoundedChannel<string>(2, 3, isBatch)
  await ch.push('b1')
  await ch.push('b2')
  const third = ch.push('b3')
  assert.equal(await settled(third), false)
  assert.equal(await ch.take(), 'b1')
  assert.equal(await settled(third), true)
  // Two batches queued: a state still fits (3 messages), the next one waits for the message bound.
  await ch.push('s1')
  const fourth = ch.push('s2')
  assert.equal(await settled(fourth), false)
  assert.equal(await ch.take(), 'b2')
  assert.equal(await settled(fourth), true)
  assert.deepEqual([await ch.take(), await ch.take(), await ch.take()], ['b3', 's1', 's2'])
})

test('close lets the consumer drain, then signals the end', async () => {
  const ch = new BoundedChannel<string>(2, 8, isBatch)
  await ch.push('b1')
  const waiting = ch.take()
  assert.equal(await waiting, 'b1')
  const pending = ch.take()
  ch.close()
  assert.equal(await pending, undefined)
  assert.equal(await ch.take(), undefined)
  await assert.rejects(ch.push('b2'))
})

test('cancel drops queued items and rejects the waiting and later calls', async () => {
  const ch = new BoundedChannel<string>(1, 8, isBatch)
  await ch.push('b1')
  const blocked = ch.push('b2')
  const error = new Error('stop')
  ch.cancel(error)
  await assert.rejects(blocked, /stop/)
  await assert.rejects(ch.take(), /stop/)
  await assert.rejects(ch.push('b3'), /stop/)
  const other = new BoundedChannel<string>(1, 8, isBatch)
  const taker = other.take()
  other.cancel(error)
  await assert.rejects(taker, /stop/)
})
