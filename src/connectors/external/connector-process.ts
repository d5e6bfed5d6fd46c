import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable, Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import type { ConnectorLogger } from '../../protocol/index.js'
import { SluiceError } from '../../errors.js'
import { imageName, type ConnectorFile, type ConnectorRunner, type ImageRef, type LaunchPlan, type ResourceRequirements } from './connector-runner.js'
import type { SecretMasker } from './secret-masker.js'

/** Longest stderr line kept in the attempt log. */
const MAX_LOG_LINE = 4000
/** stderr lines kept for an error message when the connector dies without a TRACE error. */
const STDERR_TAIL = 10

export interface ProcessRequest {
  runner: ConnectorRunner
  image: ImageRef
  /** `source` or `destination`, for log lines. */
  role: string
  command: 'spec' | 'check' | 'discover' | 'read' | 'write'
  /** Files with their JSON content (configs hold secrets: written 0600, never passed in argv or env). */
  files: Array<ConnectorFile & { content: unknown }>
  resources: ResourceRequirements
  logger: ConnectorLogger
  masker: SecretMasker
  /** Keep stdin open (destinations' `write`). */
  stdin: boolean
  /** Between SIGTERM and SIGKILL on cancel. */
  killGraceMs: number
  /** The wait between SIGTERM and SIGKILL (tests replace it). */
  graceWait?: (ms: number) => Promise<void>
  /** Parent of the per-run temp dir (default the OS temp dir). */
  tmpRoot?: string
}

export interface ProcessExit {
  code: number | null
  signal: NodeJS.Signals | null
}

/**
 * One run of a connector command: its files in a private temp dir (removed at dispose), the
 * process, its stderr copied line by line (secrets masked) to the attempt log, and cancellation
 * (SIGTERM, then after a grace period SIGKILL and, for containers, `docker kill`).
 */
export class ConnectorProcess {
  readonly label: string
  readonly stdout: Readable
  readonly stdin: Writable | undefined
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ProcessExit>
  #exit: ProcessExit | undefined
  #launchError: Error | undefined
  #cancelled = false
  readonly #child: ChildProcess
  readonly #plan: LaunchPlan
  readonly #request: ProcessRequest
  readonly #dir: string
  readonly #stderrTail: string[] = []
  #stderrDone: Promise<void>

