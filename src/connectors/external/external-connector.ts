import type { ConnectionStatus, ConnectorConfig, ConnectorLogger, ConnectorSpecification, LogLevel, RunOptions } from '../../protocol/index.js'
import { cancelledError, SluiceError, type FailureType } from '../../errors.js'
import { protocolError, readAirbyteMessages, type MessageReaderOptions } from './airbyte-message-reader.js'
import { specFromWire, type WireMessage, type WireTrace } from './airbyte-wire.js'
import { ConnectorProcess, type ProcessExit, type ProcessRequest } from './connector-process.js'
import {
  createRunner,
  imageName,
  requirementsFor,
  runnerSettingsFromEnv,
  type ConnectorFile,
  type ConnectorRunner,
  type DefinitionResourceRequirements,
  type ImageRef,
} from './connector-runner.js'
import { SecretMasker, specSecretValues } from './secret-masker.js'

/** Settings shared by external sources and destinations. */
export interface ExternalRunSettings {
  /** Default: the runner SLUICE_CONNECTOR_RUNNER (and the other SLUICE_CONNECTOR_* variables) select. */
  runner?: ConnectorRunner | (() => Promise<ConnectorRunner>)
  resources?: DefinitionResourceRequirements
  /** SIGTERM -> SIGKILL delay on cancel (default SLUICE_CONNECTOR_KILL_GRACE_MS or 10 s). */
  killGraceMs?: number
  /** The wait between SIGTERM and SIGKILL (tests replace it). */
  graceWait?: (ms: number) => Promise<void>
  /** Parent of the per-run temp dirs (default SLUICE_CONNECTOR_TMP_DIR or the OS temp dir). */
  tmpRoot?: string
  /** Batch and line bounds of the output reader. */
  reader?: Omit<MessageReaderOptions, 'label'>
  /** Lines that are not Airbyte messages tolerated per run before it fails (default 100). */
  maxTextLines?: number
}

export interface ExternalConnectorOptions extends ExternalRunSettings {
  image: ImageRef
  spec: ConnectorSpecification
}

type Command = ProcessRequest['command']

const JOB_TYPES = { spec: 'get_spec', check: 'check_connection', discover: 'discover_schema', read: 'sync', write: 'sync' } as const

const LEVELS: Record<string, LogLevel> = { FATAL: 'FATAL', ERROR: 'ERROR', WARN: 'WARN', WARNING: 'WARN', INFO: 'INFO', DEBUG: 'DEBUG', TRACE: 'TRACE' }

/** Writes a connector's LOG message to the attempt log at its level. */
export function logAt(logger: ConnectorLogger, level: string, text: string): void {
  switch (LEVELS[level.toUpperCase()] ?? 'INFO') {
    case 'FATAL':
    case 'ERROR':
      logger.error(text)
      return
    case 'WARN':
      logger.warn(text)
      return
    case 'INFO':
      logger.info(text)
      return
    default:
      logger.debug(text)
  }
}

/** A TRACE error as the SluiceError it stands for (its message and failure type). */
export function traceFailure(error: NonNullable<WireTrace['error']>, label: string, masker: SecretMasker): SluiceError {
  const failureType: FailureType = error.failure_type === 'config_error' ? 'config_error' : error.failure_type === 'transient_error' ? 'transient_error' : 'system_error'
  const code = failureType === 'config_error' ? 'SLUICE_ERR_CONNECTOR_CONFIG' : failureType === 'transient_error' ? 'SLUICE_ERR_CONNECTOR_TRANSIENT' : 'SLUICE_ERR_CONNECTOR_SYSTEM'
  const message = masker.mask(error.message || error.internal_message || `${label} reported an error`)
  return new SluiceError(code, message, { failureType })
}

/**
 * What one run's output said besides data: LOG and stray lines go to the attempt log (masked),
 * the first TRACE error is kept, and at the end `failure()` turns the exit status into the
 * attempt's error.
 */
export class RunOutput {
  #traceError: NonNullable<WireTrace['error']> | undefined
  #textLines = 0
  readonly #label: string
  readonly #logger: ConnectorLogger
  readonly masker: SecretMasker
  readonly #maxTextLines: number

  constructor(label: string, logger: ConnectorLogger, masker: SecretMasker, maxTextLines: number) {
    this.#label = label
    this.#logger = logger
    this.masker = masker
    this.#maxTextLines = maxTextLines
  }

