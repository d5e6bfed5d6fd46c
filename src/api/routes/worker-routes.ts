import type { FastifyInstance } from 'fastify'
import type { ApiDeps } from '../deps.js'
import { objectSchema, postRoute } from '../route-helpers.js'
import type { WorkerInfo } from '../../store/worker-registry.js'

/** A worker whose registry heartbeat is older than this is presumed dead and not listed. */
export const WORKER_STALE_AFTER_MS = 30_000

/** One entry of `workers/list` (timestamps in epoch seconds, like the rest of the API). */
export interface WorkerRead {
  workerId: string
  hostname?: string
  pid?: number
  concurrency?: number
  status: 'running' | 'stopping'
  startedAt?: number
  lastHeartbeatAt?: number
  runningJobs: Array<{ jobId: number; attemptNumber: number; connectionId: string }>
}

/**
 * `POST /api/v1/workers/list` (a sluice extension, not in Airbyte's API): the live worker
 * processes and the attempts each one runs. With a worker registry (PostgreSQL) every
 * `sluice worker` that heartbeats recently is listed, idle or not; workers that do not register
 * (embedded in `sluice serve`, or the single SQLite process) are derived from running attempts.
 */
export function registerWorkerRoutes(app: FastifyInstance, deps: ApiDeps): void {
  postRoute(app, 'workers/list', { summary: 'List live workers and their running jobs (sluice extension).', requestSchema: objectSchema({}) }, async () => {
    const derived = await fromRunningAttempts(deps)
    if (!deps.workers) return { workers: derived }
    const registered = (await deps.workers.list(WORKER_STALE_AFTER_MS)).map(toRead)
    // Workers embedded in `sluice serve` do not register; they still show up through their attempts.
    const known = new Set(registered.map((w) => w.workerId))
    return { workers: [...registered, ...derived.filter((w) => !known.has(w.workerId))] }
  })
}

function toRead(w: WorkerInfo): WorkerRead {
  return {
    workerId: w.workerId,
    hostname: w.hostname,
    pid: w.pid,
    concurrency: w.concurrency,
    status: w.status,
    startedAt: Math.floor(w.startedAt / 1000),
    lastHeartbeatAt: Math.floor(w.heartbeatAt / 1000),
    runningJobs: w.runningAttempts.map((r) => ({ jobId: r.jobId, attemptNumber: r.attemptNumber, connectionId: r.connectionId })),
  }
}

async function fromRunningAttempts(deps: ApiDeps): Promise<WorkerRead[]> {
  const { jobs } = await deps.jobStore.listJobs({ statuses: ['running'], orderByMethod: 'ASC' })
  const byWorker = new Map<string, WorkerRead>()
  for (const job of jobs) {
    for (const attempt of await deps.jobStore.listAttempts(job.id)) {
      if (attempt.status !== 'running' || attempt.workerId === undefined) continue
      let read = byWorker.get(attempt.workerId)
      if (!read) {
        read = { workerId: attempt.workerId, status: 'running', runningJobs: [] }
        byWorker.set(attempt.workerId, read)
      }
      read.runningJobs.push({ jobId: job.id, attemptNumber: attempt.attemptNumber, connectionId: job.configId })
    }
  }
  return [...byWorker.values()]
}
