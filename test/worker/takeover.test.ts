import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fixture, succeed } from './worker-fixture.js'

test("a dead worker's attempt is taken over at once, without the retry backoff", async () => {
  const f = await fixture()
  try {
    let clock = 1_000_000
    const job = await f.jobStore.createJob({ configType: 'sync', configId: f.connectionId, streams: [] })
    await f.jobStore.claimNext('dead-worker', 1_000, clock)
    clock += 5_000
    // A backoff of 10 minutes would apply to a real failure; a lost worker is not one.
    const w = f.worker(f.jobStore, succeed, { now: () => clock, retry: { backoffBaseMs: 600_000, maxAttempts: 5 } })
    assert.equal(await w.recover(false), 1)
    const recovered = await f.jobStore.getJob(job.id)
    assert.equal(recovered?.status, 'incomplete')
    assert.equal(recovered?.runAfter, clock, 'runnable now')
    assert.equal((await f.jobStore.claimNext('next-worker', 30_000, clock))?.job.id, job.id, 'claimed at once')
  } finally {
    await f.close()
  }
})

test('a job whose attempts keep losing their worker still ends by the retry limits', async () => {
  const f = await fixture()
  try {
    let clock = 1_000_000
    const job = await f.jobStore.createJob({ configType: 'sync', configId: f.connectionId, streams: [] })
    const w = f.worker(f.jobStore, succeed, { now: () => clock, retry: { backoffBaseMs: 0, maxAttempts: 2 } })
    for (let i = 0; i < 2; i++) {
      await f.jobStore.claimNext(`dead-${i}`, 1_000, clock)
      clock += 5_000
      assert.equal(await w.recover(false), 1)
    }
    assert.equal((await f.jobStore.getJob(job.id))?.status, 'failed')
  } finally {
    await f.close()
  }
})

test('expired leases are found on a timer of their own: an idle worker with an hour-long poll still takes the attempt over', async () => {
  const f = await fixture()
  // Polling never comes round in this test; only the recovery timer (every half lease) can find the lost attempt.
  const w = f.worker(f.jobStore, succeed, { workerId: 'survivor', leaseMs: 400, pollIntervalMs: 3_600_000, retry: { backoffBaseMs: 600_000, maxAttempts: 3 } })
  try {
    const job = await f.jobStore.createJob({ configType: 'sync', configId: f.connectionId, streams: [] })
    await f.jobStore.claimNext('dead-worker', 300)
    await w.start()
    assert.equal((await f.waitJob(job.id, ['succeeded', 'failed'])).status, 'succeeded')
    const attempts = await f.jobStore.listAttempts(job.id)
    assert.deepEqual(
      attempts.map((a) => [a.workerId, a.status]),
      [
        ['dead-worker', 'failed'],
        ['survivor', 'succeeded'],
      ],
    )
  } finally {
    await w.stop()
    await f.close()
  }
})
