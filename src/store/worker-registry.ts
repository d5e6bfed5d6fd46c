/**
 * Worker registry port: which worker processes are alive and what they run. Each worker
 * registers at start, refreshes its row on every heartbeat and deregisters on shutdown; a row
 * whose heartbeat is older than the stale window belongs to a dead process. Adapter:
 * postgres/ (shared by all processes). In single-process SQLite mode the worker list is derived
 * from running attempts instead.
 */
export type WorkerStatus = 'running' | 'stopping'

export interface WorkerInfo {
  workerId: string
  hostname: string
  pid: number
  concurrency: number
  status: WorkerStatus
  /** epoch ms */
  startedAt: number
  /** epoch ms */
  heartbeatAt: number
  runningAttempts: Array<{ jobId: number; attemptNumber: number; connectionId: string; leaseExpiresAt?: number }>
}

export interface WorkerRegistry {
  register(worker: Pick<WorkerInfo, 'workerId' | 'hostname' | 'pid' | 'concurrency'>): Promise<void>
  /** Refreshes heartbeatAt (and status when given). */
  beat(workerId: string, status?: WorkerStatus): Promise<void>
  deregister(workerId: string): Promise<void>
  /** Workers whose heartbeat is newer than `staleAfterMs`, oldest first, with their running attempts. */
  list(staleAfterMs: number): Promise<WorkerInfo[]>
}
