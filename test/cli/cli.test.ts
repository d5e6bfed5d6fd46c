import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'

/** The repository root: the nearest folder with package.json (works from test/ and dist/test/). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir)
  return dir
}

const ROOT = repoRoot()
const BIN = join(ROOT, 'bin', 'sluice.js')
const VERSION = (JSON.parse(spawnSync('node', ['-p', 'JSON.stringify(require("./package.json"))'], { cwd: ROOT, encoding: 'utf8' }).stdout) as { version: string })
  .version

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync('node', [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 })
}

interface Served {
  child: ChildProcessWithoutNullStreams
  url: string
  stderr: () => string
  stop: () => Promise<number | null>
}

/** Starts `sluice serve` and waits for its "listening" line on stdout. */
async function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const child = spawn('node', [BIN, 'serve', '--port', '0', ...args], { cwd: ROOT, env: { ...process.env, SLUICE_LOG_LEVEL: 'info', ...env } })
  let stderr = ''
  let stdout = ''
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line; stderr: ${stderr}`)), 20_000)
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
      const m = /listening on (http:\/\/\S+)/.exec(stdout)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`exited ${code}; stderr: ${stderr}`))
    })
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {
    child,
    url,
    stderr: () => stderr,
    stop: async () => {
      child.kill('SIGTERM')
      return exited
    },
  }
}

describe('sluice CLI (built binary)', () => {
  let dataDir: string
  before(async () => {
    // The binary runs the compiled output; build it when this test runs from sources.
    if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) {
      spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'ignore' })
    }
    dataDir = await mkdtemp(join(tmpdir(), 'sluice-cli-'))
  })
  after(async () => {
    await rm(dataDir, { recursive: true, force: true })
  })

  it('--version prints the package version', () => {
    const res = run(['--version'])
    assert.equal(res.status, 0)
    assert.equal(res.stdout.trim(), VERSION)
  })

  it('--help lists the serve command; serve --help lists its options', () => {
    const res = run(['--help'])
    assert.equal(res.status, 0)
    assert.match(res.stdout, /Usage: sluice/)
    assert.match(res.stdout, /serve/)
    const serveHelp = run(['serve', '--help'])
    assert.equal(serveHelp.status, 0)
    for (const flag of ['--host', '--port', '--data-dir']) assert.match(serveHelp.stdout, new RegExp(flag))
  })

  it('rejects a bad port and an unknown command with a non-zero exit code', () => {
    const port = run(['serve', '--port', 'abc'])
    assert.notEqual(port.status, 0)
    assert.match(port.stderr, /port/)
    const unknown = run(['frobnicate'])
    assert.notEqual(unknown.status, 0)
    assert.match(unknown.stderr, /unknown command/)
  })

  it('rejects an invalid SLUICE_SECRET_KEY without starting', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-cli-key-'))
    try {
      const res = run(['serve', '--port', '0', '--data-dir', dir], { SLUICE_SECRET_KEY: 'too-short' })
      assert.equal(res.status, 1)
      assert.match(res.stderr, /SLUICE_SECRET_KEY must be 64 hex characters/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('serve: answers health, creates the store and key file (0600), logs one JSON line per request without bodies, stops on SIGTERM', async () => {
    const server = await serve(['--data-dir', dataDir])
    try {
      const health = await fetch(`${server.url}/api/v1/health`)
      assert.equal(health.status, 200)
      assert.deepEqual(await health.json(), { available: true, db: true })
      const secret = 'cli-log-secret-value-9876'
      const defs = (await (await fetch(`${server.url}/api/v1/source_definitions/list`, { method: 'POST' })).json()) as {
        sourceDefinitions: Array<{ sourceDefinitionId: string; name: string }>
      }
      const ws = (await (await fetch(`${server.url}/api/v1/workspaces/list`, { method: 'POST' })).json()) as { workspaces: Array<{ workspaceId: string }> }
      await fetch(`${server.url}/api/v1/sources/create`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          sourceDefinitionId: defs.sourceDefinitions[0]!.sourceDefinitionId,
          workspaceId: ws.workspaces[0]!.workspaceId,
          name: 'x',
          connectionConfiguration: { password: secret, api_key: secret },
        }),
      })
      assert.ok((await stat(join(dataDir, 'sluice.db'))).isFile())
      const key = await stat(join(dataDir, 'secret.key'))
      assert.equal(key.mode & 0o777, 0o600)
    } finally {
      assert.equal(await server.stop(), 0)
    }
    const lines = server
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    const requests = lines.filter((l) => l.msg === 'request')
    assert.ok(requests.length >= 4)
    const health = requests.find((l) => l.url === '/api/v1/health')!
    assert.equal(health.method, 'GET')
    assert.equal(health.statusCode, 200)
    assert.equal(typeof health.durationMs, 'number')
    assert.ok(!server.stderr().includes('cli-log-secret-value-9876'), 'no secret in the logs')
  })

  it('serve: SLUICE_DATA_DIR sets the data dir; a non-loopback host without a token warns', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-cli-env-'))
    try {
      const server = await serve(['--host', '0.0.0.0'], { SLUICE_DATA_DIR: dir, SLUICE_API_TOKEN: '' })
      const code = await server.stop()
      assert.equal(code, 0)
      assert.ok(existsSync(join(dir, 'sluice.db')))
      assert.match(server.stderr(), /without authentication/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('serve: a port in use is a one-line error and exit code 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-cli-port-'))
    try {
      const first = await serve(['--data-dir', dir])
      try {
        const port = new URL(first.url).port
        // Another data dir: the same one would be refused earlier, for its lock.
        const second = run(['serve', '--port', port, '--data-dir', join(dir, 'other')])
        assert.equal(second.status, 1)
        assert.match(second.stderr, /^sluice: .*EADDRINUSE/m)
        assert.doesNotMatch(second.stderr, /\n\s+at /, 'no stack trace')
      } finally {
        await first.stop()
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('serve: with SLUICE_API_TOKEN, calls need the token', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-cli-auth-'))
    try {
      const server = await serve(['--data-dir', dir], { SLUICE_API_TOKEN: 'tok-123' })
      try {
        assert.equal((await fetch(`${server.url}/api/v1/workspaces/list`, { method: 'POST' })).status, 401)
        const ok = await fetch(`${server.url}/api/v1/workspaces/list`, { method: 'POST', headers: { authorization: 'Bearer tok-123' } })
        assert.equal(ok.status, 200)
        assert.equal((await fetch(`${server.url}/api/v1/health`)).status, 200)
      } finally {
        await server.stop()
      }
      assert.doesNotMatch(server.stderr(), /without authentication/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
