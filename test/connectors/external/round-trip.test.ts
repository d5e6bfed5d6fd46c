import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fakerDefinition } from '../../../src/connectors/faker/index.js'
import { builtinDefinitions } from '../../../src/connectors/builtin-definitions.js'
import { ConnectorRegistry } from '../../../src/connectors/registry.js'
import { findBuiltinConnector } from '../../../src/cli/connector-command.js'
import { ExternalDestination } from '../../../src/connectors/external/external-destination.js'
import { ExternalSource } from '../../../src/connectors/external/external-source.js'
import { runAttempt } from '../../../src/engine/index.js'
import type { ConfiguredCatalog } from '../../../src/protocol/index.js'
import { attemptInput, catalogOf, latestStates, sandbox } from '../../engine/engine-helpers.js'
import { localRunner, ROOT, runOptions, specOf } from './external-helpers.js'

/**
 * sluice's own connectors as Airbyte-protocol executables (`sluice connector <name> <verb>`),
 * run by sluice's external runner: what an image built from connectors/docker/ runs.
 */
describe('round trip: built-in connectors through `sluice connector` and the external runner', () => {
  let bin: string
  let filesRoot: string
  before(async () => {
    bin = await mkdtemp(join(tmpdir(), 'sluice-bin-'))
    filesRoot = await mkdtemp(join(tmpdir(), 'sluice-files-'))
    for (const name of ['source-faker', 'destination-local-files']) {
      const script = join(bin, name)
      await writeFile(script, `#!/bin/sh\nSLUICE_LOCAL_ROOT='${filesRoot}' exec '${process.execPath}' '${join(ROOT, 'bin', 'sluice.js')}' connector ${name} "$@"\n`)
      await chmod(script, 0o755)
    }
  })
  after(async () => {
    await rm(bin, { recursive: true, force: true })
    await rm(filesRoot, { recursive: true, force: true })
  })

  const faker = (): Promise<ExternalSource> =>
    specOf('airbyte/source-faker', { runner: localRunner([bin]) }).then((spec) => new ExternalSource({ image: { repository: 'airbyte/source-faker', tag: 'dev' }, spec, runner: localRunner([bin]) }))
  const localFiles = (): Promise<ExternalDestination> =>
    specOf('sluice/destination-local-files', { runner: localRunner([bin]) }).then((spec) => new ExternalDestination({ image: { repository: 'sluice/destination-local-files', tag: 'dev' }, spec, runner: localRunner([bin]) }))

  it('spec, check and discover match the built-in connector', async () => {
    const source = await faker()
    assert.deepEqual(source.spec.connectionSpecification, fakerDefinition.source.spec.connectionSpecification)
    assert.equal((await source.check({ count: 10 }, runOptions())).status, 'succeeded')
    const external = await source.discover({ count: 10 }, runOptions())
    const native = await fakerDefinition.source.discover({ count: 10 }, runOptions())
    // The wire leaves out a null namespace.
    assert.deepEqual(external, { streams: native.streams.map(({ namespace, ...rest }) => (namespace === null || namespace === undefined ? rest : { namespace, ...rest })) })
  })

  it('external Faker -> native test destination, then -> external Local Files (JSONL)', async () => {
    const box = await sandbox()
    try {
      const source = await faker()
      const config = { count: 250, seed: 7 }
      const catalog: ConfiguredCatalog = await catalogOf(fakerDefinition.source, config, 'incremental', 'append')
      catalog.streams = catalog.streams.filter((s) => s.stream.name === 'users')
      const first = attemptInput(box, { source, sourceConfig: config, catalog })
      const result = await runAttempt(first)
      assert.equal(result.totalStats.recordsCommitted, 250)
      assert.ok(latestStates(first.committed).length === 1)

      const both = attemptInput(box, {
        source,
        sourceConfig: config,
        destination: await localFiles(),
        destinationConfig: { destination_path: 'out', format: { format_type: 'JSONL', compression: { compression_type: 'No Compression' } } },
        catalog,
      })
      const r2 = await runAttempt(both)
      assert.equal(r2.totalStats.recordsCommitted, 250)
      assert.equal(latestStates(both.committed).length, 1)
      const dir = join(filesRoot, 'out', 'users')
      const files = (await readdir(dir)).filter((f) => !f.startsWith('.'))
      const rows = (await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8')))).join('').trim().split('\n')
      assert.equal(rows.length, 250)
    } finally {
      await box.cleanup()
    }
  })

  it('a failing built-in connector answers with a TRACE error and exit code 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-cli-'))
    try {
      await writeFile(join(dir, 'config.json'), JSON.stringify({ count: 5 }))
      await writeFile(join(dir, 'catalog.json'), JSON.stringify({ streams: [{ stream: { name: 'nope', json_schema: {} }, sync_mode: 'full_refresh', destination_sync_mode: 'append' }] }))
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'sluice.js'), 'connector', 'destination-local-files', 'write', '--config', join(dir, 'config.json'), '--catalog', join(dir, 'catalog.json')], { stdio: ['pipe', 'pipe', 'pipe'] })
      child.stdin.end('{"type":"RECORD","record":{"stream":"nope","data":{"a":1},"emitted_at":1}}\n')
      let out = ''
      child.stdout.on('data', (c: Buffer) => (out += c.toString()))
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
      assert.equal(code, 1)
      const trace = out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; trace?: { error?: { failure_type?: string; message?: string } } }).find((m) => m.type === 'TRACE')
      assert.equal(trace?.trace?.error?.failure_type, 'config_error')
      assert.match(trace?.trace?.error?.message ?? '', /destination_path/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('finds built-in connectors by repository, last segment, short name (per verb) or display name', () => {
    const registry = new ConnectorRegistry(builtinDefinitions())
    assert.equal(findBuiltinConnector(registry, 'airbyte/source-faker', 'read').definitionId, fakerDefinition.definitionId)
    assert.equal(findBuiltinConnector(registry, 'faker', 'spec').definitionId, fakerDefinition.definitionId)
    assert.equal(findBuiltinConnector(registry, 'postgres', 'read').kind, 'source')
    assert.equal(findBuiltinConnector(registry, 'postgres', 'write').kind, 'destination')
    assert.throws(() => findBuiltinConnector(registry, 'postgres', 'spec'), /names more than one connector \(source-postgres, destination-postgres\)/)
    assert.throws(() => findBuiltinConnector(registry, 'faker', 'write'), /no built-in destination named "faker"/)
  })
})
