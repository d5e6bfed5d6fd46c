import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AttemptFailure, runAttempt } from '../../src/engine/index.js'
import { SluiceError } from '../../src/errors.js'
import { SluiceMetrics } from '../../src/metrics/index.js'
import type { JobStore } from '../../src/store/job-store.js'
import { emptyStats } from '../../src/store/sqlite/sqlite-job-store.js'
import { parsePromText, type PromText } from '../helpers/prometheus-text.js'
import { fixture } from '../worker/worker-fixture.js'

async function scrape(metrics: SluiceMetrics): Promise<PromText> {
  return parsePromText((await metrics.exposition()).body)
}

test('a sync through a worker: attempt started and succeeded, records and bytes of its connection, claims timed', async () => {
  const f = await fixture()
  const metrics = new SluiceMetrics({ processMetrics: false })
  const w = f.worker(f.jobStore, (input) => runAttempt(input), { metrics })
  try {
    await w.start()
    const job = await f.jobStore.createJob({ configType: 'sync', configId: f.connectionId, streams: [] })
    assert.equal((await f.waitJob(job.id, ['succeeded', 'failed', 'incomplete'])).status, 'succeeded')
    await w.stop()
    const [attempt] = await f.jobStore.listAttempts(job.id)
    // The test source's default: 100 rows of one stream.
    assert.equal(attempt?.totalStats.recordsCommitted, 100)

    const p = await scrape(metrics)
    assert.equal(p.value('sluice_attempts_started_total', { type: 'sync' }), 1)
    assert.equal(p.value('sluice_job_queue_wait_seconds_count', { type: 'sync' }), 1)
    assert.equal(p.value('sluice_attempts_ended_total', { type: 'sync', status: 'succeeded' }), 1)
    assert.deepEqual(p.all('sluice_attempts_failed_total'), [])
    assert.equal(p.value('sluice_attempt_duration_seconds_count', { type: 'sync', status: 'succeeded' }), 1)
    assert.equal(p.value('sluice_records_total', { connection_id: f.connectionId }), 100)
    assert.equal(p.value('sluice_bytes_total', { connection_id: f.connectionId }), attempt?.totalStats.bytesCommitted)
    assert.ok((attempt?.totalStats.bytesCommitted ?? 0) > 0)
    // The slots claimed at least once each (the one that found the job, and the empty polls).
    assert.ok(p.value('sluice_claim_duration_seconds_count') >= 2)
    assert.equal(p.value('sluice_attempts_running'), 0)
    assert.equal(p.value('sluice_lease_expiries_total'), 0)
  } finally {
    await w.stop()
    await f.close()
  }
})

test('the busy-slot gauge counts the attempts running now', async () => {
  const f = await fixture()
  const metrics = new SluiceMetrics({ processMetrics: false })
  let release: () => void = () => {}
  const w = f.worker(
    f.jobStore,
    () =>
      new Promise((resolve) => {
        release = () => resolve({ totalStats: emptyStats(), streamStats: [] })
      }),
    { metrics },
  )
  try {
    await w.start()
    const job = await f.jobStore.createJob({ configType: 'sync', configId: f.connectionId, streams: [] })
    await f.waitJob(job.id, ['running'])
    assert.equal((await scrape(metrics)).value('sluice_attempts_running'), 1)
    release()
    await f.waitJob(job.id, ['succeeded'])
    await w.stop()
    assert.equal((await scrape(metrics)).value('sluice_attempts_running'), 0)
  } finally {
    release()
    await w.stop()
    await f.close()
  }
})

