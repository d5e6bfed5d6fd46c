import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, it } from 'node:test'
import { createRunner, dockerMemory, runnerSettingsFromEnv } from '../../../src/connectors/external/connector-runner.js'
import { ExternalSource } from '../../../src/connectors/external/external-source.js'
import { isSluiceError } from '../../../src/errors.js'
import type { SourceMessage } from '../../../src/protocol/index.js'
import { FIXTURES, fakeDocker, pyCatalog, runOptions, specOf } from './external-helpers.js'

const SECRET = 'container-s3cr3t'

async function drain(messages: AsyncIterable<SourceMessage>): Promise<SourceMessage[]> {
  const out: SourceMessage[] = []
  for await (const m of messages) out.push(m)
  return out
}

describe('docker and podman runners (stand-in client on PATH)', () => {
  for (const kind of ['docker', 'podman'] as const) {
    it(`${kind}: pulls with progress in the log, then runs the image as Airbyte does`, async () => {
      const fake = await fakeDocker(kind, { SLUICE_CONNECTOR_CPUS: '2' })
      try {
        const resources = { default: { memory_limit: '2Gi', cpu_limit: '0.5' }, jobSpecific: [{ jobType: 'sync', resourceRequirements: { memory_limit: '512Mi', memory_request: '256Mi' } }] }
        const spec = await specOf('airbyte/source-pyfixture', { runner: fake.runner })
        const source = new ExternalSource({ image: { repository: 'airbyte/source-pyfixture', tag: 'dev' }, spec, runner: fake.runner, resources })
        const opts = runOptions()
        const messages = await drain(source.read({ api_key: SECRET, records: 4 }, pyCatalog([{ name: 'users' }]), [], opts))
        assert.equal(messages.filter((m) => m.type === 'RECORD_BATCH').reduce((n, m) => n + (m.type === 'RECORD_BATCH' ? m.count : 0), 0), 4)
        const calls = await fake.calls()
        // spec: inspect (missing), pull, run; read: run (the image is known by now).
        assert.deepEqual(calls.map((c) => c[0]), ['image', 'pull', 'run', 'run'])
        const read = calls[3] ?? []
        const name = read[read.indexOf('--name') + 1] ?? ''
        assert.match(name, /^sluice-airbyte-source-pyfixture-read-[0-9a-f]{8}$/)
        const mount = read[read.indexOf('-v') + 1] ?? ''
        assert.match(mount, /^\/.+:\/sluice\/run:ro$/)
        assert.deepEqual(read.slice(0, 6), ['run', '--rm', '-i', '--init', '--log-driver', 'none'])
        assert.equal(read[read.indexOf('--network') + 1], 'host')
        // The sync's job-specific limits over the defaults; the CPU limit of the definition over the setting.
        assert.equal(read[read.indexOf('--memory') + 1], '512m')
        assert.equal(read[read.indexOf('--memory-reservation') + 1], '256m')
        assert.equal(read[read.indexOf('--cpus') + 1], '0.5')
        assert.deepEqual(read.slice(read.indexOf('airbyte/source-pyfixture:dev')), [
          'airbyte/source-pyfixture:dev',
          'read',
          '--config',
          '/sluice/run/source_config.json',
          '--catalog',
          '/sluice/run/source_catalog.json',
        ])
        assert.doesNotMatch(JSON.stringify(calls), new RegExp(SECRET))
        assert.ok(opts.logger.lines.length > 0)
        // The spec run's pull progress went to its log; the read's files are gone.
        assert.equal(existsSync(mount.split(':')[0] ?? ''), false)
      } finally {
        await fake.cleanup()
      }
    })
  }

  it('logs pull progress in the attempt log and fails clearly when the image does not start', async () => {
    const fake = await fakeDocker('docker')
    try {
      const opts = runOptions()
      const source = new ExternalSource({ image: { repository: 'airbyte/source-pyfixture', tag: 'dev' }, spec: { connectionSpecification: {} }, runner: fake.runner })
      assert.equal((await source.check({ api_key: SECRET }, opts)).status, 'succeeded')
      assert.ok(opts.logger.lines.some((l) => l.includes('docker pull airbyte/source-pyfixture:dev: a1b2c3: Downloading 50%')))
      const missing = new ExternalSource({ image: { repository: 'airbyte/source-absent', tag: '1.0' }, spec: { connectionSpecification: {} }, runner: fake.runner })
      await assert.rejects(missing.check({ api_key: SECRET }, runOptions()), (e: unknown) => isSluiceError(e) && e.code === 'SLUICE_ERR_CONNECTOR_SYSTEM' && /exited with code/.test(e.message))
    } finally {
      await fake.cleanup()
    }
  })

  it('cancel: SIGTERM through the client, then docker kill of the named container after the grace period', async () => {
    const fake = await fakeDocker('docker')
    const markers = await mkdtemp(join(tmpdir(), 'sluice-py-'))
    try {
      let release: () => void = () => undefined
      const source = new ExternalSource({
        image: { repository: 'airbyte/source-pyfixture', tag: 'dev' },
        spec: { connectionSpecification: {} },
        runner: fake.runner,
        killGraceMs: 1000,
        graceWait: () =>
          new Promise<void>((resolve) => {
            release = resolve
          }),
      })
      const controller = new AbortController()
      const reading = drain(source.read({ api_key: SECRET, records: 2, ignore_sigterm: true, sleep_at_end: true, marker_dir: markers }, pyCatalog([{ name: 'users' }]), [], runOptions(controller.signal)))
      while (!existsSync(join(markers, 'sleeping'))) await sleep(10)
      controller.abort()
      while (!existsSync(join(markers, 'sigterm'))) await sleep(10)
      release()
      await assert.rejects(reading, (e: unknown) => isSluiceError(e) && e.code === 'SLUICE_ERR_CANCELLED')
      const calls = await fake.calls()
      const run = calls.find((c) => c[0] === 'run' && c.includes('read')) ?? []
      const name = run[run.indexOf('--name') + 1]
      assert.deepEqual(calls.at(-1), ['kill', name])
    } finally {
      await rm(markers, { recursive: true, force: true })
      await fake.cleanup()
    }
  })

  it('defaults to docker when a daemon answers, else to local', async () => {
    const fake = await fakeDocker('docker')
    try {
      const env = { PATH: `${FIXTURES}:${process.env.PATH}`, DOCKER_CONFIG: fake.state }
      assert.equal((await createRunner(runnerSettingsFromEnv(env))).kind, 'docker')
      const noDaemon = await mkdtemp(join(tmpdir(), 'sluice-fake-docker-'))
      await writeFile(join(noDaemon, 'no-daemon'), '')
      assert.equal((await createRunner(runnerSettingsFromEnv({ ...env, DOCKER_CONFIG: noDaemon }))).kind, 'local')
      assert.equal((await createRunner(runnerSettingsFromEnv({ ...env, SLUICE_CONNECTOR_RUNNER: 'podman' }))).kind, 'podman')
      assert.throws(() => runnerSettingsFromEnv({ SLUICE_CONNECTOR_RUNNER: 'kubernetes' }), /must be one of docker, podman, local/)
      await rm(noDaemon, { recursive: true, force: true })
    } finally {
      await fake.cleanup()
    }
  })

  it('converts Kubernetes memory quantities to docker sizes', () => {
    assert.equal(dockerMemory('2Gi'), '2g')
    assert.equal(dockerMemory('512Mi'), '512m')
    assert.equal(dockerMemory('1.5Gi'), '1536m')
    assert.equal(dockerMemory('1g'), '1g')
  })
})
