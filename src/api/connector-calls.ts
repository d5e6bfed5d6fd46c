import { randomUUID } from 'node:crypto'
import type { ConnectorContext, ConnectorLogger, RunOptions } from '../protocol/index.js'
import { isSluiceError } from '../errors.js'

/** Airbyte's `JobConfigType` values of synchronous (check/discover/spec) jobs. */
export type SynchronousConfigType = 'check_connection_source' | 'check_connection_destination' | 'discover_schema' | 'get_spec'

/** Airbyte's `SynchronousJobRead` (times in epoch ms, id a uuid). */
export interface SynchronousJobRead {
  id: string
  configType: SynchronousConfigType
  configId?: string
  createdAt: number
  endedAt: number
  succeeded: boolean
  connectorConfigurationUpdated: boolean
  logType: 'formatted'
  logs: { logLines: string[] }
  failureReason?: Record<string, unknown>
}

/** The outcome of one connector call: its value, or the error it ended with. */
export type CallOutcome<T> = { ok: true; value: T; job: SynchronousJobRead } | { ok: false; error: Error; message: string; job: SynchronousJobRead }

export interface ConnectorCallOptions {
  configType: SynchronousConfigType
  configId?: string
  context: ConnectorContext
  timeoutMs: number
  /** Secret values to scrub from messages and log lines before they leave the server. */
  secrets: readonly string[]
}

/** Replaces every occurrence of a secret value by the mask. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text
  for (const s of secrets) if (s.length >= 3) out = out.split(s).join('**********')
  return out
}

/**
 * Runs a connector verb (check, discover) with a deadline and a line-collecting logger, and
 * describes it as a SynchronousJobRead. Never throws: a failure comes back as `ok: false` with
 * a scrubbed message, so the API can answer 200 with status "failed" as Airbyte does.
 */
export async function callConnector<T>(options: ConnectorCallOptions, fn: (opts: RunOptions) => Promise<T>): Promise<CallOutcome<T>> {
  const createdAt = Date.now()
  const lines: string[] = []
  const log = (level: string) => (message: string) => {
    lines.push(`${new Date().toISOString()} ${level} ${scrub(message, options.secrets)}`)
  }
  const logger: ConnectorLogger = { debug: log('DEBUG'), info: log('INFO'), warn: log('WARN'), error: log('ERROR') }
  // A ref'd timer (AbortSignal.timeout is unref'd): the request is pending, the process must wait for it.
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(new Error('timeout')), options.timeoutMs)
  const signal = controller.signal
  const job = (succeeded: boolean): SynchronousJobRead => {
    const read: SynchronousJobRead = {
      id: randomUUID(),
      configType: options.configType,
      createdAt,
      endedAt: Date.now(),
      succeeded,
      connectorConfigurationUpdated: false,
      logType: 'formatted',
      logs: { logLines: lines },
    }
    if (options.configId !== undefined) read.configId = options.configId
    return read
  }
  try {
    const value = await Promise.race([
      fn({ signal, logger, context: options.context }),
      new Promise<never>((_, reject) => {
        // A connector that ignores the signal must not hold the request forever.
        signal.addEventListener('abort', () => reject(new Error(`timed out after ${Math.round(options.timeoutMs / 1000)} s`)), { once: true })
      }),
    ])
    return { ok: true, value, job: job(true) }
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e))
    const message = scrub(signal.aborted ? `The connector timed out after ${Math.round(options.timeoutMs / 1000)} s.` : error.message, options.secrets)
    lines.push(`${new Date().toISOString()} ERROR ${message}`)
    const read = job(false)
    read.failureReason = {
      failureOrigin: 'source',
      failureType: isSluiceError(error) ? error.failureType : 'system_error',
      externalMessage: message,
      retryable: isSluiceError(error) && error.failureType === 'transient_error',
      timestamp: Date.now(),
    }
    if (options.configType === 'check_connection_destination') read.failureReason.failureOrigin = 'destination'
    return { ok: false, error, message, job: read }
  } finally {
    clearTimeout(timer)
  }
}
