import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'

/** The repository root: the nearest folder holding package.json (works from test/ and dist/test/). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir)
  return dir
}

/** A `sluice serve` child process on the embedded store. */
export interface ServerProcess {
  child: ChildProcess
  url: string
  /** What the process wrote to stderr so far. */
  stderr(): string
}

/** Settings that make a test server fast to react (short polls, heartbeats and backoffs). */
export const FAST_SERVER_ENV: NodeJS.ProcessEnv = {
  SLUICE_DATABASE_URL: '',
  SLUICE_TEST_CONNECTORS: '1',
  SLUICE_LOG_LEVEL: 'warn',
  SLUICE_WORKER_CONCURRENCY: '3',
  SLUICE_WORKER_POLL_MS: '50',
  SLUICE_WORKER_HEARTBEAT_MS: '200',
  SLUICE_RETRY_BACKOFF_MS: '100',
  SLUICE_SCHEDULER_TICK_MS: '3600000',
}

/** Spawns the built binary's `serve --port 0` and waits for its "listening on" line. */
export function spawnServer(dataDir: string, env: NodeJS.ProcessEnv): { child: ChildProcess; listening: Promise<ServerProcess> } {
  const root = repoRoot()
  const child = spawn(process.execPath, [join(root, 'bin', 'sluice.js'), 'serve', '--data-dir', dataDir, '--port', '0'], {
    cwd: root,
    env: { ...process.env, ...FAST_SERVER_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
  const listening = new Promise<ServerProcess>((resolve, reject) => {
    let out = ''
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m) resolve({ child, url: m[1] as string, stderr: () => stderr })
    })
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${stderr}`)))
  })
  return { child, listening }
}

/** POSTs to the Config API and asserts a 2xx answer. */
export async function apiPost(server: Pick<ServerProcess, 'url'>, path: string, body: unknown): Promise<any> {
  const res = await fetch(`${server.url}/api/v1/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const text = await res.text()
  const json = text === '' ? undefined : JSON.parse(text)
  assert.ok(res.status < 300, `${path} -> ${res.status}: ${text}`)
  return json
}

/** Polls jobs/get until the job reaches one of `statuses`. */
export async function waitForJob(server: Pick<ServerProcess, 'url'>, jobId: number, statuses: string[]): Promise<any> {
  for (;;) {
    const info = await apiPost(server, 'jobs/get', { id: jobId })
    if (statuses.includes(info.job.status)) return info
    await sleep(100)
  }
}

/** Waits for a child process to exit; resolves with its exit code (null when killed by a signal). */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode)
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)))
}