test('a failed attempt is counted by failure type, with the records it committed before failing', async () => {
  const f = await fixture()
  const metrics = new SluiceMetrics({ processMetrics: false })
  const committed = (records: number) => ({ totalStats: { ...emptyStats(), recordsEmitted: records, recordsCommitted: records, bytesCommitted: records * 10 }, streamStats: [] })
  const w = f.worker(
    f.jobStore,
    async (input) => {
      input.onProgress?.(committed(30))
      throw new AttemptFailure('source', new SluiceError('SLUICE_ERR_CONNECTOR_TRANSIENT', 'the API went away', { failureType: 'transient_error' }), committed(50))
    },
    { metrics },
  )
  try {
    await w.start()
    const job = await f.jobStore.createJob({ configType: 'sync', configId: f.connectionId, streams: [] })
    // The fixture's retry policy allows one attempt.
    assert.equal((await f.waitJob(job.id, ['succeeded', 'failed'])).status, 'failed')
    await w.stop()
    const p = await scrape(metrics)
    assert.equal(p.value('sluice_attempts_ended_total', { type: 'sync', status: 'failed' }), 1)
    assert.equal(p.value('sluice_attempts_failed_total', { type: 'sync', failure_type: 'transient_error' }), 1)
    assert.equal(p.value('sluice_attempt_duration_seconds_count', { type: 'sync', status: 'failed' }), 1)
    // 30 reported on the way, 20 more in the failure's final stats: counted once each.
    assert.equal(p.value('sluice_records_total', { connection_id: f.connectionId }), 50)
    assert.equal(p.value('sluice_bytes_total', { connection_id: f.connectionId }), 500)
  } finally {
    await w.stop()
    await f.close()
  }
})

test('a cancelled attempt is counted as cancelled, not as a failure', async () => {
  const f = await fixture()
  const metrics = new SluiceMetrics({ processMetrics: false })
  const w = f.worker(
    f.jobStore,
    (input) =>
      new Promise((_, reject) => {
        input.options.signal.addEventListener('abort', () => reject(input.options.signal.reason))
      }),
    { metrics },
  )
  try {
    await w.start()
    const job = await f.jobStore.createJob({ configType: 'sync', configId: f.connectionId, streams: [] })
    await f.waitJob(job.id, ['running'])
    await f.jobStore.requestCancel(job.id)
    assert.equal((await f.waitJob(job.id, ['cancelled', 'failed', 'succeeded'])).status, 'cancelled')
    await w.stop()
    const p = await scrape(metrics)
    assert.equal(p.value('sluice_attempts_ended_total', { type: 'sync', status: 'cancelled' }), 1)
    assert.deepEqual(p.all('sluice_attempts_failed_total'), [])
    assert.deepEqual(p.all('sluice_records_total'), [])
  } finally {
    await w.stop()
    await f.close()
  }
})

test('attempts recovered from a dead worker count as lease expiries; the next attempt records its queue wait', async () => {
  const f = await fixture()
  const metrics = new SluiceMetrics({ processMetrics: false })
  let clock = Date.now()
  // The worker and its claims read one injected clock, so the queue wait is exact.
  const store: JobStore = new Proxy(f.jobStore, {
    get(target, prop, receiver) {
      if (prop === 'claimNext') return (workerId: string, leaseMs: number) => target.claimNext(workerId, leaseMs, clock)
      const value = Reflect.get(target, prop, receiver) as unknown
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  const w = f.worker(store, async () => ({ totalStats: emptyStats(), streamStats: [] }), { metrics, now: () => clock, retry: { backoffBaseMs: 600_000, maxAttempts: 3 } })
  try {
    const job = await f.jobStore.createJob({ configType: 'sync', configId: f.connectionId, streams: [] })
    await f.jobStore.claimNext('dead-worker', 1_000, clock)
    clock += 5_000
    assert.equal(await w.recover(false), 1)
    // A second recovery finds nothing more: still one expiry.
    assert.equal(await w.recover(false), 0)
    assert.equal((await scrape(metrics)).value('sluice_lease_expiries_total'), 1)
    // Runnable since the recovery; claimed 2.5 s later.
    clock += 2_500
    await w.start()
    assert.equal((await f.waitJob(job.id, ['succeeded', 'failed'])).status, 'succeeded')
    await w.stop()
    const p = await scrape(metrics)
    assert.equal(p.value('sluice_job_queue_wait_seconds_count', { type: 'sync' }), 1)
    assert.equal(p.value('sluice_job_queue_wait_seconds_sum', { type: 'sync' }), 2.5)
    assert.equal(p.value('sluice_attempts_started_total', { type: 'sync' }), 1, 'the dead worker started the first attempt, not this process')
    assert.equal(p.value('sluice_lease_expiries_total'), 1)
  } finally {
    await w.stop()
    await f.close()
  }
})
