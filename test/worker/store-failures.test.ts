import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SluiceError } from '../../src/errors.js'
import { Scheduler } from '../../src/scheduler/scheduler.js'
import type { ConfigStore } from '../../src/store/config-store.js'
import type { JobStore } from '../../src/store/job-store.js'
import { fixture, succeed } from './worker-fixture.js'

/** A store method replaced for the test; everything else is the real SQLite store. */
function withOverrides<T extends object>(store: T, overrides: Partial<Record<keyof T, unknown>>): T {
  return new Proxy(store, {
    get(target, prop) {
      if (prop in overrides) return overrides[prop as keyof T]
      const value: unknown = Reflect.get(target, prop)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

function storeDown(): SluiceError {
  return new SluiceError('SLUICE_ERR_STORE', 'Job store error: disk I/O error')
}

test('a store that fails to record the end of an attempt is retried, and the job still ends succeeded', async () => {
  const f = await fixture()
  try {
    let failures = 2
    const flaky = withOverrides<JobStore>(f.jobStore, {
      finishAttempt: async (...args: Parameters<JobStore['finishAttempt']>) => {
        if (failures-- > 0) throw storeDown()
        return f.jobStore.finishAttempt(...args)
      },
    })
    const w = f.worker(flaky, succeed)
    await w.start()
    const job = await f.jobStore.createJob({ configType: 'sync', configId: f.connectionId, streams: [] })
    assert.equal((await f.waitJob(job.id, ['succeeded', 'failed'])).status, 'succeeded')
    await w.stop()
    assert.equal(failures, -1, 'two failed tries, then the one that worked')
  } finally {
    await f.close()
  }
})

test('a store that keeps failing never takes the process down; the worker goes on once it is back', async () => {
  const f = await fixture()
  const unhandled: unknown[] = []
  const onUnhandled = (e: unknown): void => void unhandled.push(e)
  process.on('unhandledRejection', onUnhandled)
  try {
    let down = true
    const broken = withOverrides<JobStore>(f.jobStore, {
      finishAttempt: async (...args: Parameters<JobStore['finishAttempt']>) => {
        if (down) throw storeDown()
        return f.jobStore.finishAttempt(...args)
      },
    })
    let runs = 0
    const w = f.worker(
      broken,
      async (input) => {
        runs++
        if (runs === 2) throw new SluiceError('SLUICE_ERR_CONNECTOR_CONFIG', 'the source refused', { failureType: 'config_error' })
        return succeed(input)
      },
      { retry: { backoffBaseMs: 0, maxAttempts: 3 } },
    )
    await w.start()
    // A success the store cannot record.
    const first = await f.jobStore.createJob({ configType: 'sync', configId: f.connectionId, streams: [] })
    for (;;) {
      if (f.logLines.filter((l) => l.includes('could not record the end of the attempt')).length >= 1) break
      await new Promise((r) => setTimeout(r, 5))
    }
    assert.equal((await f.jobStore.getJob(first.id))?.status, 'running', 'left for recovery once its lease expires')
    down = false
    await w.recover(true)
    const retried = await f.waitJob(first.id, ['succeeded', 'failed'])
    await w.stop()
    assert.equal(retried.status, 'failed')
    const attempts = await f.jobStore.listAttempts(first.id)
    assert.deepEqual(
      attempts.map((a) => [a.status, a.failures[0]?.failureType]),
      [
        ['failed', 'system_error'],
        ['failed', 'config_error'],
      ],
      'recovery recorded the unrecorded attempt, the job ran again, and the end of that run was recorded',
    )
    assert.equal(runs, 2)
    assert.deepEqual(unhandled, [])
  } finally {
    process.off('unhandledRejection', onUnhandled)
    await f.close()
  }
})

test('heartbeats never overlap when the store is slow', async () => {
  const f = await fixture()
  try {
    let active = 0
    let most = 0
    let beats = 0
    const slow = withOverrides<JobStore>(f.jobStore, {
      heartbeat: async (...args: Parameters<JobStore['heartbeat']>) => {
        active++
        most = Math.max(most, active)
        await new Promise((r) => setTimeout(r, 30))
        active--
        beats++
        return f.jobStore.heartbeat(...args)
      },
    })
    const w = f.worker(slow, async (input) => {
      while (beats < 4) await new Promise((r) => setTimeout(r, 5))
      return succeed(input)
    })
    await w.start()
    const job = await f.jobStore.createJob({ configType: 'sync', configId: f.connectionId, streams: [] })
    await f.waitJob(job.id, ['succeeded', 'failed'])
    await w.stop()
    assert.equal(most, 1, 'one heartbeat at a time')
  } finally {
    await f.close()
  }
})

test('scheduler ticks never overlap when the store is slow', async () => {
  const f = await fixture()
  try {
    let active = 0
    let most = 0
    let ticks = 0
    const slow = withOverrides<ConfigStore>(f.configStore, {
      listConnections: async (...args: Parameters<ConfigStore['listConnections']>) => {
        active++
        most = Math.max(most, active)
        await new Promise((r) => setTimeout(r, 30))
        active--
        ticks++
        return f.configStore.listConnections(...args)
      },
    })
    const scheduler = new Scheduler({ configStore: slow, jobStore: f.jobStore, tickMs: 2 })
    scheduler.start()
    while (ticks < 3) await new Promise((r) => setTimeout(r, 5))
    await scheduler.stop()
    assert.equal(most, 1, 'one tick at a time')
  } finally {
    await f.close()
  }
})
