import assert from 'node:assert/strict'
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { Command } from 'commander'
import { connectorsCommand } from '../../../src/cli/connectors-command.js'
import { startMockApi, type MockApi } from './helpers/mock-api.js'

// `sluice connectors search <text>` and `list --available` over Airbyte's registry index, served
// on loopback (this machine has no internet), cached, with a clear message offline.

const index = {
  sources: [
    { name: 'PokeAPI', dockerRepository: 'airbyte/source-pokeapi', language: 'manifest-only', supportLevel: 'community', documentationUrl: 'https://docs.airbyte.com/integrations/sources/pokeapi' },
    { name: 'xkcd', dockerRepository: 'airbyte/source-xkcd', tags: ['language:manifest-only'], supportLevel: 'community' },
    { name: 'Stripe', dockerRepository: 'airbyte/source-stripe', language: 'python', supportLevel: 'certified' },
    { name: 'Poker Stats', dockerRepository: 'airbyte/source-poker-stats', language: 'manifest-only' },
  ],
}

let dir: string
let registry: MockApi
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-catalog-'))
  registry = await startMockApi((r) => (r.path === '/registries/v0/oss_registry.json' ? { body: index } : { status: 404, body: 'nope' }))
})
after(async () => {
  await registry.close()
  await rm(dir, { recursive: true, force: true })
})

async function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  let stdout = ''
  let stderr = ''
  const program = new Command('sluice').exitOverride()
  program.addCommand(connectorsCommand(env, (t) => void (stdout += t), (t) => void (stderr += t)))
  try {
    await program.parseAsync(['node', 'sluice', ...args])
    return { stdout, stderr, exitCode: 0 }
  } catch (e) {
    return { stdout, stderr: `${stderr}${(e as Error).message}`, exitCode: 1 }
  }
}

test('search and list --available show only manifest-only connectors, then come from the cache', async () => {
  const env = { SLUICE_CACHE_DIR: join(dir, 'a'), SLUICE_AIRBYTE_REGISTRY_INDEX_URL: `${registry.origin}/connectors.airbyte.com/registries/v0/oss_registry.json` }
  const found = await runCli(['connectors', 'search', 'POKE'], env)
  assert.equal(found.exitCode, 0, found.stderr)
  assert.equal(found.stdout, 'airbyte:pokeapi\tPokeAPI\tcommunity\nairbyte:poker-stats\tPoker Stats\tcommunity\n')
  const all = await runCli(['connectors', 'list', '--available'], env)
  assert.deepEqual(all.stdout.trim().split('\n').map((l) => l.split('\t')[0]), ['airbyte:pokeapi', 'airbyte:poker-stats', 'airbyte:xkcd'])
  assert.equal(registry.requests.length, 1, 'the second command read the cache')
  const none = await runCli(['connectors', 'search', 'stripe'], env)
  assert.equal(none.stdout, '')
  assert.match(none.stderr, /no manifest-only connector matches "stripe"/)
})

test('offline: a stale cache is used with a note; without a cache the error says what to do', async () => {
  const offline = 'http://127.0.0.1:9/registries/v0/oss_registry.json'
  const noCache = await runCli(['connectors', 'search', 'poke'], { SLUICE_CACHE_DIR: join(dir, 'b'), SLUICE_AIRBYTE_REGISTRY_INDEX_URL: offline })
  assert.equal(noCache.exitCode, 1)
  assert.match(noCache.stderr, /cannot read Airbyte's registry index at http:\/\/127\.0\.0\.1:9\/.* and there is no cached copy .*Offline\? Pass --index/)

  const cacheDir = join(dir, 'c')
  await runCli(['connectors', 'list', '--available'], { SLUICE_CACHE_DIR: cacheDir, SLUICE_AIRBYTE_REGISTRY_INDEX_URL: `${registry.origin}/x/registries/v0/oss_registry.json` })
  const old = new Date('2020-01-01T00:00:00Z')
  await utimes(join(cacheDir, 'airbyte-registry.json'), old, old)
  const stale = await runCli(['connectors', 'search', 'xkcd'], { SLUICE_CACHE_DIR: cacheDir, SLUICE_AIRBYTE_REGISTRY_INDEX_URL: offline })
  assert.equal(stale.exitCode, 0, stale.stderr)
  assert.equal(stale.stdout, 'airbyte:xkcd\txkcd\tcommunity\n')
  assert.match(stale.stderr, /unreachable .*using the cached index from 2020-01-01T00:00:00\.000Z/)
})

test('--index reads a local copy of the registry index', async () => {
  const file = join(dir, 'oss_registry.json')
  await writeFile(file, JSON.stringify(index))
  const res = await runCli(['connectors', 'search', 'xkcd', '--index', file], { SLUICE_CACHE_DIR: join(dir, 'd') })
  assert.equal(res.stdout, 'airbyte:xkcd\txkcd\tcommunity\n')
})
