import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { ExternalDestination } from '../../../src/connectors/external/external-destination.js'
import { ExternalSource } from '../../../src/connectors/external/external-source.js'
import { runAttempt } from '../../../src/engine/index.js'
import { AttemptFailure } from '../../../src/engine/attempt-failure.js'
import { attemptInput, catalogOf, latestStates, sandbox, testSource } from '../../engine/engine-helpers.js'
import { localRunner, pyCatalog, runOptions, specOf } from './external-helpers.js'

async function pyDestination(): Promise<ExternalDestination> {
  const runner = localRunner()
  const spec = await specOf('airbyte/destination-pyfixture', { runner })
  return new ExternalDestination({ image: { repository: 'airbyte/destination-pyfixture', tag: 'dev' }, spec, runner })
}

async function pySource(): Promise<ExternalSource> {
  const runner = localRunner()
  const spec = await specOf('airbyte/source-pyfixture', { runner })
  return new ExternalSource({ image: { repository: 'airbyte/source-pyfixture', tag: 'dev' }, spec, runner })
}

async function lines(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8')).trim().split('\n')
}

describe('external destination (local runner, Python fixture)', () => {
  it('takes its sync modes from the spec and checks', async () => {
    const box = await sandbox()
    try {
      const dest = await pyDestination()
      assert.deepEqual(dest.capabilities.supportedSyncModes, ['append', 'overwrite'])
      assert.equal((await dest.check({ path: box.dataDir }, runOptions())).status, 'succeeded')
      assert.deepEqual(await dest.check({ path: join(box.dataDir, 'missing') }, runOptions()), { status: 'failed', message: 'no such directory' })
    } finally {
      await box.cleanup()
    }
  })

  it('native source -> external destination: states are saved only once echoed', async () => {
    const box = await sandbox()
    try {
      const catalog = await catalogOf(testSource, { records: 25, batchSize: 10 }, 'incremental', 'append')
      const input = attemptInput(box, { sourceConfig: { records: 25, batchSize: 10 }, destination: await pyDestination(), destinationConfig: { path: box.dataDir }, catalog })
      const result = await runAttempt(input)
      assert.equal(result.totalStats.recordsCommitted, 25)
      assert.deepEqual(latestStates(input.committed).map((s) => (s.data as { id: number }).id), [25])
      const items = (await lines(join(box.dataDir, 'items.jsonl'))).map((l) => JSON.parse(l) as { id: number })
      assert.deepEqual(items.map((r) => r.id), Array.from({ length: 25 }, (_, i) => i + 1))
      // The destination got Airbyte's stream status TRACE messages (COMPLETE at the end).
      const statuses = JSON.parse(await readFile(join(box.dataDir, 'statuses.json'), 'utf8')) as Array<{ status: string }>
      assert.equal(statuses.at(-1)?.status, 'COMPLETE')
    } finally {
      await box.cleanup()
    }
  })

  it('a destination that never echoes commits nothing', async () => {
    const box = await sandbox()
    try {
      const catalog = await catalogOf(testSource, { records: 5 }, 'incremental', 'append')
      const input = attemptInput(box, { sourceConfig: { records: 5 }, destination: await pyDestination(), destinationConfig: { path: box.dataDir, echo: false }, catalog })
      await runAttempt(input)
      assert.deepEqual(input.committed, [])
    } finally {
      await box.cleanup()
    }
  })

  it('fails the attempt with the destination TRACE error', async () => {
    const box = await sandbox()
    try {
      const catalog = await catalogOf(testSource, { records: 30, batchSize: 10 }, 'incremental', 'append')
      const input = attemptInput(box, { sourceConfig: { records: 30, batchSize: 10 }, destination: await pyDestination(), destinationConfig: { path: box.dataDir, fail_on_record: 15 }, catalog })
      await assert.rejects(runAttempt(input), (e: unknown) => {
        assert.ok(e instanceof AttemptFailure)
        assert.equal(e.origin, 'destination')
        assert.equal(e.message, 'disk quota exceeded')
        assert.equal(e.failureType, 'config_error')
        return true
      })
      assert.deepEqual(latestStates(input.committed).map((s) => (s.data as { id: number }).id), [10])
    } finally {
      await box.cleanup()
    }
  })

  it('external -> external passes the source record lines through unchanged', async () => {
    const box = await sandbox()
    try {
      const input = attemptInput(box, {
        source: await pySource(),
        sourceConfig: { api_key: 'k3y-value', records: 30, state_every: 10 },
        destination: await pyDestination(),
        destinationConfig: { path: box.dataDir },
        catalog: pyCatalog([{ name: 'users', syncMode: 'incremental' }]),
      })
      const result = await runAttempt(input)
      assert.equal(result.totalStats.recordsCommitted, 30)
      assert.deepEqual(latestStates(input.committed).map((s) => s.data), [{ id: 30 }])
      const received = await lines(join(box.dataDir, 'received.jsonl'))
      assert.equal(received.length, 30)
      // The fixture's own encoding (compact, its emitted_at 1234): not re-encoded by sluice.
      assert.equal(received[0], '{"type":"RECORD","record":{"stream":"users","data":{"id":1,"name":"users-1"},"emitted_at":1234}}')
    } finally {
      await box.cleanup()
    }
  })

  it('external -> external with a renamed stream re-encodes the records under the new name', async () => {
    const box = await sandbox()
    try {
      const input = attemptInput(box, {
        source: await pySource(),
        sourceConfig: { api_key: 'k3y-value', records: 3 },
        destination: await pyDestination(),
        destinationConfig: { path: box.dataDir },
        catalog: pyCatalog([{ name: 'users' }]),
        mapping: { namespaceDefinition: 'source', prefix: 'raw_' },
      })
      await runAttempt(input)
      const received = (await lines(join(box.dataDir, 'received.jsonl'))).map((l) => JSON.parse(l) as { record: { stream: string; data: unknown } })
      assert.deepEqual(received.map((r) => [r.record.stream, r.record.data]), [
        ['raw_users', { id: 1, name: 'users-1' }],
        ['raw_users', { id: 2, name: 'users-2' }],
        ['raw_users', { id: 3, name: 'users-3' }],
      ])
    } finally {
      await box.cleanup()
    }
  })
})
