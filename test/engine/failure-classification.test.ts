import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { AttemptFailure, toSluiceError } from '../../src/engine/attempt-failure.js'
import { DEFAULT_RETRY_POLICY, decideRetry } from '../../src/worker/retry-policy.js'

const noStats = { totalStats: { recordsEmitted: 0, bytesEmitted: 0, recordsCommitted: 0, bytesCommitted: 0, stateMessagesEmitted: 0 }, streamStats: [] }

test('a full disk fails the attempt as a config error that is not retried', async () => {
  // /dev/full answers every write with ENOSPC: the real error, not a made-up one.
  const enospc = await writeFile('/dev/full', 'x').then(
    () => assert.fail('/dev/full accepted a write'),
    (e: unknown) => e,
  )
  assert.equal((enospc as NodeJS.ErrnoException).code, 'ENOSPC')
  const failure = new AttemptFailure('destination', enospc, noStats)
  assert.equal(failure.failureType, 'config_error')
  assert.match(failure.message, /disk is full/)
  assert.equal(decideRetry([], failure.failureType, DEFAULT_RETRY_POLICY).retry, false)
})

test('permission and read-only file system errors are config errors; network errors stay transient', () => {
  for (const code of ['EACCES', 'EPERM', 'EROFS', 'EDQUOT']) {
    const e = Object.assign(new Error(`${code}: open '/data/out'`), { code })
    assert.equal(toSluiceError(e).failureType, 'config_error', code)
  }
  assert.equal(toSluiceError(Object.assign(new Error('reset'), { code: 'ECONNRESET' })).failureType, 'transient_error')
  assert.equal(toSluiceError(new Error('a bug')).failureType, 'system_error')
})
