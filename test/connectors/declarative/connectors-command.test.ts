import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { pino } from 'pino'
import { Command } from 'commander'
import { airbyteManifestUrl, connectorsCommand } from '../../../src/cli/connectors-command.js'
import { buildProgram } from '../../../src/cli/main.js'
import { startSluice, type RunningSluice } from '../../../src/server.js'
import { airbyteManifest, startMockApi, type MockApi } from './helpers/mock-api.js'

// `sluice connectors add <path|url|airbyte:name>` against a real listening server; the added
// definitions survive a restart (loaded from the store at start).

/** Runs the command in-process (stdout collected; the test runner owns the real stdout). */
async function runCli(args: string[]): Promise<{ stdout: string; exitCode: number | undefined }> {
  let stdout = ''
  const program = new Command('sluice').exitOverride()
  program.addCommand(connectorsCommand({}, (t) => void (stdout += t)))
  try {
    await program.parseAsync(['node', 'sluice', ...args])
    return { stdout, exitCode: 0 }
  } catch (e) {
    return { stdout: `${stdout}${(e as Error).message}`, exitCode: 1 }
  }
}

describe('sluice connectors add', () => {
  let dataDir: string
  let server: RunningSluice
  let registry: MockApi
  const env = { SLUICE_LOG_LEVEL: 'silent' }

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'sluice-connectors-'))
    server = await startSluice({ port: 0, dataDir, env, logger: pino({ level: 'silent' }), worker: false })
    registry = await startMockApi((r) =>
      r.path === '/source-pokeapi/latest/manifest.yaml' ? { body: airbyteManifest('source-pokeapi') } : r.path === '/manifests/gutendex.yaml' ? { body: airbyteManifest('source-gutendex') } : { status: 404, body: 'no such connector' },
    )
  })
  after(async () => {
    await server.close()
    await registry.close()
    await rm(dataDir, { recursive: true, force: true })
  })

  test('from a file, a URL and airbyte:<name>; listed; persisted across a restart', async () => {
    const file = join(dataDir, 'xkcd.yaml')
    await writeFile(file, airbyteManifest('source-xkcd'))
    const fromFile = await runCli(['connectors', 'add', file, '--server', server.url, '--name', 'xkcd comics'])
    assert.equal(fromFile.exitCode, 0, fromFile.stdout)
    const added = JSON.parse(fromFile.stdout) as { sourceDefinitionId: string; name: string }
    assert.equal(added.name, 'xkcd comics')

    const fromUrl = await runCli(['connectors', 'add', `${registry.origin}/any/manifests/gutendex.yaml`, '--server', server.url])
    assert.equal(fromUrl.exitCode, 0, fromUrl.stdout)
    const byName = await runCli(['connectors', 'add', 'airbyte:pokeapi', '--server', server.url, '--registry', `${registry.origin}/registry`])
    assert.equal(byName.exitCode, 0, byName.stdout)

    const list = await runCli(['connectors', 'list', '--server', server.url])
    assert.match(list.stdout, new RegExp(`${added.sourceDefinitionId}\\txkcd comics\\t\\(custom\\)`))
    assert.match(list.stdout, /\tREST API\n/)
    assert.equal(list.stdout.split('\n').filter((l) => l.endsWith('(custom)')).length, 3)

    await server.close()
    server = await startSluice({ port: 0, dataDir, env, logger: pino({ level: 'silent' }), worker: false })
    assert.equal(server.deps.registry.getSource(added.sourceDefinitionId)?.name, 'xkcd comics')
  })

  test('errors: unknown connector name, unreadable file, unsupported manifest, no server', async () => {
    const missing = await runCli(['connectors', 'add', 'airbyte:nope', '--server', server.url, '--registry', `${registry.origin}/registry`])
    assert.equal(missing.exitCode, 1)
    assert.match(missing.stdout, /HTTP 404/)
    const noFile = await runCli(['connectors', 'add', join(dataDir, 'absent.yaml'), '--server', server.url])
    assert.match(noFile.stdout, /ENOENT/)
    const custom = join(dataDir, 'custom.yaml')
    await writeFile(custom, 'streams:\n  - name: x\n    retriever:\n      class_name: source_x.components.R\n')
    const refused = await runCli(['connectors', 'add', custom, '--server', server.url])
    assert.equal(refused.exitCode, 1)
    assert.match(refused.stdout, /HTTP 422.*CustomComponent.*streams\[0\]\.retriever/)
    const down = await runCli(['connectors', 'add', custom, '--server', 'http://127.0.0.1:9'])
    assert.match(down.stdout, /cannot reach the sluice server/)
  })

  test('the command is registered in the sluice program', () => {
    assert.ok(buildProgram().commands.some((c) => c.name() === 'connectors'))
  })

  test('airbyte:<name> resolves to the registry URL', () => {
    assert.equal(airbyteManifestUrl('xkcd'), 'https://connectors.airbyte.com/files/metadata/airbyte/source-xkcd/latest/manifest.yaml')
    assert.equal(airbyteManifestUrl('source-xkcd', 'http://mirror/'), 'http://mirror/source-xkcd/latest/manifest.yaml')
  })
})
