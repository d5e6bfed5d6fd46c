import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { isSluiceError } from '../../src/errors.js'
import type { JobStore } from '../../src/store/job-store.js'

/** A store under test plus the fake clock (epoch ms) it was built with. */
export interface JobStoreHarness {
  store: JobStore
  close(): Promise<void>
}

/** Builds a fresh, empty store whose clock reads `now()`. */
export type JobStoreFactory = (now: () => number) => Promise<JobStoreHarness>

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0)

/**
 * The JobStore contract: every adapter (SQLite, PostgreSQL) must pass it unchanged.
 * Each test uses its own connection ids, so they share one store.
 */
export function jobStoreContract(name: string, factory: JobStoreFactory): void {
  describe(`JobStore contract: ${name}`, () => {
    let clock = T0
    let harness: JobStoreHarness
    let store: JobStore
    before(async () => {
      harness = await factory(() => clock)
      store = harness.store
    })
    after(async () => {
      await harness.close()
    })

    test('createJob: integer ids, pending, epoch ms, one non-terminal job per connection', async () => {
      clock = T0
      const job = await store.createJob({ configType: 'sync', configId: 'c-create', streams: [{ name: 'users' }] })
      assert.equal(Number.isInteger(job.id), true)
      assert.equal(job.status, 'pending')
      assert.equal(job.configId, 'c-create')
      assert.equal(job.createdAt, T0)
      assert.equal(job.cancelRequested, false)
      assert.deepEqual(job.streams, [{ name: 'users' }])
      await assert.rejects(
        store.createJob({ configType: 'sync', configId: 'c-create', streams: [] }),
        (e: unknown) => isSluiceError(e) && e.code === 'SLUICE_ERR_SYNC_RUNNING' && e.httpStatus === 409 && e.message === 'A sync is already running for: c-create',
      )
      const other = await store.createJob({ configType: 'sync', configId: 'c-create-2', streams: [] })
      assert.ok(other.id > job.id)
      assert.equal((await store.activeJob('c-create'))?.id, job.id)
      assert.equal(await store.activeJob('nope'), undefined)
      assert.equal(await store.getJob(987654), undefined)
    })

    test('a schedule slot makes one job', async () => {
      clock = T0
      const slot = T0 + 60_000
      const job = await store.createJob({ configType: 'sync', configId: 'c-slot', streams: [], scheduledFor: slot })
      assert.equal(job.scheduledFor, slot)
      await store.requestCancel(job.id)
      await assert.rejects(
        store.createJob({ configType: 'sync', configId: 'c-slot', streams: [], scheduledFor: slot }),
        (e: unknown) => isSluiceError(e) && e.code === 'SLUICE_ERR_CONFLICT',
      )
      const next = await store.createJob({ configType: 'sync', configId: 'c-slot', streams: [], scheduledFor: slot + 60_000 })
      assert.equal(next.status, 'pending')
    })

    test('claim -> heartbeat -> finish; attempts are 0-based and leases expire', async () => {
      clock = T0
      const job = await store.createJob({ configType: 'sync', configId: 'c-claim', streams: [] })
      let claimed = await store.claimNext('w1', 10_000)
      // Other tests' pending jobs may come first: claim until ours.
      while (claimed !== undefined && claimed.job.id !== job.id) {
        await store.finishAttempt(claimed.job.id, claimed.attempt.attemptNumber, 'w1', { status: 'succeeded', failures: [] }, { status: 'succeeded' })
        claimed = await store.claimNext('w1', 10_000)
      }
      assert.ok(claimed)
      assert.equal(claimed.attempt.attemptNumber, 0)
      assert.equal(claimed.attempt.status, 'running')
      assert.equal(claimed.attempt.workerId, 'w1')
      assert.equal(claimed.attempt.leaseExpiresAt, T0 + 10_000)
      assert.equal(claimed.job.status, 'running')
      assert.equal(claimed.job.startedAt, T0)
      assert.equal(await store.claimNext('w2', 10_000), undefined, 'nothing else is runnable')

      clock = T0 + 5_000
      assert.equal(await store.heartbeat(job.id, 0, 'w1', 10_000), true)
      assert.equal(await store.heartbeat(job.id, 0, 'other-worker', 10_000), false)
      assert.equal((await store.getAttempt(job.id, 0))?.leaseExpiresAt, T0 + 15_000)
      assert.deepEqual(await store.expiredAttempts(T0 + 14_000), [])
      const expired = await store.expiredAttempts(T0 + 16_000)
      assert.deepEqual(expired.map((a) => [a.jobId, a.attemptNumber]), [[job.id, 0]])

      const stats = { recordsEmitted: 3, bytesEmitted: 30, recordsCommitted: 3, bytesCommitted: 30, stateMessagesEmitted: 1 }
      await store.updateAttempt(job.id, 0, { totalStats: stats, streamStats: [{ streamName: 'users', stats }] })
      assert.equal(await store.finishAttempt(job.id, 0, 'other-worker', { status: 'failed', failures: [] }, { status: 'failed' }), false)
      clock = T0 + 20_000
      assert.equal(await store.finishAttempt(job.id, 0, 'w1', { status: 'failed', failures: [failure()] }, { status: 'incomplete', runAfter: T0 + 30_000 }), true)
      assert.equal(await store.finishAttempt(job.id, 0, 'w1', { status: 'succeeded', failures: [] }, { status: 'succeeded' }), false, 'finish twice')
      const attempt = await store.getAttempt(job.id, 0)
      assert.equal(attempt?.status, 'failed')
      assert.equal(attempt?.endedAt, T0 + 20_000)
      assert.deepEqual(attempt?.totalStats, stats)
      assert.equal(attempt?.failures[0]?.failureType, 'transient_error')
      assert.equal((await store.getJob(job.id))?.status, 'incomplete')

      // Backoff: not runnable before runAfter.
      assert.equal(await store.claimNext('w1', 10_000, T0 + 29_000), undefined)
      clock = T0 + 30_000
      const retry = await store.claimNext('w1', 10_000)
      assert.equal(retry?.job.id, job.id)
      assert.equal(retry?.attempt.attemptNumber, 1)
      assert.equal(await store.finishAttempt(job.id, 1, 'w1', { status: 'succeeded', failures: [] }, { status: 'succeeded' }), true)
      assert.deepEqual((await store.listAttempts(job.id)).map((a) => a.status), ['failed', 'succeeded'])
      assert.equal((await store.getJob(job.id))?.status, 'succeeded')
      assert.equal(await store.activeJob('c-claim'), undefined)
    })

    test('requestCancel: pending at once, running by request, terminal unchanged', async () => {
      clock = T0
      const pending = await store.createJob({ configType: 'sync', configId: 'c-cancel-1', streams: [] })
      const cancelled = await store.requestCancel(pending.id)
      assert.equal(cancelled?.status, 'cancelled')
      assert.equal(await store.requestCancel(123456789), undefined)

      const running = await claimJob(store, await store.createJob({ configType: 'sync', configId: 'c-cancel-2', streams: [] }))
      const requested = await store.requestCancel(running)
      assert.equal(requested?.status, 'running')
      assert.equal(requested?.cancelRequested, true)
      assert.equal(await store.finishAttempt(running, 0, 'w1', { status: 'failed', failures: [failure('manual_cancellation')] }, { status: 'cancelled' }), true)
      assert.equal((await store.getJob(running))?.status, 'cancelled')
      assert.equal((await store.requestCancel(running))?.status, 'cancelled')
    })

    test('cancelActive replaces a running sync; the new job waits for the old attempt', async () => {
      clock = T0
      const sync = await claimJob(store, await store.createJob({ configType: 'sync', configId: 'c-reset', streams: [] }))
      const reset = await store.createJob({ configType: 'reset_connection', configId: 'c-reset', streams: [{ name: 'a', namespace: 'ns' }], cancelActive: true })
      const old = await store.getJob(sync)
      assert.equal(old?.status, 'cancelled')
      assert.equal(old?.cancelRequested, true)
      assert.equal((await store.activeJob('c-reset'))?.id, reset.id)
      assert.deepEqual(reset.streams, [{ name: 'a', namespace: 'ns' }])
      assert.equal(await claimFor(store, 'c-reset'), undefined, 'old attempt still running')
      // The old job stays cancelled when its worker finishes the attempt.
      assert.equal(await store.finishAttempt(sync, 0, 'w1', { status: 'failed', failures: [failure('manual_cancellation')] }, { status: 'incomplete' }), true)
      assert.equal((await store.getJob(sync))?.status, 'cancelled')
      const claimed = await claimFor(store, 'c-reset')
      assert.equal(claimed, reset.id)
    })

    test('a cancel requested during a failing attempt wins over the retry', async () => {
      clock = T0
      const id = await claimJob(store, await store.createJob({ configType: 'sync', configId: 'c-cancel-retry', streams: [] }))
      await store.requestCancel(id)
      assert.equal(await store.finishAttempt(id, 0, 'w1', { status: 'failed', failures: [failure()] }, { status: 'incomplete', runAfter: 0 }), true)
      const job = await store.getJob(id)
      assert.equal(job?.status, 'cancelled')
      assert.equal(await claimFor(store, 'c-cancel-retry'), undefined)
    })

    test('a second cancel request changes nothing', async () => {
      clock = T0
      const id = await claimJob(store, await store.createJob({ configType: 'sync', configId: 'c-cancel-twice', streams: [] }))
      clock = T0 + 1000
      const first = await store.requestCancel(id)
      assert.equal(first?.updatedAt, T0 + 1000)
      clock = T0 + 2000
      const second = await store.requestCancel(id)
      assert.deepEqual(second, first)
    })

    test('an incomplete job waiting for its retry is cancelled at once and never claimed again', async () => {
      clock = T0
      const id = await claimJob(store, await store.createJob({ configType: 'sync', configId: 'c-cancel-incomplete', streams: [] }))
      await store.finishAttempt(id, 0, 'w1', { status: 'failed', failures: [failure()] }, { status: 'incomplete', runAfter: T0 })
      const cancelled = await store.requestCancel(id)
      assert.equal(cancelled?.status, 'cancelled')
      assert.equal(cancelled?.cancelRequested, true)
      assert.equal(await claimFor(store, 'c-cancel-incomplete'), undefined)
    })

    test('startedAt is the first claim; a retry keeps it', async () => {
      clock = T0 + 500
      const id = await claimJob(store, await store.createJob({ configType: 'sync', configId: 'c-started', streams: [] }))
      clock = T0 + 10_000
      await store.finishAttempt(id, 0, 'w1', { status: 'failed', failures: [failure()] }, { status: 'incomplete', runAfter: T0 })
      assert.equal(await claimFor(store, 'c-started'), id)
      const job = await store.getJob(id)
      assert.equal(job?.startedAt, T0 + 500)
      assert.deepEqual((await store.listAttempts(id)).map((a) => a.createdAt), [T0 + 500, T0 + 10_000])
    })

    test('a terminal job is final: an attempt ending late records its end, a patch cannot reopen it', async () => {
      clock = T0
      const id = await claimJob(store, await store.createJob({ configType: 'sync', configId: 'c-final', streams: [] }))
      await store.createJob({ configType: 'clear', configId: 'c-final', streams: [], cancelActive: true })
      clock = T0 + 3000
      assert.equal(await store.finishAttempt(id, 0, undefined, { status: 'succeeded', failures: [] }, { status: 'succeeded' }), true)
      const job = await store.getJob(id)
      assert.equal(job?.status, 'cancelled')
      assert.equal(job?.updatedAt, T0 + 3000)
      assert.equal((await store.getAttempt(id, 0))?.endedAt, T0 + 3000)
      await assert.rejects(store.updateJob(id, { status: 'pending' }), (e: unknown) => isSluiceError(e) && e.code === 'SLUICE_ERR_CONFLICT')
      assert.equal((await store.getJob(id))?.status, 'cancelled')
    })

    test('expiredAttempts: running attempts whose lease passed, none that ended', async () => {
      clock = T0
      const id = await claimJob(store, await store.createJob({ configType: 'sync', configId: 'c-expired', streams: [] }))
      const far = T0 + 365 * 86_400_000
      assert.equal((await store.expiredAttempts(far)).some((a) => a.jobId === id), true)
      await store.finishAttempt(id, 0, 'w1', { status: 'succeeded', failures: [] }, { status: 'succeeded' })
      assert.equal((await store.expiredAttempts(far)).some((a) => a.jobId === id), false)
    })

    test('jobs/list filters, ordering and pagination', async () => {
      const conn = 'c-list'
      const ids: number[] = []
      for (let i = 0; i < 5; i++) {
        clock = T0 + i * 1000
        const job = await store.createJob({ configType: i === 4 ? 'reset_connection' : 'sync', configId: conn, streams: [] })
        ids.push(job.id)
        if (i < 4) await store.requestCancel(job.id)
      }
      const all = await store.listJobs({ configId: conn })
      assert.equal(all.totalJobCount, 5)
      assert.deepEqual(all.jobs.map((j) => j.id), [...ids].reverse(), 'newest first')
      const syncs = await store.listJobs({ configId: conn, configTypes: ['sync'] })
      assert.equal(syncs.totalJobCount, 4)
      const page = await store.listJobs({ configId: conn, pageSize: 2, rowOffset: 1 })
      assert.equal(page.totalJobCount, 5)
      assert.deepEqual(page.jobs.map((j) => j.id), [ids[3], ids[2]])
      const asc = await store.listJobs({ configId: conn, orderByMethod: 'ASC', pageSize: 1 })
      assert.deepEqual(asc.jobs.map((j) => j.id), [ids[0]])
      const pending = await store.listJobs({ configId: conn, statuses: ['pending'] })
      assert.deepEqual(pending.jobs.map((j) => j.id), [ids[4]])
      const ranged = await store.listJobs({ configId: conn, createdAtStart: T0 + 1000, createdAtEnd: T0 + 3000 })
      assert.deepEqual(ranged.jobs.map((j) => j.id), [ids[3], ids[2], ids[1]])
    })

    test('updateJob and updateAttempt', async () => {
      clock = T0
      const job = await store.createJob({ configType: 'sync', configId: 'c-update', streams: [] })
      clock = T0 + 7000
      const updated = await store.updateJob(job.id, { status: 'failed' })
      assert.equal(updated.status, 'failed')
      assert.equal(updated.updatedAt, T0 + 7000)
      await assert.rejects(store.updateJob(99999999, { status: 'failed' }), (e: unknown) => isSluiceError(e) && e.httpStatus === 404)
    })

    test('state per stream: save, upsert, clear some, clear all', async () => {
      const conn = 'c-state'
      assert.deepEqual(await store.getState(conn), [])
      await store.saveState(conn, [
        { stream: { name: 'users', namespace: 'public' }, state: { cursor: 1 } },
        { stream: { name: 'orders' }, state: { cursor: 'a' } },
      ])
      await store.saveState(conn, [{ stream: { name: 'users', namespace: 'public' }, state: { cursor: 2 } }])
      const byName = new Map((await store.getState(conn)).map((s) => [s.stream.name, s]))
      assert.deepEqual(byName.get('users'), { stream: { name: 'users', namespace: 'public' }, state: { cursor: 2 } })
      assert.deepEqual(byName.get('orders'), { stream: { name: 'orders' }, state: { cursor: 'a' } })
      // null and '' namespaces are the same stream.
      await store.clearState(conn, [{ name: 'orders', namespace: null }])
      assert.deepEqual((await store.getState(conn)).map((s) => s.stream.name), ['users'])
      await store.clearState(conn)
      assert.deepEqual(await store.getState(conn), [])
      assert.deepEqual(await store.getState('other'), [])
    })

    test('generations start at 0 and only grow', async () => {
      const conn = 'c-gen'
      assert.equal((await store.getGenerations(conn)).size, 0)
      const users = { name: 'users', namespace: 'public' }
      const first = await store.bumpGenerations(conn, [users, { name: 'orders' }])
      assert.deepEqual([...first.values()], [1, 1])
      const second = await store.bumpGenerations(conn, [users])
      assert.equal(second.size, 1)
      assert.equal([...second.values()][0], 2)
      const all = await store.getGenerations(conn)
      assert.deepEqual([...all.values()].sort(), [1, 2])
    })

    test('attempt logs are kept per attempt, in order', async () => {
      clock = T0
      const id = await claimJob(store, await store.createJob({ configType: 'sync', configId: 'c-logs', streams: [] }))
      await store.appendLogs(id, 0, ['one', 'two'])
      await store.appendLogs(id, 0, ['three'])
      await store.appendLogs(id, 1, ['other attempt'])
      assert.deepEqual(await store.readLogs(id, 0), ['one', 'two', 'three'])
      assert.deepEqual(await store.readLogs(id, 1), ['other attempt'])
      assert.deepEqual(await store.readLogs(id, 7), [])
    })

    test('appendLogs with a trim replaces the oldest lines by the marker, in one go', async () => {
      clock = T0
      const id = await claimJob(store, await store.createJob({ configType: 'sync', configId: 'c-log-trim', streams: [] }))
      await store.appendLogs(id, 0, ['a', 'b', 'c', 'd'])
      await store.appendLogs(id, 1, ['other attempt'])
      await store.appendLogs(id, 0, ['e'], { count: 2, marker: 'M1' })
      assert.deepEqual(await store.readLogs(id, 0), ['M1', 'c', 'd', 'e'])
      await store.appendLogs(id, 0, ['f'], { count: 2, marker: 'M2' })
      assert.deepEqual(await store.readLogs(id, 0), ['M2', 'd', 'e', 'f'])
      await store.appendLogs(id, 0, [], { count: 1, marker: 'M3' })
      assert.deepEqual(await store.readLogs(id, 0), ['M3', 'd', 'e', 'f'])
      await store.appendLogs(id, 0, ['g'], { count: 10, marker: 'M4' })
      assert.deepEqual(await store.readLogs(id, 0), ['M4', 'g'])
      assert.deepEqual(await store.readLogs(id, 1), ['other attempt'])
    })

    test('concurrent claimers never take the same job', async () => {
      clock = T0
      const created: number[] = []
      for (let i = 0; i < 20; i++) created.push((await store.createJob({ configType: 'sync', configId: `c-race-${i}`, streams: [] })).id)
      const claims = await Promise.all(Array.from({ length: 40 }, (_, i) => store.claimNext(`w${i % 4}`, 60_000)))
      const got = claims.filter((c) => c !== undefined).map((c) => c.job.id).filter((id) => created.includes(id))
      assert.equal(new Set(got).size, got.length, 'no job claimed twice')
      assert.deepEqual([...got].sort((a, b) => a - b), created)
    })
  })

  // A store of its own: the counts cover every job in it.
  describe(`JobStore contract: ${name}: jobCounts`, () => {
    let clock = T0
    let harness: JobStoreHarness
    before(async () => {
      harness = await factory(() => clock)
    })
    after(async () => {
      await harness.close()
    })

    test('counts jobs by status and type, the queue with its oldest entry, and running attempts per worker', async () => {
      const store = harness.store
      assert.deepEqual(await store.jobCounts(), { byStatusAndType: [], queued: 0, runningAttemptsByWorker: [] })

      clock = T0
      const running = await store.createJob({ configType: 'sync', configId: 'k-run', streams: [] })
      assert.equal((await store.claimNext('w-a', 60_000))?.job.id, running.id)
      clock = T0 + 5_000
      const retrying = await store.createJob({ configType: 'sync', configId: 'k-retry', streams: [] })
      assert.equal((await store.claimNext('w-b', 60_000))?.job.id, retrying.id)
      // Fails at T0+6s and may run again at T0+20s: queued from then on, not before.
      clock = T0 + 6_000
      assert.equal(await store.finishAttempt(retrying.id, 0, 'w-b', { status: 'failed', failures: [failure()] }, { status: 'incomplete', runAfter: T0 + 20_000 }), true)
      clock = T0 + 10_000
      await store.createJob({ configType: 'reset_connection', configId: 'k-reset', streams: [] })
      clock = T0 + 12_000
      const cancelled = await store.createJob({ configType: 'sync', configId: 'k-cancel', streams: [] })
      await store.requestCancel(cancelled.id)

      const at15 = await store.jobCounts(T0 + 15_000)
      assert.deepEqual(at15, {
        byStatusAndType: [
          { status: 'cancelled', configType: 'sync', count: 1 },
          { status: 'incomplete', configType: 'sync', count: 1 },
          { status: 'pending', configType: 'reset_connection', count: 1 },
          { status: 'running', configType: 'sync', count: 1 },
        ],
        queued: 1,
        oldestQueuedSince: T0 + 10_000,
        runningAttemptsByWorker: [{ workerId: 'w-a', count: 1 }],
      })
      const at25 = await store.jobCounts(T0 + 25_000)
      assert.equal(at25.queued, 2)
      assert.equal(at25.oldestQueuedSince, T0 + 10_000)
      // A claimed job leaves the queue: the claim takes the retry (lowest id); the reset, queued since T0+10s, stays.
      clock = T0 + 25_000
      const claimed = await store.claimNext('w-a', 60_000)
      assert.equal(claimed?.job.id, retrying.id)
      const later = await store.jobCounts(T0 + 25_000)
      assert.equal(later.queued, 1)
      assert.equal(later.oldestQueuedSince, T0 + 10_000)
      assert.deepEqual(later.runningAttemptsByWorker, [{ workerId: 'w-a', count: 2 }])
    })
  })
}

