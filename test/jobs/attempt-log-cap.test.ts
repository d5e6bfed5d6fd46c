import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { startJobsServer, type JobsServer } from './jobs-harness.js'

let s: JobsServer
before(async () => {
  s = await startJobsServer({ SLUICE_ATTEMPT_LOG_MAX_BYTES: '4096' })
})
after(async () => {
  await s.close()
})

test('SLUICE_ATTEMPT_LOG_MAX_BYTES bounds the log the API serves: the newest lines, one marker on top', async () => {
  // 60 streams: the engine logs each one's start and end, far more than 4 KiB.
  const names = Array.from({ length: 60 }, (_, i) => `stream_${i}`)
  const connectionId = await s.connection({
    source: { streams: names, records: 1 },
    streams: names.map((name) => ({ name, syncMode: 'full_refresh', destinationSyncMode: 'overwrite' })),
  })
  const job = (await s.post('connections/sync', { connectionId })).body.job
  const done = await s.waitFor(job.id, ['succeeded', 'failed'])
  assert.equal(done.job.status, 'succeeded')
  const lines: string[] = done.attempts[0].logs.logLines
  assert.match(lines[0] ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d WARN … \d+ bytes of earlier log dropped \(cap 4096 bytes\)$/)
  const kept = lines.slice(1).reduce((n, l) => n + Buffer.byteLength(l) + 1, 0)
  assert.ok(kept <= 4096, `${kept} bytes kept`)
  assert.ok(kept > 2048, `${kept} bytes kept: the tail, not a sliver of it`)
  assert.ok(lines.some((l) => / INFO Attempt succeeded: 60 records/.test(l)), 'the end of the attempt is kept')
  assert.ok(!lines.some((l) => /started on worker/.test(l)), 'the start of the attempt went')
  const one = await s.post('attempt/get_for_job', { jobId: job.id, attemptNumber: 0 })
  assert.deepEqual(one.body.logs.logLines, lines)
})