  log(level: string, message: string, prefix: string): void {
    logAt(this.#logger, level, `${prefix}: ${this.masker.mask(message)}`)
  }

  /** A line that is not an Airbyte message: logged as Airbyte does, up to a limit. */
  text(line: string, prefix: string): void {
    this.#textLines++
    if (this.#textLines > this.#maxTextLines) {
      throw protocolError(`${this.#label} wrote more than ${this.#maxTextLines} lines that are not Airbyte protocol messages (the last: ${this.masker.mask(line.slice(0, 200))})`)
    }
    this.#logger.info(`${prefix}: ${this.masker.mask(line.length > 4000 ? `${line.slice(0, 4000)}...` : line)}`)
  }

  /** Handles LOG and TRACE ERROR/ANALYTICS; returns false for other messages. */
  common(m: WireMessage, prefix: string): boolean {
    if (m.type === 'LOG' && m.log) {
      this.log(m.log.level, m.log.message, prefix)
      return true
    }
    if (m.type === 'TRACE' && m.trace?.type === 'ERROR' && m.trace.error) {
      this.#traceError ??= m.trace.error
      this.#logger.error(`${prefix}: ${this.masker.mask(m.trace.error.message ?? '')}${m.trace.error.failure_type ? ` (${m.trace.error.failure_type})` : ''}`)
      if (m.trace.error.stack_trace) this.#logger.debug(`${prefix}: ${this.masker.mask(m.trace.error.stack_trace)}`)
      return true
    }
    if (m.type === 'TRACE' && m.trace?.type === 'ANALYTICS') {
      this.#logger.debug(`${prefix}: analytics ${this.masker.mask(JSON.stringify(m.trace.analytics ?? {}))}`)
      return true
    }
    return false
  }

  get traceError(): NonNullable<WireTrace['error']> | undefined {
    return this.#traceError
  }

  /**
   * The run's error, if it failed: a cancel, a start failure, a TRACE error (even with exit 0, as
   * Airbyte), or a non-zero exit (with the last stderr lines).
   */
  failure(proc: ConnectorProcess, exit: ProcessExit, signal: AbortSignal): SluiceError | undefined {
    if (signal.aborted || proc.cancelled) return cancelledError()
    const launch = proc.launchFailure()
    if (launch) return launch
    if (this.#traceError) return traceFailure(this.#traceError, this.#label, this.masker)
    if (exit.code === 0) return undefined
    const how = exit.code === null ? `was killed by ${exit.signal ?? 'a signal'}` : `exited with code ${exit.code}`
    const oom = exit.code === 137 ? ' (killed: out of memory? raise the memory limit)' : ''
    const tail = proc.stderrTail().slice(-3).join(' | ')
    return new SluiceError('SLUICE_ERR_CONNECTOR_SYSTEM', `${this.#label} ${how}${oom}${tail ? `: ${tail}` : ''}`)
  }
}

function defaultGrace(): number {
  const v = Number(process.env.SLUICE_CONNECTOR_KILL_GRACE_MS)
  return Number.isFinite(v) && v >= 0 && process.env.SLUICE_CONNECTOR_KILL_GRACE_MS !== '' ? v : 10_000
}

/**
 * What external sources and destinations share: starting a command in the chosen runner with
 * its files, stopping it on abort, and the commands that end in one answer (spec, check,
 * discover).
 */
export class ExternalConnector {
  readonly image: ImageRef
  readonly spec: ConnectorSpecification
  readonly settings: ExternalRunSettings
  #runner: Promise<ConnectorRunner> | undefined

  constructor(options: ExternalConnectorOptions) {
    this.image = options.image
    this.spec = options.spec
    this.settings = options
  }

  runner(): Promise<ConnectorRunner> {
    const r = this.settings.runner
    this.#runner ??= r === undefined ? createRunner(runnerSettingsFromEnv()) : typeof r === 'function' ? r() : Promise.resolve(r)
    return this.#runner
  }

  masker(config: ConnectorConfig | undefined): SecretMasker {
    return new SecretMasker(config ? specSecretValues(this.spec.connectionSpecification, config) : [])
  }

  label(role: string): string {
    return `${role} ${imageName(this.image)}`
  }

  /** Starts a command; an abort of `opts.signal` cancels it. Dispose the process in `finally`. */
  async start(role: string, command: Command, files: Array<ConnectorFile & { content: unknown }>, opts: RunOptions, masker: SecretMasker, stdin = false): Promise<ConnectorProcess> {
    if (opts.signal.aborted) throw cancelledError()
    const request: ProcessRequest = {
      runner: await this.runner(),
      image: this.image,
      role,
      command,
      files,
      resources: requirementsFor(this.settings.resources, JOB_TYPES[command]),
      logger: opts.logger,
      masker,
      stdin,
      killGraceMs: this.settings.killGraceMs ?? defaultGrace(),
      ...(this.settings.graceWait ? { graceWait: this.settings.graceWait } : {}),
    }
    const tmpRoot = this.settings.tmpRoot ?? (process.env.SLUICE_CONNECTOR_TMP_DIR || undefined)
    if (tmpRoot !== undefined) request.tmpRoot = tmpRoot
    const proc = await ConnectorProcess.start(request, opts.signal)
    const onAbort = (): void => void proc.cancel()
    opts.signal.addEventListener('abort', onAbort, { once: true })
    void proc.exited.then(() => opts.signal.removeEventListener('abort', onAbort))
    if (opts.signal.aborted) void proc.cancel()
    return proc
  }

  output(role: string, opts: RunOptions, masker: SecretMasker): RunOutput {
    return new RunOutput(this.label(role), opts.logger, masker, this.settings.maxTextLines ?? 100)
  }

  /**
   * Runs a command to its end and returns the first message of `want` (SPEC, CATALOG or
   * CONNECTION_STATUS). A CONTROL config update is passed to `opts.onConfigUpdate`.
   */
  async answer(role: string, command: 'spec' | 'check' | 'discover', want: WireMessage['type'], config: ConnectorConfig | undefined, opts: RunOptions): Promise<WireMessage | undefined> {
    const masker = this.masker(config)
    const files = config === undefined ? [] : [{ flag: '--config' as const, name: `${role}_config.json`, content: config }]
    const proc = await this.start(role, command, files, opts, masker)
    const out = this.output(role, opts, masker)
    let found: WireMessage | undefined
    try {
      for await (const item of readAirbyteMessages(proc.stdout, { ...this.settings.reader, label: this.label(role) })) {
        if (item.type === 'TEXT') out.text(item.text, role)
        else if (item.type === 'MESSAGE') {
          const m = item.message
          if (out.common(m, role)) continue
          if (m.type === want) found ??= m
          else if (m.type === 'CONTROL') await this.configUpdate(m, opts, masker, role)
        }
      }
      const exit = await proc.finished()
      const failure = out.failure(proc, exit, opts.signal)
      if (failure) throw failure
      if (found === undefined) throw protocolError(`${this.label(role)} ${command} ended without a ${want} message`)
      return found
    } finally {
      await proc.dispose()
    }
  }

  async configUpdate(m: WireMessage, opts: RunOptions, masker: SecretMasker, role: string): Promise<void> {
    const config = m.control?.connectorConfig?.config
    if (m.control?.type !== 'CONNECTOR_CONFIG' || config === null || typeof config !== 'object') return
    masker.add(specSecretValues(this.spec.connectionSpecification, config))
    opts.logger.info(`${role}: the connector updated its configuration${opts.onConfigUpdate ? '; saving it' : ' (not saved: nothing to save it to here)'}`)
    await opts.onConfigUpdate?.(config)
  }

  /** `check`: a TRACE config error or a FAILED status is a failed check; other failures throw. */
  async runCheck(role: string, config: ConnectorConfig, opts: RunOptions): Promise<ConnectionStatus> {
    try {
      const m = await this.answer(role, 'check', 'CONNECTION_STATUS', config, opts)
      const s = m?.connectionStatus
      return { status: s?.status === 'SUCCEEDED' ? 'succeeded' : 'failed', message: this.masker(config).mask(s?.message ?? '') }
    } catch (e) {
      if (e instanceof SluiceError && e.failureType === 'config_error') return { status: 'failed', message: e.message }
      throw e
    }
  }
}

/** Runs `spec` of an image and returns its ConnectorSpecification. */
export async function fetchExternalSpec(image: ImageRef, settings: ExternalRunSettings, opts: RunOptions, role = 'connector'): Promise<ConnectorSpecification> {
  const probe = new ExternalConnector({ ...settings, image, spec: { connectionSpecification: {} } })
  const m = await probe.answer(role, 'spec', 'SPEC', undefined, opts)
  if (!m?.spec || typeof m.spec.connectionSpecification !== 'object') throw protocolError(`${probe.label(role)} spec returned no connectionSpecification`)
  return specFromWire(m.spec)
}