function failure(failureType: 'transient_error' | 'manual_cancellation' = 'transient_error') {
  return { failureOrigin: 'source' as const, failureType, externalMessage: 'boom', retryable: failureType === 'transient_error', timestamp: T0 }
}

/** Claims until the given job is running, finishing any other job claimed on the way. */
const DAY = 86_400_000

/** Retention deletes across connections, so it gets a store of its own. */
export function jobRetentionContract(name: string, factory: JobStoreFactory): void {
  describe(`JobStore retention: ${name}`, () => {
    let clock = T0
    let harness: JobStoreHarness
    let store: JobStore
    before(async () => {
      harness = await factory(() => clock)
      store = harness.store
    })
    after(async () => {
      await harness.close()
    })

    /** A job claimed, logged and ended at `day` (epoch days after T0). */
    async function endedJob(configId: string, configType: 'sync' | 'reset_connection', status: 'succeeded' | 'failed', day: number): Promise<number> {
      clock = T0 + day * DAY
      const job = await store.createJob({ configType, configId, streams: [] })
      const claimed = await store.claimNext('w1', 60_000)
      assert.equal(claimed?.job.id, job.id)
      await store.appendLogs(job.id, 0, [`log of job ${job.id}`])
      assert.equal(await store.finishAttempt(job.id, 0, 'w1', { status, failures: [] }, { status }), true)
      return job.id
    }

    test('logs of ended attempts go after the cutoff; jobs too, but never a running one or a connection\'s latest', async () => {
      const a1 = await endedJob('a', 'sync', 'succeeded', 0)
      const a2 = await endedJob('a', 'sync', 'failed', 1)
      const a3 = await endedJob('a', 'sync', 'succeeded', 2)
      // d: the latest sync failed, the latest succeeded one stays too (the UI's last success).
      const d1 = await endedJob('d', 'sync', 'succeeded', 0)
      const d2 = await endedJob('d', 'sync', 'failed', 1)
      // c: its latest reset and its latest sync both stay.
      const c1 = await endedJob('c', 'reset_connection', 'succeeded', 0)
      const c2 = await endedJob('c', 'sync', 'failed', 1)
      // e: ended after the cutoff.
      const e1 = await endedJob('e', 'sync', 'failed', 4)
      const e2 = await endedJob('e', 'sync', 'failed', 5)
      clock = T0
      const running = await store.createJob({ configType: 'sync', configId: 'b', streams: [] })
      assert.equal((await store.claimNext('w1', 60_000))?.job.id, running.id)
      await store.appendLogs(running.id, 0, ['still running'])
      clock = T0 + 10 * DAY

      const linesGone = await Promise.all([store.deleteLogsEndedBefore(T0 + 1.5 * DAY), store.deleteLogsEndedBefore(T0 + 1.5 * DAY)])
      assert.equal(linesGone[0] + linesGone[1], 6, 'a1, a2, d1, d2, c1, c2')
      for (const id of [a1, a2, d1, d2, c1, c2]) assert.deepEqual(await store.readLogs(id, 0), [])
      assert.deepEqual(await store.readLogs(a3, 0), [`log of job ${a3}`])
      assert.deepEqual(await store.readLogs(running.id, 0), ['still running'])
      assert.equal((await store.listAttempts(a1)).length, 1, 'log retention keeps the jobs')

      await store.appendLogs(a1, 0, ['written late'])
      const jobsGone = await Promise.all([store.deleteJobsFinishedBefore(T0 + 3 * DAY), store.deleteJobsFinishedBefore(T0 + 3 * DAY)])
      assert.equal(jobsGone[0] + jobsGone[1], 2, 'a1 and a2')
      for (const id of [a1, a2]) {
        assert.equal(await store.getJob(id), undefined)
        assert.deepEqual(await store.listAttempts(id), [])
        assert.deepEqual(await store.readLogs(id, 0), [])
      }
      for (const id of [a3, d1, d2, c1, c2, e1, e2, running.id]) assert.notEqual(await store.getJob(id), undefined, `job ${id} kept`)
      assert.deepEqual(await store.readLogs(e1, 0), [`log of job ${e1}`])
      assert.equal(await store.deleteJobsFinishedBefore(T0 + 3 * DAY), 0)
    })

    test('a backlog larger than one batch goes whole (10,050 log lines, 130 jobs)', async () => {
      let now = T0
      const own = await factory(() => now)
      try {
        const jobs: number[] = []
        for (let i = 0; i < 131; i++) {
          const job = await own.store.createJob({ configType: 'sync', configId: 'backlog', streams: [] })
          assert.equal((await own.store.claimNext('w1', 60_000))?.job.id, job.id)
          assert.equal(await own.store.finishAttempt(job.id, 0, 'w1', { status: 'failed', failures: [] }, { status: 'failed' }), true)
          jobs.push(job.id)
        }
        const first = jobs[0]!
        const latest = jobs.at(-1)!
        await own.store.appendLogs(first, 0, Array.from({ length: 10_050 }, (_, i) => `line ${i}`))
        await own.store.appendLogs(latest, 0, ['kept'])
        now = T0 + DAY
        assert.equal(await own.store.deleteLogsEndedBefore(T0 + 1), 10_051)
        assert.deepEqual(await own.store.readLogs(first, 0), [])
        assert.equal(await own.store.deleteJobsFinishedBefore(T0 + 1), 130)
        assert.equal((await own.store.listJobs({ configId: 'backlog' })).totalJobCount, 1)
        assert.equal((await own.store.getJob(latest))?.status, 'failed')
      } finally {
        await own.close()
      }
    })
  })
}

async function claimJob(store: JobStore, job: { id: number; configId: string }): Promise<number> {
  const id = await claimFor(store, job.configId)
  assert.equal(id, job.id)
  return job.id
}

async function claimFor(store: JobStore, connectionId: string): Promise<number | undefined> {
  for (;;) {
    const claimed = await store.claimNext('w1', 60_000)
    if (claimed === undefined) return undefined
    if (claimed.job.configId === connectionId) return claimed.job.id
    await store.finishAttempt(claimed.job.id, claimed.attempt.attemptNumber, 'w1', { status: 'succeeded', failures: [] }, { status: 'succeeded' })
  }
}
