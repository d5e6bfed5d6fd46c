import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readTestDestination } from '../../src/connectors/test-destination/index.js'
import { startJobsServer, type JobsServer } from './jobs-harness.js'

const items = { name: 'items' }

function ids(lines: Array<{ _airbyte_data: Record<string, unknown> }>): number[] {
  return lines.map((l) => l._airbyte_data.id as number).sort((a, b) => a - b)
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i)
}

describe('sync jobs through the API', () => {
  let s: JobsServer
  before(async () => {
    s = await startJobsServer()
  })
  after(async () => {
    await s.close()
  })

  test('connections/sync runs incremental + append_dedup end to end; job shapes', async () => {
    const connectionId = await s.connection({ destination: { path: `${s.outDir}/dedup` } })
    const started = await s.post('connections/sync', { connectionId })
    assert.equal(started.status, 200)
    const job = started.body.job
    assert.equal(Number.isInteger(job.id), true)
    assert.equal(job.configType, 'sync')
    assert.equal(job.configId, connectionId)
    assert.ok(['pending', 'running'].includes(job.status))
    assert.ok(Math.abs(job.createdAt - Date.now() / 1000) < 60, 'createdAt in epoch seconds')
    assert.equal(typeof job.updatedAt, 'number')
    assert.deepEqual(job.enabledStreams, [{ name: 'items' }])
    assert.ok(Array.isArray(started.body.attempts))

    const done = await s.waitFor(job.id, ['succeeded', 'failed', 'cancelled'])
    assert.equal(done.job.status, 'succeeded', JSON.stringify(done.attempts.map((a: any) => a.attempt.failureSummary)))
    assert.deepEqual(done.job.summary, { recordsSynced: 50, bytesSynced: done.job.aggregatedStats.bytesCommitted })
    assert.ok(done.job.summary.bytesSynced > 0)
    assert.equal(done.job.aggregatedStats.recordsEmitted, 50)
    assert.equal(done.job.aggregatedStats.recordsCommitted, 50)
    assert.equal(done.attempts.length, 1)
    const info = done.attempts[0]
    assert.equal(info.logType, 'formatted')
    assert.ok(info.logs.logLines.length > 0)
    assert.ok(info.logs.logLines.some((l: string) => l.includes('Attempt succeeded')), info.logs.logLines.join('\n'))
    const attempt = info.attempt
    assert.equal(attempt.id, 0)
    assert.equal(attempt.status, 'succeeded')
    assert.equal(attempt.recordsSynced, 50)
    assert.equal(attempt.totalStats.recordsEmitted, 50)
    assert.equal(attempt.totalStats.recordsCommitted, 50)
    assert.equal(attempt.totalStats.stateMessagesEmitted, 5)
    assert.equal(attempt.streamStats[0].streamName, 'items')
    assert.equal(attempt.streamStats[0].stats.recordsCommitted, 50)
    assert.equal(typeof attempt.endedAt, 'number')
    assert.equal(attempt.failureSummary, undefined)
    assert.deepEqual(ids(await readTestDestination(`${s.outDir}/dedup`, items)), range(1, 50))

    // Saved state, readable through state/get.
    const state = await s.post('state/get', { connectionId })
    assert.equal(state.body.stateType, 'stream')
    assert.deepEqual(state.body.streamState[0].streamDescriptor, { name: 'items' })
    assert.equal(state.body.streamState[0].streamState.id, 50)

    // Light and no-log variants, attempt/get_for_job, last replication job, status.
    const light = await s.post('jobs/get_light', { id: job.id })
    assert.equal(light.body.job.id, job.id)
    assert.equal(light.body.attempts, undefined)
    const noLogs = await s.post('jobs/get_without_logs', { id: job.id })
    assert.deepEqual(noLogs.body.attempts[0].logs, { logLines: [] })
    const one = await s.post('attempt/get_for_job', { jobId: job.id, attemptNumber: 0 })
    assert.equal(one.status, 200)
    assert.equal(one.body.attempt.id, 0)
    assert.ok(one.body.logs.logLines.length > 0)
    assert.equal((await s.post('attempt/get_for_job', { jobId: job.id, attemptNumber: 3 })).status, 404)
    const lastJob = await s.post('jobs/get_last_replication_job', { connectionId })
    assert.equal(lastJob.body.job.id, job.id)
    const status = await s.post('connections/status', { connectionIds: [connectionId] })
    assert.equal(status.status, 200)
    assert.equal(status.body[0].connectionSyncStatus, 'synced')
    assert.equal(status.body[0].lastSyncJobId, job.id)
    assert.equal(status.body[0].lastSuccessfulSync, done.job.updatedAt)
  })

  test('incremental resume: the next sync reads only rows after the saved cursor', async () => {
    const out = `${s.outDir}/resume`
    const connectionId = await s.connection({ destination: { path: out }, streams: [{ name: 'items', syncMode: 'incremental', destinationSyncMode: 'append' }] })
    const first = await s.waitFor((await s.post('connections/sync', { connectionId })).body.job.id, ['succeeded', 'failed'])
    assert.equal(first.job.status, 'succeeded')
    assert.equal(first.job.aggregatedStats.recordsEmitted, 50)
    // The source grows to 80 rows: only 51..80 are read, appended after 1..50.
    const conn = await s.post('connections/get', { connectionId })
    const sourceId = conn.body.sourceId as string
    const src = await s.post('sources/get', { sourceId })
    const updated = await s.post('sources/update', { sourceId, name: src.body.name, connectionConfiguration: { ...src.body.connectionConfiguration, records: 80 } })
    assert.equal(updated.status, 200, JSON.stringify(updated.body))
    const second = await s.waitFor((await s.post('connections/sync', { connectionId })).body.job.id, ['succeeded', 'failed'])
    assert.equal(second.job.status, 'succeeded')
    assert.equal(second.job.aggregatedStats.recordsEmitted, 30)
    assert.deepEqual(ids(await readTestDestination(out, items)), range(1, 80))
  })

  test('full_refresh + overwrite replaces, full_refresh + append accumulates', async () => {
    const overwriteOut = `${s.outDir}/overwrite`
    const appendOut = `${s.outDir}/append`
    const ow = await s.connection({ source: { records: 20 }, destination: { path: overwriteOut }, streams: [{ name: 'items', syncMode: 'full_refresh', destinationSyncMode: 'overwrite' }] })
    const ap = await s.connection({ source: { records: 20 }, destination: { path: appendOut }, streams: [{ name: 'items', syncMode: 'full_refresh', destinationSyncMode: 'append' }] })
    for (let i = 0; i < 2; i++) {
      for (const connectionId of [ow, ap]) {
        const done = await s.waitFor((await s.post('connections/sync', { connectionId })).body.job.id, ['succeeded', 'failed'])
        assert.equal(done.job.status, 'succeeded')
        assert.equal(done.job.aggregatedStats.recordsEmitted, 20, 'full refresh reads everything every time')
      }
    }
    const overwritten = await readTestDestination(overwriteOut, items)
    assert.deepEqual(ids(overwritten), range(1, 20))
    assert.equal(new Set(overwritten.map((l) => l._airbyte_generation_id)).size, 1, 'one generation left')
    const appended = await readTestDestination(appendOut, items)
    assert.equal(appended.length, 40)
    assert.deepEqual([...new Set(appended.map((l) => l._airbyte_generation_id))].sort(), [1, 2], 'each job is a new generation')
  })

  test('409 while a sync runs; inactive connection refused; unknown ids are 404', async () => {
    const connectionId = await s.connection({ source: { records: 40, batchSize: 5, delayMs: 100 }, destination: { path: `${s.outDir}/busy` } })
    const first = await s.post('connections/sync', { connectionId })
    assert.equal(first.status, 200)
    const second = await s.post('connections/sync', { connectionId })
    assert.equal(second.status, 409)
    assert.equal(second.body.message, `A sync is already running for: ${connectionId}`)
    const cancelled = await s.post('jobs/cancel', { id: first.body.job.id })
    assert.equal(cancelled.status, 200)
    await s.waitFor(first.body.job.id, ['cancelled'])

    const inactive = await s.connection({ extra: { status: 'inactive' } })
    const refused = await s.post('connections/sync', { connectionId: inactive })
    assert.equal(refused.status, 422)
    assert.match(refused.body.message, /Can only sync an active connection/)

    const missing = await s.post('jobs/get', { id: 99999 })
    assert.equal(missing.status, 404)
    assert.equal(missing.body.id, '99999')
    assert.match(missing.body.message, /Could not find job with id: 99999/)
    assert.equal((await s.post('jobs/cancel', { id: 99999 })).status, 404)
    assert.equal((await s.post('connections/sync', { connectionId: '7c0b4a40-1e1c-4a57-9e52-3b0e1c1e0a99' })).status, 404)
    assert.equal((await s.post('jobs/get', {})).status, 422)
  })

  test('reset clears state and destination data; reset/stream names its streams', async () => {
    const out = `${s.outDir}/reset`
    const connectionId = await s.connection({ source: { records: 30 }, destination: { path: out } })
    const sync = await s.waitFor((await s.post('connections/sync', { connectionId })).body.job.id, ['succeeded', 'failed'])
    assert.equal(sync.job.status, 'succeeded')
    assert.equal((await readTestDestination(out, items)).length, 30)

    const reset = await s.post('connections/reset', { connectionId })
    assert.equal(reset.status, 200)
    assert.equal(reset.body.job.configType, 'reset_connection')
    assert.deepEqual(reset.body.job.resetConfig, { streamsToReset: [{ name: 'items' }] })
    const resetDone = await s.waitFor(reset.body.job.id, ['succeeded', 'failed'])
    assert.equal(resetDone.job.status, 'succeeded', JSON.stringify(resetDone.attempts.map((a: any) => a.attempt.failureSummary)))
    assert.deepEqual(await readTestDestination(out, items), [])
    assert.deepEqual((await s.post('state/get', { connectionId })).body, { stateType: 'not_set', connectionId })

    // The next sync starts from scratch.
    const again = await s.waitFor((await s.post('connections/sync', { connectionId })).body.job.id, ['succeeded', 'failed'])
    assert.equal(again.job.aggregatedStats.recordsEmitted, 30)

    const byStream = await s.post('connections/clear/stream', { connectionId, streams: [{ streamName: 'items' }] })
    assert.equal(byStream.status, 200)
    assert.deepEqual(byStream.body.job.resetConfig, { streamsToReset: [{ name: 'items' }] })
    assert.equal((await s.waitFor(byStream.body.job.id, ['succeeded', 'failed'])).job.status, 'succeeded')
    assert.deepEqual(await readTestDestination(out, items), [])
  })

  test('connections/refresh: Merge re-reads and keeps old records, Truncate re-reads and drops them', async () => {
    const out = `${s.outDir}/refresh`
    const connectionId = await s.connection({ source: { records: 30 }, destination: { path: out }, streams: [{ name: 'items', syncMode: 'incremental', destinationSyncMode: 'append' }] })
    assert.equal((await s.waitFor((await s.post('connections/sync', { connectionId })).body.job.id, ['succeeded', 'failed'])).job.status, 'succeeded')

    const merge = await s.post('connections/refresh', { connectionId, refreshMode: 'Merge', streams: [{ streamName: 'items' }] })
    assert.equal(merge.status, 200, JSON.stringify(merge.body))
    assert.equal(merge.body.job.configType, 'refresh')
    assert.deepEqual(merge.body.job.refreshConfig, { streamsToRefresh: [{ name: 'items' }] })
    const merged = await s.waitFor(merge.body.job.id, ['succeeded', 'failed'])
    assert.equal(merged.job.status, 'succeeded')
    assert.equal(merged.job.aggregatedStats.recordsEmitted, 30, 'state cleared: everything is read again')
    let rows = await readTestDestination(out, items)
    assert.equal(rows.length, 60)
    assert.deepEqual([...new Set(rows.map((r) => r._airbyte_generation_id))].sort(), [0, 1])

    const truncate = await s.post('connections/refresh', { connectionId, refreshMode: 'truncate' })
    assert.equal(truncate.status, 200)
    assert.equal((await s.waitFor(truncate.body.job.id, ['succeeded', 'failed'])).job.status, 'succeeded')
    rows = await readTestDestination(out, items)
    assert.deepEqual(ids(rows), range(1, 30))
    assert.deepEqual([...new Set(rows.map((r) => r._airbyte_generation_id))], [2])
    const last = await s.post('jobs/get_last_replication_job', { connectionId })
    assert.equal(last.body.job.id, truncate.body.job.id)
    assert.equal((await s.post('connections/refresh', { connectionId, refreshMode: 'Sideways' })).status, 422)
  })

  test('reset while a sync runs cancels the sync and takes its place', async () => {
    const out = `${s.outDir}/reset-running`
    const connectionId = await s.connection({ source: { records: 100, batchSize: 5, delayMs: 100 }, destination: { path: out } })
    const sync = await s.post('connections/sync', { connectionId })
    await s.waitFor(sync.body.job.id, ['running'])
    const reset = await s.post('connections/reset', { connectionId })
    assert.equal(reset.status, 200)
    const syncDone = await s.waitFor(sync.body.job.id, ['cancelled', 'succeeded', 'failed'])
    assert.equal(syncDone.job.status, 'cancelled')
    const resetDone = await s.waitFor(reset.body.job.id, ['succeeded', 'failed'])
    assert.equal(resetDone.job.status, 'succeeded')
    assert.deepEqual(await readTestDestination(out, items), [])
  })

  test('namespace mapping and prefix reach the destination; state keeps source names', async () => {
    const out = `${s.outDir}/mapping`
    const connectionId = await s.connection({
      source: { records: 7, namespace: 'src' },
      destination: { path: out },
      extra: { namespaceDefinition: 'customformat', namespaceFormat: 'ns_${SOURCE_NAMESPACE}', prefix: 'pre_' },
    })
    const done = await s.waitFor((await s.post('connections/sync', { connectionId })).body.job.id, ['succeeded', 'failed'])
    assert.equal(done.job.status, 'succeeded', JSON.stringify(done.attempts.map((a: any) => a.attempt.failureSummary)))
    assert.equal((await readTestDestination(out, { name: 'pre_items', namespace: 'ns_src' })).length, 7)
    const state = await s.post('state/get', { connectionId })
    assert.deepEqual(state.body.streamState[0].streamDescriptor, { name: 'items', namespace: 'src' })
  })

  test('jobs/list: filters, pagination, newest first, seed fields on each item', async () => {
    const connectionId = await s.connection({
      source: { records: 5 },
      destination: { path: `${s.outDir}/list` },
      streams: [{ name: 'items', syncMode: 'full_refresh', destinationSyncMode: 'overwrite' }],
    })
    const jobIds: number[] = []
    for (let i = 0; i < 3; i++) {
      const id = (await s.post('connections/sync', { connectionId })).body.job.id as number
      await s.waitFor(id, ['succeeded'])
      jobIds.push(id)
    }
    const resetId = (await s.post('connections/reset', { connectionId })).body.job.id as number
    await s.waitFor(resetId, ['succeeded'])

    const syncs = await s.post('jobs/list', { configTypes: ['sync'], configId: connectionId })
    assert.equal(syncs.status, 200)
    assert.equal(syncs.body.totalJobCount, 3)
    assert.deepEqual(syncs.body.jobs.map((j: any) => j.job.id), [...jobIds].reverse())
    const item = syncs.body.jobs[0]
    assert.equal(item.id, item.job.id)
    assert.equal(item.status, 'succeeded')
    assert.equal(item.configType, 'sync')
    assert.equal(item.configId, connectionId)
    assert.equal(item.createdAt, item.job.createdAt)
    assert.deepEqual(item.summary, { recordsSynced: 5, bytesSynced: item.job.aggregatedStats.bytesCommitted })
    assert.equal(item.attempts[0].id, 0, 'list attempts are bare AttemptReads')
    assert.equal(item.attempts[0].logs, undefined)

    const all = await s.post('jobs/list', { configTypes: ['sync', 'reset_connection'], configId: connectionId, pagination: { pageSize: 2, rowOffset: 1 } })
    assert.equal(all.body.totalJobCount, 4)
    assert.deepEqual(all.body.jobs.map((j: any) => j.id), [jobIds[2], jobIds[1]])
    const including = await s.post('jobs/list', { configTypes: ['sync'], configId: connectionId, includingJobId: jobIds[0], pagination: { pageSize: 1 } })
    assert.deepEqual(including.body.jobs.map((j: any) => j.id), [...jobIds].reverse(), 'the page grows to reach includingJobId')
    const failedOnly = await s.post('jobs/list', { configTypes: ['sync'], configId: connectionId, statuses: ['failed'] })
    assert.deepEqual(failedOnly.body, { jobs: [], totalJobCount: 0 })
    const asc = await s.post('jobs/list', { configTypes: ['SYNC'], configId: connectionId, orderByField: 'createdAt', orderByMethod: 'ASC', pagination: { pageSize: 1 } })
    assert.deepEqual(asc.body.jobs.map((j: any) => j.id), [jobIds[0]])
    assert.equal((await s.post('jobs/list', { configTypes: [] })).status, 422)
    assert.equal((await s.post('jobs/list', { configId: connectionId })).status, 422)
  })
})