  private constructor(request: ProcessRequest, plan: LaunchPlan, dir: string, child: ChildProcess) {
    this.#request = request
    this.#plan = plan
    this.#dir = dir
    this.#child = child
    this.label = `${request.role} ${imageName(request.image)}`
    if (child.stdout === null || child.stderr === null) throw new Error('connector process without pipes')
    this.stdout = child.stdout
    this.stdin = child.stdin ?? undefined
    // A destination that exits early makes writes fail with EPIPE: the exit status tells why.
    this.stdin?.on('error', () => undefined)
    this.exited = new Promise<ProcessExit>((resolve) => {
      child.once('error', (e) => {
        this.#launchError = e
        this.#exit = { code: null, signal: null }
        resolve(this.#exit)
      })
      child.once('exit', (code, signal) => {
        this.#exit = { code, signal }
        resolve(this.#exit)
      })
    })
    this.#stderrDone = this.#copyStderr(child.stderr)
  }

  /** Writes the files, prepares the image and starts the command. */
  static async start(request: ProcessRequest, signal: AbortSignal): Promise<ConnectorProcess> {
    await request.runner.prepare(request.image, request.logger, signal)
    const dir = await mkdtemp(join(request.tmpRoot ?? tmpdir(), 'sluice-connector-'))
    try {
      for (const f of request.files) await writeFile(join(dir, f.name), JSON.stringify(f.content), { mode: 0o600, flag: 'wx' })
      const plan = await request.runner.plan({ image: request.image, command: request.command, files: request.files, dir, resources: request.resources, runId: randomUUID().slice(0, 8) })
      request.logger.info(`${request.role}: running ${request.runner.kind === 'local' ? plan.file : `${request.runner.kind} ${imageName(request.image)}`} ${request.command}`)
      // Its own process group, so a cancel reaches the connector's children too.
      const child = spawn(plan.file, plan.args, { env: plan.env, stdio: [request.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], detached: true })
      return new ConnectorProcess(request, plan, dir, child)
    } catch (e) {
      await rm(dir, { recursive: true, force: true })
      throw e
    }
  }

  async #copyStderr(stderr: Readable): Promise<void> {
    let rest = ''
    const emit = (l: string): void => {
      const text = this.#request.masker.mask(l.length > MAX_LOG_LINE ? `${l.slice(0, MAX_LOG_LINE)}...` : l).trimEnd()
      if (text === '') return
      this.#stderrTail.push(text)
      if (this.#stderrTail.length > STDERR_TAIL) this.#stderrTail.shift()
      this.#request.logger.info(`${this.#request.role} stderr: ${text}`)
    }
    try {
      for await (const chunk of stderr) {
        const lines = (rest + (chunk as Buffer).toString('utf8')).split('\n')
        rest = lines.pop() ?? ''
        // A line without end is cut, not buffered forever.
        if (rest.length > MAX_LOG_LINE) {
          emit(rest)
          rest = ''
        }
        for (const l of lines) emit(l)
      }
    } catch {
      // stderr closed with the process: nothing more to copy
    }
    if (rest !== '') emit(rest)
  }

  get cancelled(): boolean {
    return this.#cancelled
  }

  /** The last stderr lines (masked), for error messages. */
  stderrTail(): string[] {
    return [...this.#stderrTail]
  }

  #signal(signal: NodeJS.Signals): void {
    const pid = this.#child.pid
    if (pid === undefined || this.#exit !== undefined) return
    try {
      process.kill(-pid, signal)
    } catch {
      try {
        this.#child.kill(signal)
      } catch {
        // already gone
      }
    }
  }

  /**
   * Stops the connector: SIGTERM now (the docker client forwards it to the container), then,
   * if it is still running after the grace period, SIGKILL and `docker kill`. Resolves once
   * the process has exited.
   */
  async cancel(): Promise<void> {
    if (this.#exit !== undefined) return
    if (!this.#cancelled) {
      this.#cancelled = true
      this.#request.logger.info(`${this.label}: stopping (SIGTERM)`)
      this.#signal('SIGTERM')
      const wait = this.#request.graceWait ?? ((ms: number) => sleep(ms, undefined, { ref: false }))
      const killed = Promise.race([this.exited.then(() => false), wait(this.#request.killGraceMs).then(() => true)])
      if (await killed) {
        if (this.#exit === undefined) {
          this.#request.logger.warn(`${this.label}: still running ${this.#request.killGraceMs} ms after SIGTERM: killing it`)
          await this.#request.runner.kill(this.#plan)
          this.#signal('SIGKILL')
        }
      }
    }
    await this.exited
  }

  /** Waits for the exit and the end of stderr. */
  async finished(): Promise<ProcessExit> {
    const exit = await this.exited
    await this.#stderrDone
    return exit
  }

  /** Stops the process if it still runs and removes the run's files. */
  async dispose(): Promise<void> {
    try {
      if (this.#exit === undefined) {
        this.stdout.destroy()
        await this.cancel()
      }
      await this.#stderrDone
    } finally {
      await rm(this.#dir, { recursive: true, force: true })
    }
  }

  /** The launch error as a SluiceError, when the command could not be started. */
  launchFailure(): SluiceError | undefined {
    const e = this.#launchError
    if (e === undefined) return undefined
    return new SluiceError('SLUICE_ERR_CONNECTOR_LAUNCH', `cannot start ${this.label} (${this.#plan.file}): ${(e as NodeJS.ErrnoException).code ?? e.message}`, { cause: e })
  }
}
