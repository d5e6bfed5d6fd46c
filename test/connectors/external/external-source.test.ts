import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, it } from 'node:test'
import type { RecordBatch, SourceMessage, StateMessage } from '../../../src/protocol/index.js'
import { ExternalSource } from '../../../src/connectors/external/external-source.js'
import { runAttempt } from '../../../src/engine/index.js'
import { readTestDestination } from '../../../src/connectors/test-destination/test-destination.js'
import { isSluiceError } from '../../../src/errors.js'
import { attemptInput, latestStates, sandbox } from '../../engine/engine-helpers.js'
import { localRunner, pyCatalog, runOptions, specOf } from './external-helpers.js'

const SECRET = 's3cr3t-key-4711'

async function pySource(extra: { killGraceMs?: number; graceWait?: (ms: number) => Promise<void>; reader?: { maxLineBytes?: number; maxBatchRows?: number } } = {}): Promise<ExternalSource> {
  const runner = localRunner()
  const spec = await specOf('airbyte/source-pyfixture', { runner })
  return new ExternalSource({ image: { repository: 'airbyte/source-pyfixture', tag: 'dev' }, spec, runner, ...extra })
}

async function drain(messages: AsyncIterable<SourceMessage>): Promise<SourceMessage[]> {
  const out: SourceMessage[] = []
  for await (const m of messages) out.push(m)
  return out
}

/** Polls for a file the fixture writes (no time bound: the test runner's timeout is the limit). */
async function waitForFile(path: string): Promise<void> {
  while (!existsSync(path)) await sleep(10)
}

