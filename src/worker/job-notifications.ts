import type { Logger } from 'pino'
import type { NotificationTrigger } from '../notifications/notification-settings.js'
import type { Notifier } from '../notifications/notifier.js'
import type { ConfigStore } from '../store/config-store.js'
import type { JobRecord } from '../store/job-store.js'

/** What a job's notification says beyond the connection: counts and the failure or disable reason. */
export interface JobNotice {
  recordsSynced?: number
  bytesSynced?: number
  detail?: string
  /** A schema check's notification: the changes instead of the job's counts. */
  schemaChange?: { breaking: boolean; changes: string[] }
}

/**
 * Sends the workspace's notifications about a sync's outcome (success, failure, the connection
 * disabled after failing) and its schema check, in the background: a slow or failing webhook
 * never holds a worker slot or fails the job. `drain()` waits for those in flight (graceful shutdown).
 */
export class JobNotifications {
  readonly #configStore: ConfigStore
  readonly #notifier: Notifier
  readonly #logger: Logger | undefined
  readonly #inFlight = new Set<Promise<void>>()

  constructor(configStore: ConfigStore, notifier: Notifier, logger: Logger | undefined) {
    this.#configStore = configStore
    this.#notifier = notifier
    this.#logger = logger
  }

  /** Queues the notification of `trigger` for the job's connection (sync and refresh jobs only). */
  send(job: JobRecord, trigger: NotificationTrigger, notice: JobNotice = {}): void {
    if (job.configType !== 'sync' && job.configType !== 'refresh') return
    const sending = this.#send(job, trigger, notice)
      .catch((err: unknown) => this.#logger?.warn({ err, jobId: job.id, trigger }, 'could not send the notification'))
      .finally(() => this.#inFlight.delete(sending))
    this.#inFlight.add(sending)
  }

  /** Waits for the notifications being sent. */
  async drain(): Promise<void> {
    await Promise.all([...this.#inFlight])
  }

  async #send(job: JobRecord, trigger: NotificationTrigger, notice: JobNotice): Promise<void> {
    const connection = await this.#configStore.getConnection(job.configId)
    if (connection === undefined) return
    const workspace = await this.#configStore.getWorkspace(connection.workspaceId)
    if (workspace === undefined) return
    const [source, destination] = await Promise.all([this.#configStore.getActor('source', connection.sourceId), this.#configStore.getActor('destination', connection.destinationId)])
    await this.#notifier.notify(workspace, {
      trigger,
      connection: { connectionId: connection.connectionId, name: connection.name },
      ...(source ? { sourceName: source.name } : {}),
      ...(destination ? { destinationName: destination.name } : {}),
      ...(notice.schemaChange !== undefined
        ? { schemaChange: notice.schemaChange }
        : { job: { id: job.id, recordsSynced: notice.recordsSynced ?? 0, bytesSynced: notice.bytesSynced ?? 0 } }),
      ...(notice.detail !== undefined ? { detail: notice.detail } : {}),
    })
  }
}
