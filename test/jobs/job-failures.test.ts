import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { readTestDestination } from '../../src/connectors/test-destination/index.js'
import { startJobsServer, type JobsServer } from './jobs-harness.js'

const items = { name: 'items' }

describe('job failures: retries, config errors, cancel', () => {
  let s: JobsServer
  before(async () => {
    s = await startJobsServer({ SLUICE_MAX_ATTEMPTS: '3' })
  })
  after(async () => {
    await s.close()
  })

  test('transient failures are retried; the job is incomplete in between and resumes from saved state', async () => {
    const out = `${s.outDir}/transient`
    // The first two source runs fail after 25 records (2 states of 10 saved), the third succeeds.
    const connectionId = await s.connection({
      source: { records: 50, batchSize: 10, transientFailures: 2, failAfterRecords: 25, runKey: 'transient', delayMs: 20 },
      destination: { path: out },
    })
    const jobId = (await s.post('connections/sync', { connectionId })).body.job.id as number
    const done = await s.waitFor(jobId, ['succeeded', 'failed', 'cancelled'])
    assert.equal(done.job.status, 'succeeded')
    assert.deepEqual(done.attempts.map((a: any) => a.attempt.status), ['failed', 'failed', 'succeeded'])
    const first = done.attempts[0].attempt
    assert.equal(first.failureSummary.failures[0].failureType, 'transient_error')
    assert.equal(first.failureSummary.failures[0].failureOrigin, 'source')
    assert.equal(first.failureSummary.failures[0].retryable, true)
    assert.equal(first.failureSummary.partialSuccess, true)
    assert.equal(first.totalStats.recordsCommitted, 20)
    // Attempt 2 resumes after id 20; it commits 20 more (21..40) before failing; attempt 3 reads 41..50.
    assert.equal(done.attempts[1].attempt.totalStats.recordsEmitted, 25)
    assert.equal(done.attempts[2].attempt.totalStats.recordsEmitted, 10)
    assert.equal(done.job.summary.recordsSynced, 50)
    const rows = await readTestDestination(out, items)
    assert.deepEqual(rows.map((r) => r._airbyte_data.id).sort((a, b) => (a as number) - (b as number)), Array.from({ length: 50 }, (_, i) => i + 1))
    assert.ok(done.attempts[0].logs.logLines.some((l: string) => /retry/.test(l)), done.attempts[0].logs.logLines.join('\n'))
  })

  test('a config error fails the job at once with an actionable failureSummary', async () => {
    const connectionId = await s.connection({ source: { failAfterRecords: 5, failureType: 'config' }, destination: { path: `${s.outDir}/config` } })
    const done = await s.waitFor((await s.post('connections/sync', { connectionId })).body.job.id, ['succeeded', 'failed', 'cancelled'])
    assert.equal(done.job.status, 'failed')
    assert.equal(done.attempts.length, 1, 'never retried')
    const failure = done.attempts[0].attempt.failureSummary.failures[0]
    assert.equal(failure.failureType, 'config_error')
    assert.equal(failure.retryable, false)
    assert.match(failure.externalMessage, /planned config failure after 5 records/)
    assert.equal(typeof failure.timestamp, 'number')
    const status = await s.post('connections/status', { connectionIds: [connectionId] })
    assert.equal(status.body[0].connectionSyncStatus, 'failed')
    assert.equal(status.body[0].failureReason.failureType, 'config_error')
  })

  test('system errors are retried up to SLUICE_MAX_ATTEMPTS, then the job fails', async () => {
    const connectionId = await s.connection({ destination: { path: `${s.outDir}/system`, failAfterRecords: 0, failureType: 'system' } })
    const done = await s.waitFor((await s.post('connections/sync', { connectionId })).body.job.id, ['succeeded', 'failed', 'cancelled'])
    assert.equal(done.job.status, 'failed')
    assert.equal(done.attempts.length, 3)
    for (const a of done.attempts) {
      assert.equal(a.attempt.status, 'failed')
      assert.equal(a.attempt.failureSummary.failures[0].failureType, 'system_error')
      assert.equal(a.attempt.failureSummary.failures[0].failureOrigin, 'destination')
    }
    assert.ok(done.attempts[2].logs.logLines.some((l: string) => l.includes('Attempt failed')))
  })

  test('cancel stops a running sync within seconds and leaves no half-written output', async () => {
    const out = `${s.outDir}/cancel`
    const connectionId = await s.connection({
      source: { records: 10_000, batchSize: 10, delayMs: 50 },
      destination: { path: out },
      streams: [{ name: 'items', syncMode: 'full_refresh', destinationSyncMode: 'overwrite' }],
    })
    const jobId = (await s.post('connections/sync', { connectionId })).body.job.id as number
    await s.waitFor(jobId, ['running'])
    const cancel = await s.post('jobs/cancel', { id: jobId })
    assert.equal(cancel.status, 200)
    assert.ok(['running', 'cancelled'].includes(cancel.body.job.status))
    const done = await s.waitFor(jobId, ['cancelled', 'succeeded', 'failed'], 10_000)
    assert.equal(done.job.status, 'cancelled')
    const attempt = done.attempts[0].attempt
    // The source needs 50 s for its 10,000 rows: a cancel that waited for the end would show them all.
    assert.ok(attempt.totalStats.recordsEmitted < 10_000, `stopped after ${attempt.totalStats.recordsEmitted} rows`)
    assert.equal(attempt.status, 'failed')
    assert.equal(attempt.failureSummary.failures[0].failureType, 'manual_cancellation')
    // Overwrite swaps only on COMPLETE: nothing visible.
    assert.deepEqual(await readTestDestination(out, items), [])
    const visible = existsSync(out) ? await readdir(out) : []
    assert.deepEqual(visible.filter((f) => !f.startsWith('.')), [])
    // A pending job is cancelled at once, without an attempt.
    const second = await s.connection({ source: { records: 1000, batchSize: 10, delayMs: 50 }, destination: { path: join(out, 'x') } })
    const third = await s.connection({ source: { records: 1000, batchSize: 10, delayMs: 50 }, destination: { path: join(out, 'y') } })
    const a = (await s.post('connections/sync', { connectionId: second })).body.job.id as number
    const b = (await s.post('connections/sync', { connectionId: third })).body.job.id as number
    const c = (await s.post('connections/sync', { connectionId })).body.job.id as number
    // Two worker slots are busy with a and b, so c is still pending.
    await s.waitFor(a, ['running'])
    await s.waitFor(b, ['running'])
    const cancelledPending = await s.post('jobs/cancel', { id: c })
    assert.equal(cancelledPending.body.job.status, 'cancelled')
    assert.deepEqual(cancelledPending.body.attempts, [])
    for (const id of [a, b]) {
      await s.post('jobs/cancel', { id })
      await s.waitFor(id, ['cancelled'])
    }
  })

  test('failures without progress back off; the job is incomplete until the next attempt', async () => {
    const slow = await startJobsServer({ SLUICE_RETRY_BACKOFF_MS: '1500' })
    try {
      const connectionId = await slow.connection({ source: { records: 10, transientFailures: 1, failAfterRecords: 0, runKey: 'backoff' }, destination: { path: `${slow.outDir}/b` } })
      const jobId = (await slow.post('connections/sync', { connectionId })).body.job.id as number
      const between = await slow.waitFor(jobId, ['incomplete'])
      assert.equal(between.attempts.length, 1)
      assert.equal(between.attempts[0].attempt.status, 'failed')
      assert.equal(between.attempts[0].attempt.failureSummary.partialSuccess, false)
      const done = await slow.waitFor(jobId, ['succeeded', 'failed'])
      assert.equal(done.job.status, 'succeeded')
      assert.equal(done.attempts.length, 2)
      // The server's own record: the second attempt started at least the backoff (1.5 s, in
      // whole seconds here) after the first ended.
      const [failed, retried] = done.attempts.map((a: any) => a.attempt)
      assert.ok(retried.createdAt - failed.endedAt >= 1, `retry at ${retried.createdAt}, failure at ${failed.endedAt}`)
      assert.equal(done.job.summary.recordsSynced, 10)
    } finally {
      await slow.close()
    }
  })

  test('a connection whose last N sync jobs all failed is turned off', async () => {
    const strict = await startJobsServer({ SLUICE_AUTO_DISABLE_FAILED_JOBS: '3' })
    try {
      const connectionId = await strict.connection({ source: { failAfterRecords: 0, failureType: 'config' }, destination: { path: `${strict.outDir}/off` } })
      for (let i = 0; i < 3; i++) {
        const done = await strict.waitFor((await strict.post('connections/sync', { connectionId })).body.job.id, ['failed', 'succeeded'])
        assert.equal(done.job.status, 'failed')
        const status = (await strict.post('connections/get', { connectionId })).body.status
        assert.equal(status, i < 2 ? 'active' : 'inactive', `after ${i + 1} failed jobs`)
      }
      const refused = await strict.post('connections/sync', { connectionId })
      assert.equal(refused.status, 422)
    } finally {
      await strict.close()
    }
  })
})
