import { webhookRequest } from '../domain/operator-problem.js'
import type { SecretService } from '../secrets/secret-service.js'
import type { OperationRecord, WebhookConfigRecord } from '../store/config-store.js'

/** Where operation runs report. */
export interface OperationLog {
  info(message: string): void
  warn(message: string): void
  addSecrets(values: readonly string[]): void
}

export interface WebhookRunOptions {
  secrets: SecretService
  log: OperationLog
  signal: AbortSignal
  /** Attempts per webhook (first try included). */
  attempts?: number
  timeoutMs?: number
  /** Wait before retry n (1-based), ms. */
  backoffMs?: (retry: number) => number
  fetch?: typeof fetch
}

/**
 * Runs the webhook operations of a connection after a successful sync, in order. A webhook that
 * still fails after its retries is logged as a warning and does not fail the job: its records are
 * already committed (Airbyte records it the same way, as a failed operation of a succeeded sync).
 * Returns the names of the operations that failed.
 */
export async function runWebhookOperations(
  operations: readonly OperationRecord[],
  webhookConfigs: readonly WebhookConfigRecord[],
  opts: WebhookRunOptions,
): Promise<string[]> {
  const failed: string[] = []
  const attempts = opts.attempts ?? 4
  const send = opts.fetch ?? fetch
  for (const op of operations) {
    if (op.operatorConfiguration.operatorType !== 'webhook') continue
    const request = webhookRequest(op.operatorConfiguration)
    const config = 'url' in request ? webhookConfigs.find((w) => w.id === request.webhookConfigId) : undefined
    if (!('url' in request) || config === undefined) {
      opts.log.warn(`Operation "${op.name}" was not run: ${'url' in request ? `its webhook config ${request.webhookConfigId} no longer exists in the workspace` : `${request.propertyPath} ${request.message}`}.`)
      failed.push(op.name)
      continue
    }
    const token = config.authToken === undefined ? undefined : String(opts.secrets.decrypt(config.authToken))
    if (token !== undefined) opts.log.addSecrets([token])
    const headers: Record<string, string> = {}
    if (token !== undefined) headers.authorization = `Bearer ${token}`
    if (request.body !== undefined) headers['content-type'] = 'application/json'
    opts.log.info(`Running operation "${op.name}": ${request.body === undefined ? 'GET' : 'POST'} ${request.url}`)
    let outcome = ''
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (opts.signal.aborted) {
        outcome = 'the job was cancelled'
        break
      }
      try {
        const res = await send(request.url, {
          method: request.body === undefined ? 'GET' : 'POST',
          headers,
          // A 3xx is an answer to report, not a hop to take with the workspace's token.
          redirect: 'manual',
          ...(request.body === undefined ? {} : { body: request.body }),
          signal: AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs ?? 30_000)]),
        })
        const text = (await res.text()).slice(0, 300)
        if (res.status >= 200 && res.status < 300) {
          outcome = ''
          opts.log.info(`Operation "${op.name}" succeeded (HTTP ${res.status}).`)
          break
        }
        outcome = `HTTP ${res.status} ${text}`.trim()
      } catch (e) {
        outcome = e instanceof Error ? e.message : String(e)
      }
      if (attempt < attempts && !opts.signal.aborted) {
        opts.log.warn(`Operation "${op.name}" attempt ${attempt} failed (${outcome}); retrying.`)
        await new Promise((resolve) => setTimeout(resolve, (opts.backoffMs ?? ((n) => Math.min(5000, 1000 * n)))(attempt)))
      }
    }
    if (outcome !== '') {
      opts.log.warn(`Operation "${op.name}" failed: ${outcome}. The sync's records are committed; the job stays succeeded.`)
      failed.push(op.name)
    }
  }
  return failed
}
