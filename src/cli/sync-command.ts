import { setTimeout as sleep } from 'node:timers/promises'
import { Command } from 'commander'
import { SluiceError } from '../errors.js'

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled'])
const BAR_WIDTH = 20

interface SyncOptions {
  wait: boolean
  url: string
  pollMs: string
}

interface AttemptTotals {
  recordsEmitted?: number
  bytesEmitted?: number
  recordsCommitted?: number
  bytesCommitted?: number
}

interface JobInfo {
  job: { id: number; status: string; configId: string; summary?: { recordsSynced: number; bytesSynced: number } }
  attempts: Array<{ attempt: { id: number; status: string; totalStats?: AttemptTotals; failureSummary?: { failures?: Array<{ externalMessage?: string; failureType?: string }> } } }>
}

/** POSTs to the Config API; throws a SluiceError carrying the server's message on a non-2xx answer. */
async function call<T>(baseUrl: string, path: string, body: unknown): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  const token = process.env.SLUICE_API_TOKEN
  if (token) headers.authorization = `Bearer ${token}`
  let res: Response
  try {
    res = await fetch(`${baseUrl.replace(/\/+$/, '')}/api/v1/${path}`, { method: 'POST', headers, body: JSON.stringify(body) })
  } catch (cause) {
    throw new SluiceError('SLUICE_ERR_INTERNAL', `cannot reach the sluice server at ${baseUrl} (is \`sluice serve\` running?)`, { cause })
  }
  const text = await res.text()
  let json: unknown
  try {
    json = text === '' ? undefined : JSON.parse(text)
  } catch {
    json = undefined
  }
  if (!res.ok) {
    const message = (json as { message?: string } | undefined)?.message ?? `HTTP ${res.status}`
    throw new SluiceError(res.status === 409 ? 'SLUICE_ERR_SYNC_RUNNING' : res.status === 404 ? 'SLUICE_ERR_NOT_FOUND' : 'SLUICE_ERR_INTERNAL', message, {
      httpStatus: res.status,
    })
  }
  return json as T
}

/** "12.3 MB" style sizes. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`
}

function latestTotals(info: JobInfo): { records: number; bytes: number; attempt: number } {
  const last = info.attempts[info.attempts.length - 1]
  const t = last?.attempt.totalStats ?? {}
  return { records: t.recordsEmitted ?? 0, bytes: t.bytesEmitted ?? 0, attempt: last?.attempt.id ?? 0 }
}

/**
 * One progress line. On a terminal the bar is an activity bar (a sync's total is not known in
 * advance); records, bytes and the rate are the running attempt's.
 */
export function progressLine(info: JobInfo, elapsedMs: number, tick: number, tty: boolean): string {
  const { records, bytes, attempt } = latestTotals(info)
  const seconds = Math.max(elapsedMs / 1000, 0.001)
  const rate = Math.round(records / seconds)
  const stats = `${records.toLocaleString('en-US')} records, ${formatBytes(bytes)}, ${rate.toLocaleString('en-US')} records/s, ${formatBytes(bytes / seconds)}/s`
  const head = `job ${info.job.id} ${info.job.status}${attempt > 0 ? ` (attempt ${attempt + 1})` : ''}`
  if (!tty) return `${head}: ${stats}`
  const pos = tick % (2 * (BAR_WIDTH - 3))
  const at = pos < BAR_WIDTH - 3 ? pos : 2 * (BAR_WIDTH - 3) - pos
  const bar = TERMINAL.has(info.job.status) ? '='.repeat(BAR_WIDTH) : ' '.repeat(at) + '<=>' + ' '.repeat(BAR_WIDTH - 3 - at)
  return `[${bar}] ${head}: ${stats}`
}

/** Follows a job until it ends; returns its final JobInfoRead. */
async function follow(url: string, jobId: number, pollMs: number): Promise<JobInfo> {
  const tty = process.stdout.isTTY === true
  const started = Date.now()
  let tick = 0
  let lastPlain = 0
  let lastStatus = ''
  for (;;) {
    const info = await call<JobInfo>(url, 'jobs/get_without_logs', { id: jobId })
    const now = Date.now()
    const done = TERMINAL.has(info.job.status)
    if (tty) {
      process.stdout.write(`\r\x1b[2K${progressLine(info, now - started, tick++, true)}${done ? '\n' : ''}`)
    } else if (done || info.job.status !== lastStatus || now - lastPlain >= 5000) {
      // Plain lines for logs and pipes: on every status change and every 5 s.
      process.stdout.write(`${progressLine(info, now - started, 0, false)}\n`)
      lastPlain = now
    }
    lastStatus = info.job.status
    if (done) return info
    await sleep(pollMs)
  }
}

/** `sluice sync <connectionId> [--wait] [--url]`: starts a sync on a running server over HTTP. */
export function syncCommand(): Command {
  return new Command('sync')
    .description('start a sync of a connection on a running sluice server (exit code 0 only when it succeeds with --wait)')
    .argument('<connectionId>', 'the connection to sync')
    .option('--wait', 'follow the job until it ends, with a progress line (records, bytes, rate)', false)
    .option('--url <url>', 'the server (default: $SLUICE_URL or http://127.0.0.1:8001)', process.env.SLUICE_URL || 'http://127.0.0.1:8001')
    .option('--poll-ms <ms>', 'how often to poll the job with --wait', '1000')
    .action(async (connectionId: string, opts: SyncOptions) => {
      const started = await call<JobInfo>(opts.url, 'connections/sync', { connectionId })
      const jobId = started.job.id
      process.stdout.write(`started job ${jobId} for connection ${connectionId}\n`)
      if (!opts.wait) return
      const pollMs = Math.max(50, Number(opts.pollMs) || 1000)
      // Ctrl-C stops following, not the job: say how to cancel it.
      const interrupted = (): void => {
        process.stderr.write(`\nsluice: job ${jobId} keeps running on the server; cancel it with POST ${opts.url}/api/v1/jobs/cancel {"id": ${jobId}}\n`)
        process.exit(130)
      }
      process.once('SIGINT', interrupted)
      const info = await follow(opts.url, jobId, pollMs).finally(() => process.removeListener('SIGINT', interrupted))
      if (info.job.status === 'succeeded') {
        const records = info.job.summary?.recordsSynced ?? latestTotals(info).records
        const bytes = info.job.summary?.bytesSynced ?? latestTotals(info).bytes
        process.stdout.write(`job ${jobId} succeeded: ${records.toLocaleString('en-US')} records, ${formatBytes(bytes)} synced in ${info.attempts.length} attempt(s)\n`)
        return
      }
      const failure = info.attempts[info.attempts.length - 1]?.attempt.failureSummary?.failures?.[0]
      const why = failure?.externalMessage ? `: ${failure.externalMessage}` : ''
      process.stderr.write(`sluice: job ${jobId} ${info.job.status}${why}\n`)
      process.exitCode = 1
    })
}
