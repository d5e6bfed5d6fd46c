import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { pino } from 'pino'
import { startSluice, type RunningSluice } from '../../src/server.js'

// The test connectors are listed only with this flag; the registry reads it when built.
process.env.SLUICE_TEST_CONNECTORS = '1'

export const TEST_SOURCE_ID = '5b1a7e3c-0d2f-4c61-9a57-7f3e2c1d0a01'
export const TEST_DESTINATION_ID = '5b1a7e3c-0d2f-4c61-9a57-7f3e2c1d0a02'

/** Fast worker settings for tests: quick polls and heartbeats, no retry backoff. */
export const FAST_ENV: Record<string, string> = {
  SLUICE_WORKER_POLL_MS: '50',
  SLUICE_WORKER_HEARTBEAT_MS: '100',
  SLUICE_WORKER_LEASE_MS: '5000',
  SLUICE_RETRY_BACKOFF_MS: '0',
  SLUICE_SCHEDULER_TICK_MS: '3600000',
}

export interface Reply {
  status: number
  body: any
}

export interface StreamChoice {
  name: string
  syncMode: 'full_refresh' | 'incremental'
  destinationSyncMode: 'append' | 'overwrite' | 'append_dedup' | 'overwrite_dedup'
  selected?: boolean
}

export interface JobsServer {
  running: RunningSluice
  dataDir: string
  /** Where test destinations write (under the data dir). */
  outDir: string
  workspaceId: string
  post(path: string, body?: unknown): Promise<Reply>
  /** Creates a test source, a test destination and an active connection between them. */
  connection(opts: {
    source?: Record<string, unknown>
    destination?: Record<string, unknown>
    streams?: StreamChoice[]
    extra?: Record<string, unknown>
  }): Promise<string>
  /** Polls jobs/get until the job is in one of `statuses`; returns the JobInfoRead. */
  waitFor(jobId: number, statuses: string[], timeoutMs?: number): Promise<any>
  close(): Promise<void>
}

/** A real server (port 0, temp data dir) with the worker and scheduler running. */
export async function startJobsServer(env: Record<string, string> = {}): Promise<JobsServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-jobs-'))
  const running = await startSluice({
    port: 0,
    dataDir,
    // The embedded SQLite store, whatever the environment says (SLUICE_DATABASE_URL picks PostgreSQL).
    env: { ...process.env, SLUICE_DATABASE_URL: '', ...FAST_ENV, SLUICE_SECRET_KEY: randomBytes(32).toString('hex'), ...env },
    logger: pino({ level: 'silent' }),
  })
  const post = async (path: string, body: unknown = {}): Promise<Reply> => {
    const res = await running.app.inject({ method: 'POST', url: `/api/v1/${path}`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) })
    return { status: res.statusCode, body: res.body === '' ? undefined : JSON.parse(res.body) }
  }
  const workspaces = await post('workspaces/list')
  const workspaceId = workspaces.body.workspaces[0].workspaceId as string
  const outDir = join(dataDir, 'out')
  let n = 0
  return {
    running,
    dataDir,
    outDir,
    workspaceId,
    post,
    async connection(opts) {
      n++
      const source = await post('sources/create', {
        workspaceId,
        sourceDefinitionId: TEST_SOURCE_ID,
        name: `test source ${n}`,
        // A run key per connector: concurrent runs never share a run counter file.
        connectionConfiguration: { streams: ['items'], records: 50, batchSize: 10, runKey: `source-${n}`, ...opts.source },
      })
      assert.equal(source.status, 200, JSON.stringify(source.body))
      const destination = await post('destinations/create', {
        workspaceId,
        destinationDefinitionId: TEST_DESTINATION_ID,
        name: `test destination ${n}`,
        connectionConfiguration: { path: outDir, runKey: `destination-${n}`, ...opts.destination },
      })
      assert.equal(destination.status, 200, JSON.stringify(destination.body))
      const streams = opts.streams ?? [{ name: 'items', syncMode: 'incremental', destinationSyncMode: 'append_dedup' }]
      const created = await post('connections/create', {
        sourceId: source.body.sourceId,
        destinationId: destination.body.destinationId,
        status: 'active',
        scheduleType: 'manual',
        syncCatalog: {
          streams: streams.map((s) => ({
            stream: { name: s.name },
            config: {
              syncMode: s.syncMode,
              destinationSyncMode: s.destinationSyncMode,
              cursorField: ['updated_at'],
              primaryKey: [['id']],
              selected: s.selected ?? true,
            },
          })),
        },
        ...opts.extra,
      })
      assert.equal(created.status, 200, JSON.stringify(created.body))
      return created.body.connectionId as string
    },
    async waitFor(jobId, statuses, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs
      let last: any
      while (Date.now() < deadline) {
        const res = await post('jobs/get', { id: jobId })
        assert.equal(res.status, 200)
        last = res.body
        if (statuses.includes(last.job.status)) return last
        await sleep(50)
      }
      assert.fail(`job ${jobId} did not reach ${statuses.join('/')} in ${timeoutMs} ms: ${JSON.stringify(last?.job)} ${JSON.stringify(last?.attempts?.map((a: any) => a.attempt))}`)
    },
    async close() {
      await running.close()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}