describe('external source (local runner, Python fixture)', () => {
  it('reads the spec, checks and discovers', async () => {
    const source = await pySource()
    assert.equal(source.spec.documentationUrl, 'https://example.com/pyfixture')
    assert.deepEqual((source.spec.connectionSpecification.properties as Record<string, unknown>).api_key, { type: 'string', airbyte_secret: true })
    assert.deepEqual(await source.check({ api_key: SECRET }, runOptions()), { status: 'succeeded', message: '' })
    assert.deepEqual(await source.check({ api_key: 'wrong' }, runOptions()), { status: 'failed', message: 'bad api key' })
    const catalog = await source.discover({ api_key: SECRET }, runOptions())
    assert.deepEqual(catalog.streams.map((s) => s.name), ['users', 'orders'])
    assert.deepEqual(catalog.streams[0]?.sourceDefinedPrimaryKey, [['id']])
    assert.deepEqual(catalog.streams[0]?.supportedSyncModes, ['full_refresh', 'incremental'])
  })

  it('syncs to a native destination and resumes an incremental stream from the committed state', async () => {
    const box = await sandbox()
    try {
      const source = await pySource()
      const catalog = pyCatalog([{ name: 'users', syncMode: 'incremental' }, { name: 'orders' }])
      const first = attemptInput(box, { source, sourceConfig: { api_key: SECRET, records: 12, state_every: 5 }, catalog })
      const result = await runAttempt(first)
      assert.equal(result.totalStats.recordsCommitted, 24)
      assert.deepEqual((await readTestDestination(box.outDir, { name: 'users' })).map((l) => l._airbyte_data.id), Array.from({ length: 12 }, (_, i) => i + 1))
      const state = latestStates(first.committed)
      assert.deepEqual(state.find((s) => s.stream.name === 'users')?.data, { id: 12 })

      const markers = await mkdtemp(join(tmpdir(), 'sluice-py-'))
      const second = attemptInput(box, { source, sourceConfig: { api_key: SECRET, records: 15, state_every: 5, marker_dir: markers }, catalog, state })
      await runAttempt(second)
      // The fixture got Airbyte's state array and resumed after id 12.
      const stateIn = JSON.parse(await readFile(join(markers, 'state-in.json'), 'utf8')) as unknown[]
      assert.deepEqual(stateIn.find((s) => (s as { stream: { stream_descriptor: { name: string } } }).stream.stream_descriptor.name === 'users'), {
        type: 'STREAM',
        stream: { stream_descriptor: { name: 'users' }, stream_state: { id: 12 } },
      })
      const users = (await readTestDestination(box.outDir, { name: 'users' })).map((l) => l._airbyte_data.id)
      assert.deepEqual(users.slice(12), [13, 14, 15])
      await rm(markers, { recursive: true, force: true })
    } finally {
      await box.cleanup()
    }
  })

  for (const stateType of ['global', 'legacy'] as const) {
    it(`keeps a ${stateType.toUpperCase()} state per stream and rebuilds it for the next read`, async () => {
      const box = await sandbox()
      const markers = await mkdtemp(join(tmpdir(), 'sluice-py-'))
      try {
        const source = await pySource()
        const catalog = pyCatalog([{ name: 'users', syncMode: 'incremental' }])
        const first = attemptInput(box, { source, sourceConfig: { api_key: SECRET, records: 7, state_every: 3, state_type: stateType }, catalog })
        await runAttempt(first)
        const state = latestStates(first.committed)
        assert.equal(state.length, 1)
        const second = attemptInput(box, { source, sourceConfig: { api_key: SECRET, records: 9, state_type: stateType, marker_dir: markers }, catalog, state })
        await runAttempt(second)
        const stateIn = JSON.parse(await readFile(join(markers, 'state-in.json'), 'utf8')) as unknown
        if (stateType === 'global') {
          assert.deepEqual(stateIn, [{ type: 'GLOBAL', global: { shared_state: { lsn: 7 }, stream_states: [{ stream_descriptor: { name: 'users' }, stream_state: { id: 7 } }] } }])
        } else {
          assert.deepEqual(stateIn, { cursors: { users: 7 } })
        }
        assert.deepEqual((await readTestDestination(box.outDir, { name: 'users' })).map((l) => l._airbyte_data.id).slice(7), [8, 9])
      } finally {
        await rm(markers, { recursive: true, force: true })
        await box.cleanup()
      }
    })
  }

  it('fails with the TRACE error message and failure type; committed states stay', async () => {
    const box = await sandbox()
    try {
      const source = await pySource()
      for (const failureType of ['config_error', 'transient_error'] as const) {
        const input = attemptInput(box, { source, sourceConfig: { api_key: SECRET, records: 20, state_every: 5, fail_after: 7, failure_type: failureType }, catalog: pyCatalog([{ name: 'users' }]) })
        await assert.rejects(runAttempt(input), (e: unknown) => {
          assert.ok(isSluiceError(e))
          assert.equal(e.message, 'the API said no')
          assert.equal(e.failureType, failureType)
          assert.equal(e.code, failureType === 'config_error' ? 'SLUICE_ERR_CONNECTOR_CONFIG' : 'SLUICE_ERR_CONNECTOR_TRANSIENT')
          return true
        })
        assert.deepEqual(latestStates(input.committed).map((s) => s.data), [{ id: 5 }])
      }
    } finally {
      await box.cleanup()
    }
  })

  it('fails a non-zero exit without TRACE with the exit code and the last stderr line; a TRACE error fails even with exit 0', async () => {
    const source = await pySource()
    await assert.rejects(drain(source.read({ api_key: SECRET, crash: true }, pyCatalog([{ name: 'users' }]), [], runOptions())), (e: unknown) => {
      assert.ok(isSluiceError(e))
      assert.equal(e.code, 'SLUICE_ERR_CONNECTOR_SYSTEM')
      assert.equal(e.failureType, 'system_error')
      assert.match(e.message, /^source airbyte\/source-pyfixture:dev exited with code 3: .*Traceback \(most recent call last\): boom$/)
      return true
    })
    await assert.rejects(drain(source.read({ api_key: SECRET, records: 1, fail_after: 0, exit_code: 0 }, pyCatalog([{ name: 'users' }]), [], runOptions())), /the API said no/)
    const missing = new ExternalSource({ image: { repository: 'airbyte/source-not-installed', tag: 'dev' }, spec: source.spec, runner: localRunner() })
    await assert.rejects(missing.check({ api_key: 'x' }, runOptions()), (e: unknown) => isSluiceError(e) && e.code === 'SLUICE_ERR_CONNECTOR_LAUNCH' && /No executable named source-not-installed/.test(e.message))
  })

  it('gives a protocol error for garbage output instead of hanging', async () => {
    const text = await pySource()
    await assert.rejects(drain(text.read({ api_key: SECRET, garbage: 'text' }, pyCatalog([{ name: 'users' }]), [], runOptions())), (e: unknown) => {
      assert.ok(isSluiceError(e))
      assert.equal(e.code, 'SLUICE_ERR_CONNECTOR_PROTOCOL')
      assert.match(e.message, /more than 100 lines that are not Airbyte protocol messages/)
      return true
    })
    // Binary output without line breaks (then the fixture sleeps for an hour): stopped at the line limit.
    const binary = await pySource({ reader: { maxLineBytes: 100_000 }, killGraceMs: 0 })
    await assert.rejects(drain(binary.read({ api_key: SECRET, garbage: 'binary' }, pyCatalog([{ name: 'users' }]), [], runOptions())), (e: unknown) => isSluiceError(e) && e.code === 'SLUICE_ERR_CONNECTOR_PROTOCOL' && /without a line break/.test(e.message))
  })

  it('cancels with SIGTERM, then SIGKILL after the grace period', async () => {
    const markers = await mkdtemp(join(tmpdir(), 'sluice-py-'))
    let releaseGrace: () => void = () => undefined
    const graceStarted: number[] = []
    const source = await pySource({
      killGraceMs: 5000,
      graceWait: (ms) =>
        new Promise<void>((resolve) => {
          graceStarted.push(ms)
          releaseGrace = resolve
        }),
    })
    const controller = new AbortController()
    const opts = runOptions(controller.signal)
    const reading = drain(source.read({ api_key: SECRET, records: 3, ignore_sigterm: true, sleep_at_end: true, marker_dir: markers }, pyCatalog([{ name: 'users' }]), [], opts))
    try {
      await waitForFile(join(markers, 'sleeping'))
      controller.abort()
      // The fixture ignores SIGTERM (it leaves a marker): only the SIGKILL after the grace ends it.
      await waitForFile(join(markers, 'sigterm'))
      assert.deepEqual(graceStarted, [5000])
      releaseGrace()
      await assert.rejects(reading, (e: unknown) => isSluiceError(e) && e.code === 'SLUICE_ERR_CANCELLED')
      assert.ok(opts.logger.lines.some((l) => /still running 5000 ms after SIGTERM: killing it/.test(l)))
    } finally {
      await rm(markers, { recursive: true, force: true })
    }
  })

  it('persists a CONTROL config update and masks the new secret', async () => {
    const source = await pySource()
    const updates: Array<Record<string, unknown>> = []
    const opts = runOptions(undefined, { onConfigUpdate: async (c) => void updates.push(c) })
    await drain(source.read({ api_key: SECRET, records: 2, rotate_token: 'rotated-token-99' }, pyCatalog([{ name: 'users' }]), [], opts))
    assert.equal(updates.length, 1)
    assert.equal(updates[0]?.api_key, 'rotated-token-99')
    assert.ok(opts.logger.lines.some((l) => /updated its configuration; saving it/.test(l)))
  })

  it('never puts secrets in argv, env or the attempt log', async () => {
    const markers = await mkdtemp(join(tmpdir(), 'sluice-py-'))
    try {
      const source = await pySource()
      const opts = runOptions()
      const previous = process.env.SLUICE_SECRET_KEY
      process.env.SLUICE_SECRET_KEY = 'server-secret-key-material'
      try {
        await drain(source.read({ api_key: SECRET, records: 2, marker_dir: markers }, pyCatalog([{ name: 'users' }]), [], opts))
      } finally {
        if (previous === undefined) delete process.env.SLUICE_SECRET_KEY
        else process.env.SLUICE_SECRET_KEY = previous
      }
      const seen = await readFile(join(markers, 'argv-env-read.json'), 'utf8')
      assert.doesNotMatch(seen, new RegExp(SECRET))
      assert.doesNotMatch(seen, /server-secret-key-material|SLUICE_/)
      const { argv } = JSON.parse(seen) as { argv: string[] }
      assert.deepEqual(argv.slice(1).filter((a) => !a.startsWith('/')), ['read', '--config', '--catalog'])
      // The fixture printed the key on stderr and in a LOG message: both reached the log masked.
      const log = opts.logger.lines.join('\n')
      assert.match(log, /connecting with key \*{10}/)
      assert.match(log, /config is .*\*{10}/)
      assert.doesNotMatch(log, new RegExp(SECRET))
      // The run's files are gone.
      const configPath = argv[argv.indexOf('--config') + 1] ?? ''
      assert.equal(existsSync(configPath), false)
    } finally {
      await rm(markers, { recursive: true, force: true })
    }
  })

  it('honours backpressure: the process is never far ahead of a slow consumer', async () => {
    const markers = await mkdtemp(join(tmpdir(), 'sluice-py-'))
    try {
      const source = await pySource({ reader: { maxBatchRows: 500 } })
      const total = 100_000
      let consumed = 0
      let maxAhead = 0
      for await (const m of source.read({ api_key: SECRET, records: total, state_every: total, record_padding: 200, progress_every: 100, marker_dir: markers }, pyCatalog([{ name: 'users' }]), [], runOptions())) {
        if (m.type !== 'RECORD_BATCH') continue
        consumed += (m as RecordBatch).count
        // A slow consumer: let the process run while this one waits.
        await sleep(2)
        const progress = existsSync(join(markers, 'progress')) ? Number(await readFile(join(markers, 'progress'), 'utf8')) : 0
        maxAhead = Math.max(maxAhead, progress - consumed)
      }
      assert.equal(consumed, total)
      // Pipe buffer (64 KiB) + reader buffer + the fixture's own 8 KiB buffer: a few thousand ~250 B records, never the 25 MB sync.
      assert.ok(maxAhead < 3000, `the process ran ${maxAhead} records ahead`)
      assert.ok(maxAhead > 0)
    } finally {
      await rm(markers, { recursive: true, force: true })
    }
  })

  it('turns record lines into batches that keep the raw lines', async () => {
    const source = await pySource()
    const messages = await drain(source.read({ api_key: SECRET, records: 3, state_every: 10 }, pyCatalog([{ name: 'users' }]), [], runOptions()))
    const batch = messages.find((m): m is RecordBatch => m.type === 'RECORD_BATCH')
    assert.ok(batch)
    assert.equal(batch.count, 3)
    assert.deepEqual(batch.rows(), [{ id: 1, name: 'users-1' }, { id: 2, name: 'users-2' }, { id: 3, name: 'users-3' }])
    assert.equal(batch.airbyteRecordLines?.toString('utf8').split('\n')[0], '{"type":"RECORD","record":{"stream":"users","data":{"id":1,"name":"users-1"},"emitted_at":1234}}')
    assert.deepEqual(messages.map((m) => m.type), ['STREAM_STATUS', 'ESTIMATE', 'RECORD_BATCH', 'STATE', 'STREAM_STATUS'])
    assert.deepEqual((messages[3] as StateMessage).data, { id: 3 })
  })
})
