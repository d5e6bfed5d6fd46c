import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { formatBytes, progressLine } from '../../src/cli/sync-command.js'
import { startJobsServer, type JobsServer } from './jobs-harness.js'

/** The repository root: the nearest folder holding package.json (works from test/ and dist/test/). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir)
  return dir
}

interface Run {
  code: number
  stdout: string
  stderr: string
}

function sluice(args: string[]): Promise<Run> {
  const root = repoRoot()
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'bin', 'sluice.js'), ...args], { cwd: root, env: { ...process.env, SLUICE_URL: '' } }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1
      resolve({ code, stdout, stderr })
    })
  })
}

describe('sluice sync (CLI over HTTP)', () => {
  let s: JobsServer
  before(async () => {
    s = await startJobsServer()
  })
  after(async () => {
    await s.close()
  })

  test('--wait follows the job with plain progress lines and exits 0 on success', async () => {
    // About 1 s of work, so the CLI (polling every 100 ms) sees it running even on a loaded machine.
    const connectionId = await s.connection({ source: { records: 200, batchSize: 10, delayMs: 50 }, destination: { path: `${s.outDir}/cli-ok` } })
    const run = await sluice(['sync', connectionId, '--wait', '--url', s.running.url, '--poll-ms', '100'])
    assert.equal(run.code, 0, run.stderr)
    const lines = run.stdout.trim().split('\n')
    assert.match(lines[0] ?? '', /^started job \d+ for connection /)
    assert.ok(lines.some((l) => /^job \d+ running: [\d,]+ records, .* records\/s/.test(l)), run.stdout)
    assert.match(lines[lines.length - 1] ?? '', /^job \d+ succeeded: 200 records, .* synced in 1 attempt\(s\)$/)
    assert.ok(!run.stdout.includes('\r'), 'no terminal control characters when stdout is not a TTY')
  })

  test('exit code 1 when the job fails, with the failure message', async () => {
    const connectionId = await s.connection({ source: { failAfterRecords: 3, failureType: 'config' }, destination: { path: `${s.outDir}/cli-fail` } })
    const run = await sluice(['sync', connectionId, '--wait', '--url', s.running.url, '--poll-ms', '100'])
    assert.equal(run.code, 1)
    assert.match(run.stderr, /job \d+ failed: Test source: planned config failure after 3 records/)
  })

  test('409 and unreachable servers are errors; without --wait it returns at once', async () => {
    const connectionId = await s.connection({ source: { records: 1000, batchSize: 5, delayMs: 100 }, destination: { path: `${s.outDir}/cli-busy` } })
    const first = await sluice(['sync', connectionId, '--url', s.running.url])
    assert.equal(first.code, 0, first.stderr)
    const jobId = Number(/started job (\d+)/.exec(first.stdout)?.[1])
    const second = await sluice(['sync', connectionId, '--url', s.running.url])
    assert.equal(second.code, 1)
    assert.match(second.stderr, /A sync is already running for: /)
    await s.post('jobs/cancel', { id: jobId })
    await s.waitFor(jobId, ['cancelled'])
    const unknown = await sluice(['sync', '7c0b4a40-1e1c-4a57-9e52-3b0e1c1e0a99', '--url', s.running.url])
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /Could not find/)
    const down = await sluice(['sync', connectionId, '--url', 'http://127.0.0.1:9'])
    assert.equal(down.code, 1)
    assert.match(down.stderr, /cannot reach the sluice server/)
  })

  test('Ctrl-C stops following but not the job', async () => {
    const connectionId = await s.connection({ source: { records: 1000, batchSize: 5, delayMs: 100 }, destination: { path: `${s.outDir}/cli-int` } })
    const root = repoRoot()
    const child = spawn(process.execPath, [join(root, 'bin', 'sluice.js'), 'sync', connectionId, '--wait', '--url', s.running.url, '--poll-ms', '100'], { cwd: root })
    let stdout = ''
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString()
        if (stdout.includes('running')) resolve()
      })
    })
    child.kill('SIGINT')
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    assert.equal(code, 130)
    const jobId = Number(/started job (\d+)/.exec(stdout)?.[1])
    assert.match(stderr, new RegExp(`job ${jobId} keeps running on the server`))
    const job = await s.post('jobs/get', { id: jobId })
    assert.ok(['pending', 'running'].includes(job.body.job.status))
    await s.post('jobs/cancel', { id: jobId })
    await s.waitFor(jobId, ['cancelled'])
  })

  test('progress line formats (TTY bar and plain)', () => {
    const info = { job: { id: 7, status: 'running', configId: 'c' }, attempts: [{ attempt: { id: 1, status: 'running', totalStats: { recordsEmitted: 12_345, bytesEmitted: 3 * 1024 * 1024 } } }] }
    assert.equal(progressLine(info, 10_000, 0, false), 'job 7 running (attempt 2): 12,345 records, 3.0 MB, 1,235 records/s, 307.2 KB/s')
    assert.match(progressLine(info, 10_000, 3, true), /^\[ {3}<=> {14}\] job 7 running/)
    assert.equal(formatBytes(512), '512 B')
    assert.equal(formatBytes(293.37), '293 B', 'a byte rate below 1 KB is a whole number')
  })
})
