import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isSluiceError } from '../../src/errors.js'
import { metricsExposureFromEnv, SluiceMetrics } from '../../src/metrics/index.js'
import { parsePromText, type PromText } from '../helpers/prometheus-text.js'

async function scrape(metrics: SluiceMetrics): Promise<PromText> {
  return parsePromText((await metrics.exposition()).body)
}

test('the worker-side recorders land in their series with the right labels and units', async () => {
  const metrics = new SluiceMetrics({ processMetrics: false, version: '9.9.9' })
  metrics.attemptStarted('sync', 1_500)
  metrics.attemptStarted('sync')
  metrics.attemptStarted('reset_connection', 0)
  metrics.attemptEnded({ jobType: 'sync', status: 'failed', failureType: 'transient_error', durationMs: 2_000 })
  metrics.attemptEnded({ jobType: 'sync', status: 'succeeded', durationMs: 90_000 })
  metrics.attemptEnded({ jobType: 'reset_connection', status: 'cancelled', durationMs: 500 })
  metrics.recordsCommitted('conn-a', 1_000, 64_000)
  metrics.recordsCommitted('conn-a', 500, 32_000)
  metrics.recordsCommitted('conn-b', 0, 0)
  metrics.claimObserved(3)
  metrics.claimObserved(40)
  metrics.leasesExpired(2)
  metrics.leasesExpired(0)

  const p = await scrape(metrics)
  assert.equal(p.value('sluice_build_info', { version: '9.9.9' }), 1)
  assert.equal(p.value('sluice_attempts_started_total', { type: 'sync' }), 2)
  assert.equal(p.value('sluice_attempts_started_total', { type: 'reset_connection' }), 1)
  assert.equal(p.value('sluice_attempts_ended_total', { type: 'sync', status: 'failed' }), 1)
  assert.equal(p.value('sluice_attempts_ended_total', { type: 'sync', status: 'succeeded' }), 1)
  assert.equal(p.value('sluice_attempts_failed_total', { type: 'sync', failure_type: 'transient_error' }), 1)
  // A cancelled attempt is not a failure.
  assert.deepEqual(p.all('sluice_attempts_failed_total', { type: 'reset_connection' }), [])
  // Durations are in seconds: 2 s lands in the 5 s bucket, not the 1 s one.
  assert.equal(p.value('sluice_attempt_duration_seconds_bucket', { type: 'sync', status: 'failed', le: '1' }), 0)
  assert.equal(p.value('sluice_attempt_duration_seconds_bucket', { type: 'sync', status: 'failed', le: '5' }), 1)
  assert.equal(p.value('sluice_attempt_duration_seconds_sum', { type: 'sync', status: 'succeeded' }), 90)
  assert.equal(p.value('sluice_job_queue_wait_seconds_count', { type: 'sync' }), 1)
  assert.equal(p.value('sluice_job_queue_wait_seconds_sum', { type: 'sync' }), 1.5)
  assert.equal(p.value('sluice_records_total', { connection_id: 'conn-a' }), 1_500)
  assert.equal(p.value('sluice_bytes_total', { connection_id: 'conn-a' }), 96_000)
  // Nothing committed: no series for the connection.
  assert.deepEqual(p.all('sluice_records_total', { connection_id: 'conn-b' }), [])
  assert.equal(p.value('sluice_claim_duration_seconds_count'), 2)
  assert.equal(p.value('sluice_claim_duration_seconds_bucket', { le: '0.005' }), 1)
  assert.equal(p.value('sluice_claim_duration_seconds_bucket', { le: '0.05' }), 2)
  assert.equal(p.value('sluice_lease_expiries_total'), 2)
  assert.equal(p.types.get('sluice_attempt_duration_seconds'), 'histogram')
  assert.equal(p.types.get('sluice_records_total'), 'counter')
  assert.deepEqual(p.all('process_resident_memory_bytes'), [], 'process metrics were turned off')
})

test('each SluiceMetrics has its own registry: two in one process neither clash nor share counts', async () => {
  const a = new SluiceMetrics()
  const b = new SluiceMetrics()
  a.leasesExpired(3)
  assert.equal((await scrape(a)).value('sluice_lease_expiries_total'), 3)
  assert.equal((await scrape(b)).value('sluice_lease_expiries_total'), 0)
  assert.ok((await scrape(a)).value('process_resident_memory_bytes') > 0)
})

test('SLUICE_METRICS: off, public (default) or auth; anything else is refused with the accepted values', () => {
  assert.equal(metricsExposureFromEnv({}), 'public')
  assert.equal(metricsExposureFromEnv({ SLUICE_METRICS: 'AUTH' }), 'auth')
  assert.equal(metricsExposureFromEnv({ SLUICE_METRICS: 'off' }), 'off')
  assert.throws(
    () => metricsExposureFromEnv({ SLUICE_METRICS: 'yes' }),
    (e: unknown) => isSluiceError(e) && e.code === 'SLUICE_ERR_INVALID_INPUT' && e.message === 'SLUICE_METRICS must be one of off, public, auth; got "yes".',
  )
})
