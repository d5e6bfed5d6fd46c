import type { WorkerInfo, WorkerRegistry, WorkerStatus } from '../worker-registry.js'
import type { PostgresDatabase } from './postgres-database.js'

interface WorkerRow {
  worker_id: string
  hostname: string
  pid: number
  concurrency: number
  status: WorkerStatus
  started_at: number
  heartbeat_at: number
  running: WorkerInfo['runningAttempts'] | null
}

/** A registry row this much older than its last heartbeat is deleted. */
const DEAD_WORKER_ROW_TTL_MS = 24 * 3_600_000

/** WorkerRegistry in the shared database, so any API process can list every worker. */
export class PostgresWorkerRegistry implements WorkerRegistry {
  readonly #db: PostgresDatabase
  readonly #now: () => number

  constructor(db: PostgresDatabase, options: { now?: () => number } = {}) {
    this.#db = db
    this.#now = options.now ?? Date.now
  }

  async register(worker: Pick<WorkerInfo, 'workerId' | 'hostname' | 'pid' | 'concurrency'>): Promise<void> {
    const now = this.#now()
    // Rows of workers that died without deregistering (kill -9) are swept when a worker starts.
    await this.#db.query(`DELETE FROM sluice_workers WHERE heartbeat_at < $1`, [now - DEAD_WORKER_ROW_TTL_MS])
    await this.#db.query(
      `INSERT INTO sluice_workers (worker_id, hostname, pid, concurrency, status, started_at, heartbeat_at)
       VALUES ($1, $2, $3, $4, 'running', $5, $5)
       ON CONFLICT (worker_id) DO UPDATE SET hostname = EXCLUDED.hostname, pid = EXCLUDED.pid,
         concurrency = EXCLUDED.concurrency, status = 'running', started_at = EXCLUDED.started_at, heartbeat_at = EXCLUDED.heartbeat_at`,
      [worker.workerId, worker.hostname, worker.pid, worker.concurrency, now],
    )
  }

  async beat(workerId: string, status?: WorkerStatus): Promise<void> {
    await this.#db.query(`UPDATE sluice_workers SET heartbeat_at = $2, status = COALESCE($3, status) WHERE worker_id = $1`, [
      workerId,
      this.#now(),
      status ?? null,
    ])
  }

  async deregister(workerId: string): Promise<void> {
    await this.#db.query(`DELETE FROM sluice_workers WHERE worker_id = $1`, [workerId])
  }

  async list(staleAfterMs: number): Promise<WorkerInfo[]> {
    const rows = await this.#db.query<WorkerRow>(
      `SELECT w.*, (
         SELECT json_agg(json_build_object('jobId', a.job_id, 'attemptNumber', a.attempt_number,
                  'connectionId', j.config_id, 'leaseExpiresAt', a.lease_expires_at) ORDER BY a.job_id)
         FROM sluice_attempts a JOIN sluice_jobs j ON j.id = a.job_id
         WHERE a.worker_id = w.worker_id AND a.status = 'running') AS running
       FROM sluice_workers w WHERE w.heartbeat_at > $1 ORDER BY w.started_at, w.worker_id`,
      [this.#now() - staleAfterMs],
    )
    return rows.map((r) => ({
      workerId: r.worker_id,
      hostname: r.hostname,
      pid: r.pid,
      concurrency: r.concurrency,
      status: r.status,
      startedAt: Number(r.started_at),
      heartbeatAt: Number(r.heartbeat_at),
      runningAttempts: r.running ?? [],
    }))
  }
}
