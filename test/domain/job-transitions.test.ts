import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { isSluiceError } from '../../src/errors.js'
import { canEndAttempt, isClaimable, isLeaseExpired, nextJobState, type JobState } from '../../src/domain/job-transitions.js'
import { JOB_STATUSES, TERMINAL_JOB_STATUSES, type JobStatus } from '../../src/store/job-store.js'

const NOW = 1_800_000_000_000

function job(status: JobStatus, over: Partial<JobState> = {}): JobState {
  return { status, cancelRequested: false, runAfter: 0, ...over }
}

describe('claim', () => {
  test('pending and due incomplete jobs go to running; startedAt is the first claim', () => {
    const first = nextJobState(job('pending'), { type: 'claim', now: NOW })
    assert.deepEqual(first?.from, { status: 'pending', cancelRequested: false })
    assert.deepEqual(first?.to, { status: 'running', cancelRequested: false, runAfter: 0, startedAt: NOW })
    const retry = nextJobState(job('incomplete', { runAfter: NOW, startedAt: NOW - 60_000 }), { type: 'claim', now: NOW })
    assert.equal(retry?.to.status, 'running')
    assert.equal(retry?.to.startedAt, NOW - 60_000)
  })

  test('not before runAfter, not with a cancel request, never from running or a terminal status', () => {
    assert.equal(nextJobState(job('incomplete', { runAfter: NOW + 1 }), { type: 'claim', now: NOW }), undefined)
    assert.equal(nextJobState(job('pending', { cancelRequested: true }), { type: 'claim', now: NOW }), undefined)
    for (const status of ['running', ...TERMINAL_JOB_STATUSES] as const) {
      assert.equal(nextJobState(job(status), { type: 'claim', now: NOW }), undefined, status)
    }
    assert.equal(isClaimable(job('pending', { runAfter: NOW + 1 }), NOW), true, 'runAfter only delays a retry')
  })
})

describe('attempt ended', () => {
  test('the job takes the outcome the worker proposes, with its backoff', () => {
    const t = nextJobState(job('running', { runAfter: 5 }), { type: 'attempt_ended', outcome: { status: 'incomplete', runAfter: NOW + 30_000 } })
    assert.equal(t?.to.status, 'incomplete')
    assert.equal(t?.to.runAfter, NOW + 30_000)
    assert.equal(t?.runnable, true)
    const done = nextJobState(job('running', { runAfter: 5 }), { type: 'attempt_ended', outcome: { status: 'succeeded' } })
    assert.equal(done?.to.status, 'succeeded')
    assert.equal(done?.to.runAfter, 5, 'runAfter kept when the outcome has none')
    assert.equal(done?.runnable, false)
  })

  test('a cancel requested while the attempt was failing wins over a retry', () => {
    for (const status of ['incomplete', 'pending'] as const) {
      const t = nextJobState(job('running', { cancelRequested: true }), { type: 'attempt_ended', outcome: { status } })
      assert.equal(t?.to.status, 'cancelled', status)
      assert.equal(t?.runnable, false)
    }
    const failed = nextJobState(job('running', { cancelRequested: true }), { type: 'attempt_ended', outcome: { status: 'failed' } })
    assert.equal(failed?.to.status, 'failed', 'no retry was proposed: the outcome stands')
  })

  test('a terminal job (cancelled by a reset) keeps its status', () => {
    for (const status of TERMINAL_JOB_STATUSES) {
      assert.equal(nextJobState(job(status, { cancelRequested: true }), { type: 'attempt_ended', outcome: { status: 'incomplete' } }), undefined)
    }
  })
})

describe('cancel', () => {
  test('pending and incomplete end at once; running gets the request; the rest is unchanged', () => {
    for (const status of ['pending', 'incomplete'] as const) {
      const t = nextJobState(job(status), { type: 'cancel_requested' })
      assert.deepEqual([t?.to.status, t?.to.cancelRequested, t?.cancelSignalled], ['cancelled', true, true], status)
    }
    const running = nextJobState(job('running'), { type: 'cancel_requested' })
    assert.deepEqual([running?.to.status, running?.to.cancelRequested, running?.cancelSignalled], ['running', true, true])
    assert.equal(nextJobState(job('running', { cancelRequested: true }), { type: 'cancel_requested' }), undefined, 'asked twice: nothing new')
    for (const status of TERMINAL_JOB_STATUSES) assert.equal(nextJobState(job(status), { type: 'cancel_requested' }), undefined, status)
  })

  test('a reset supersedes any non-terminal job, running ones included', () => {
    for (const status of JOB_STATUSES) {
      const t = nextJobState(job(status), { type: 'superseded' })
      if (TERMINAL_JOB_STATUSES.includes(status)) assert.equal(t, undefined, status)
      else assert.deepEqual([t?.to.status, t?.to.cancelRequested, t?.cancelSignalled], ['cancelled', true, true], status)
    }
  })
})

describe('patch', () => {
  test('a non-terminal job takes the patch; a terminal one refuses to leave its status', () => {
    const t = nextJobState(job('pending'), { type: 'patched', patch: { status: 'failed' } })
    assert.equal(t?.to.status, 'failed')
    assert.equal(nextJobState(job('failed'), { type: 'patched', patch: { status: 'failed', runAfter: 9 } })?.to.runAfter, 9)
    assert.throws(
      () => nextJobState(job('succeeded'), { type: 'patched', patch: { status: 'pending' } }),
      (e: unknown) => isSluiceError(e) && e.code === 'SLUICE_ERR_CONFLICT' && e.message === 'Job status succeeded is final; it cannot become pending.',
    )
  })
})

describe('attempts', () => {
  test('only a running attempt ends, and only by its worker when one is named', () => {
    assert.equal(canEndAttempt({ status: 'running', workerId: 'w1' }, 'w1'), true)
    assert.equal(canEndAttempt({ status: 'running', workerId: 'w1' }, undefined), true, 'a reaper names no worker')
    assert.equal(canEndAttempt({ status: 'running', workerId: 'w1' }, 'w2'), false)
    assert.equal(canEndAttempt({ status: 'failed', workerId: 'w1' }, 'w1'), false)
  })

  test('a lease expires strictly after its time; an attempt without one is lost', () => {
    assert.equal(isLeaseExpired({ status: 'running', leaseExpiresAt: NOW }, NOW), false)
    assert.equal(isLeaseExpired({ status: 'running', leaseExpiresAt: NOW }, NOW + 1), true)
    assert.equal(isLeaseExpired({ status: 'running' }, NOW), true)
    assert.equal(isLeaseExpired({ status: 'succeeded', leaseExpiresAt: 0 }, NOW), false)
  })
})
