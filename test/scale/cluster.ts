import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root: the nearest folder with package.json (works from test/ and dist/test/). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir)
  return dir
}

const ROOT = repoRoot()
const BIN = join(ROOT, 'bin', 'sluice.js')

/** One spawned `node bin/sluice.js ...` process. */
export interface SluiceProcess {
  child: ChildProcessWithoutNullStreams
  pid: number
  /** `sluice serve`: its base URL; `sluice worker`: its worker id. */
  ready: string
  stdout(): string
  stderr(): string
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>
}

export interface ClusterOptions {
  databaseUrl: string
  /** Extra environment for every process. */
  env?: Record<string, string>
}

/**
 * A cluster of API and worker processes sharing one PostgreSQL database, all started from the
 * built binary as a user would, with the test connectors enabled and one shared secret key.
 */
export class Cluster {
  readonly processes: SluiceProcess[] = []
  readonly #options: ClusterOptions
  readonly #secretKey = randomBytes(32).toString('hex')
  #dirs: string[] = []

  constructor(options: ClusterOptions) {
    this.#options = options
  }

  /** Builds dist/ when the tests run from sources and the binary is missing. */
  static ensureBuilt(): void {
    if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'ignore' })
  }

  async api(...args: string[]): Promise<SluiceProcess> {
    return this.#spawn(['serve', '--port', '0', '--no-worker', ...args], /sluice listening on (\S+)/)
  }

  /** `sluice serve` with its embedded worker (the all-in-one role). */
  async serve(...args: string[]): Promise<SluiceProcess> {
    return this.#spawn(['serve', '--port', '0', ...args], /sluice listening on (\S+)/)
  }

  async worker(...args: string[]): Promise<SluiceProcess> {
    return this.#spawn(['worker', ...args], /sluice worker (\S+) running/)
  }

  async #spawn(args: string[], readyLine: RegExp): Promise<SluiceProcess> {
    const dataDir = await mkdtemp(join(tmpdir(), 'sluice-scale-'))
    this.#dirs.push(dataDir)
    const child = spawn('node', [BIN, ...args, '--data-dir', dataDir], {
      cwd: ROOT,
      env: {
        ...process.env,
        SLUICE_DATABASE_URL: this.#options.databaseUrl,
        SLUICE_SECRET_KEY: this.#secretKey,
        SLUICE_TEST_CONNECTORS: '1',
        SLUICE_LOG_LEVEL: 'warn',
        ...this.#options.env,
      },
    })
    let stderr = ''
    let stdout = ''
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    const ready = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sluice ${args[0]} did not start; stderr: ${stderr}`)), 60_000)
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString()
        const m = readyLine.exec(stdout)
        if (m?.[1]) {
          clearTimeout(timer)
          resolve(m[1])
        }
      })
      void exited.then((code) => {
        clearTimeout(timer)
        reject(new Error(`sluice ${args[0]} exited with ${code}; stderr: ${stderr}`))
      })
    })
    const p: SluiceProcess = { child, pid: child.pid ?? -1, ready, stdout: () => stdout, stderr: () => stderr, exited }
    this.processes.push(p)
    return p
  }

  /** Kills every process still running and removes their data dirs. */
  async close(): Promise<void> {
    await Promise.all(
      this.processes.map(async (p) => {
        if (p.child.exitCode === null && p.child.signalCode === null) {
          p.child.kill('SIGKILL')
          await p.exited
        }
      }),
    )
    for (const dir of this.#dirs) await rm(dir, { recursive: true, force: true })
  }
}

/** POSTs JSON to `<base>/api/v1/<path>` and parses the answer. */
export async function post(base: string, path: string, body: unknown = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}/api/v1/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const text = await res.text()
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) }
}
