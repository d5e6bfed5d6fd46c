import { execFile, spawn } from 'node:child_process'
import { constants } from 'node:fs'
import { access } from 'node:fs/promises'
import { delimiter, isAbsolute, join } from 'node:path'
import type { ConnectorLogger } from '../../protocol/index.js'
import { SluiceError } from '../../errors.js'

/** A connector image: `airbyte/source-hubspot` + `4.5.1`. */
export interface ImageRef {
  repository: string
  tag: string
}

export function imageName(image: ImageRef): string {
  return `${image.repository}:${image.tag}`
}

/** Parses `airbyte/source-hubspot:4.5.1` (the tag defaults to `latest`; a registry port is not a tag). */
export function parseImageName(name: string): ImageRef {
  const slash = name.lastIndexOf('/')
  const colon = name.lastIndexOf(':')
  if (colon > slash) return { repository: name.slice(0, colon), tag: name.slice(colon + 1) }
  return { repository: name, tag: 'latest' }
}

/** Airbyte's ResourceRequirements (Kubernetes-style quantities: `0.5`, `2Gi`, `512Mi`). */
export interface ResourceRequirements {
  cpu_request?: string
  cpu_limit?: string
  memory_request?: string
  memory_limit?: string
}

/** A definition's `resourceRequirements`: defaults plus per-job-type overrides (Airbyte's shape). */
export interface DefinitionResourceRequirements {
  default?: ResourceRequirements
  jobSpecific?: Array<{ jobType: string; resourceRequirements: ResourceRequirements }>
}

/** The requirements for one job type: the job-specific entry over the defaults. */
export function requirementsFor(def: DefinitionResourceRequirements | undefined, jobType: 'sync' | 'check_connection' | 'discover_schema' | 'get_spec'): ResourceRequirements {
  const specific = def?.jobSpecific?.find((j) => j.jobType === jobType)?.resourceRequirements
  return { ...(def?.default ?? {}), ...(specific ?? {}) }
}

export const RUNNER_KINDS = ['docker', 'podman', 'local'] as const
export type RunnerKind = (typeof RUNNER_KINDS)[number]

/** Runner settings read from the environment (`SLUICE_CONNECTOR_*`). */
export interface RunnerSettings {
  /** Unset: docker when a daemon answers, else local. */
  kind?: RunnerKind
  /** Directories searched for local executables before PATH. */
  connectorsPath: string[]
  /** Container network mode (default `host`, as Airbyte's docker deployment). */
  network: string
  /** Default limits when the definition has none. */
  memory?: string
  cpus?: string
  /** `--user` for containers (files are 0600 and owned by sluice's user). */
  user?: string
  /** Environment the runner itself starts from (PATH, DOCKER_HOST...): never passed whole to a connector. */
  env: NodeJS.ProcessEnv
}

export function runnerSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): RunnerSettings {
  const kind = env.SLUICE_CONNECTOR_RUNNER?.trim()
  if (kind && !(RUNNER_KINDS as readonly string[]).includes(kind)) {
    throw new SluiceError('SLUICE_ERR_INVALID_CONFIG', `SLUICE_CONNECTOR_RUNNER must be one of ${RUNNER_KINDS.join(', ')} (got "${kind}")`)
  }
  const settings: RunnerSettings = {
    connectorsPath: (env.SLUICE_CONNECTORS_PATH ?? '').split(':').filter((p) => p !== ''),
    network: env.SLUICE_CONNECTOR_NETWORK || 'host',
    env,
  }
  if (kind) settings.kind = kind as RunnerKind
  if (env.SLUICE_CONNECTOR_MEMORY) settings.memory = env.SLUICE_CONNECTOR_MEMORY
  if (env.SLUICE_CONNECTOR_CPUS) settings.cpus = env.SLUICE_CONNECTOR_CPUS
  if (env.SLUICE_CONNECTOR_USER) settings.user = env.SLUICE_CONNECTOR_USER
  return settings
}

/**
 * The only variables a connector process (or the docker client) inherits: enough to find
 * programs and a home, never sluice's own settings (SLUICE_SECRET_KEY, database URLs, tokens).
 */
const INHERITED_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'USER', 'SYSTEMROOT', 'DOCKER_HOST', 'DOCKER_CONFIG', 'DOCKER_CONTEXT', 'DOCKER_CERT_PATH', 'DOCKER_TLS_VERIFY', 'CONTAINER_HOST', 'CONTAINERS_CONF', 'XDG_RUNTIME_DIR']

export function childEnv(from: NodeJS.ProcessEnv, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const k of INHERITED_ENV) if (from[k] !== undefined) env[k] = from[k]
  return { ...env, ...extra }
}

/** One file handed to the connector: written 0600 in the run's temp dir, passed as `flag path`. */
export interface ConnectorFile {
  flag: '--config' | '--catalog' | '--state'
  name: string
}

/** How to start one connector command. */
export interface LaunchPlan {
  file: string
  args: string[]
  env: NodeJS.ProcessEnv
  /** Containers only: the name `docker kill` uses on cancel. */
  containerName?: string
}

export interface LaunchRequest {
  image: ImageRef
  /** `spec`, `check`, `discover`, `read`, `write`. */
  command: string
  files: ConnectorFile[]
  /** Host directory holding the files. */
  dir: string
  resources: ResourceRequirements
  /** Unique per run (containers are named after it). */
  runId: string
}

export interface ConnectorRunner {
  readonly kind: RunnerKind
  /** Makes the image available (containers: pull with progress in the log). */
  prepare(image: ImageRef, logger: ConnectorLogger, signal: AbortSignal): Promise<void>
  plan(request: LaunchRequest): Promise<LaunchPlan>
  /** Forcibly stops what `plan` started beyond the client process (containers: `docker kill`). */
  kill(plan: LaunchPlan): Promise<void>
}

/** Variables Airbyte sets for connectors (no secrets). */
function connectorVariables(image: ImageRef): Record<string, string> {
  return { USE_STREAM_CAPABLE_STATE: 'true', WORKER_CONNECTOR_IMAGE: imageName(image), DEPLOYMENT_MODE: 'OSS' }
}

/**
 * Runs connectors from executables on this machine: `airbyte/source-hubspot` runs
 * `source-hubspot` (what `pip install airbyte-source-hubspot` or PyAirbyte install), looked up in
 * SLUICE_CONNECTORS_PATH then PATH.
 */
export class LocalRunner implements ConnectorRunner {
  readonly kind = 'local' as const
  readonly #settings: RunnerSettings

  constructor(settings: RunnerSettings) {
    this.#settings = settings
  }

  async prepare(image: ImageRef): Promise<void> {
    await this.executable(image)
  }

  /** The executable for an image, or a launch error naming where it looked. */
  async executable(image: ImageRef): Promise<string> {
    const name = image.repository.slice(image.repository.lastIndexOf('/') + 1)
    const dirs = [...this.#settings.connectorsPath, ...(this.#settings.env.PATH ?? '').split(delimiter).filter((p) => p !== '')]
    for (const dir of dirs) {
      if (!isAbsolute(dir)) continue
      const candidate = join(dir, name)
      try {
        await access(candidate, constants.X_OK)
        return candidate
      } catch {
        // not here: try the next directory
      }
    }
    throw new SluiceError('SLUICE_ERR_CONNECTOR_LAUNCH', `No executable named ${name} for ${imageName(image)} in SLUICE_CONNECTORS_PATH or PATH (install the connector, e.g. \`pip install airbyte-${name}\`, or use a container runner).`)
  }

  async plan(request: LaunchRequest): Promise<LaunchPlan> {
    const args = [request.command]
    for (const f of request.files) args.push(f.flag, join(request.dir, f.name))
    return { file: await this.executable(request.image), args, env: childEnv(this.#settings.env, connectorVariables(request.image)) }
  }

  async kill(): Promise<void> {}
}

/** Where the run's files appear inside a container (mounted read-only). */
export const CONTAINER_FILES_DIR = '/sluice/run'

/** Kubernetes quantities to docker's: `2Gi` -> `2g`, `512Mi` -> `512m`, `1G` -> `1000m`... */
export function dockerMemory(quantity: string): string {
  const m = /^(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|Ti|K|M|G|T|k|m|g|b)?$/.exec(quantity.trim())
  if (!m) return quantity
  const n = Number(m[1])
  switch (m[2]) {
    case 'Ki':
      return `${Math.ceil(n)}k`
    case 'Mi':
      return `${Math.ceil(n)}m`
    case 'Gi':
      return Number.isInteger(n) ? `${n}g` : `${Math.ceil(n * 1024)}m`
    case 'Ti':
      return `${Math.ceil(n * 1024)}g`
    case 'K':
      return `${Math.ceil(n * 1000)}b`
    case 'M':
      return `${Math.ceil((n * 1000 * 1000) / 1024)}k`
    case 'G':
      return `${Math.ceil((n * 1000 * 1000) / 1024)}m`
    case 'T':
      return `${Math.ceil((n * 1000 * 1000) / 1024)}g`
    default:
      return m[2] === undefined ? `${Math.ceil(n)}b` : quantity
  }
}

function runClient(file: string, args: string[], env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env, signal, maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      // A missing client (ENOENT) or an abort has no numeric exit code: count it as a failure.
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1
      resolve({ code, stdout: String(stdout), stderr: String(stderr) })
    })
  })
}

/**
 * Runs connector images with the docker (or podman: same CLI) client, as Airbyte's docker
 * deployment does: `run --rm -i --init`, the run's files mounted read-only, the network mode and
 * resource limits set, one container name per run so a cancel can `kill` it.
 */
export class ContainerRunner implements ConnectorRunner {
  readonly kind: 'docker' | 'podman'
  readonly #settings: RunnerSettings
  readonly #present = new Set<string>()

  constructor(kind: 'docker' | 'podman', settings: RunnerSettings) {
    this.kind = kind
    this.#settings = settings
  }

  #env(): NodeJS.ProcessEnv {
    return childEnv(this.#settings.env)
  }

  /** Pulls the image when the daemon does not have it, writing the client's progress lines to the log. */
  async prepare(image: ImageRef, logger: ConnectorLogger, signal: AbortSignal): Promise<void> {
    const name = imageName(image)
    if (this.#present.has(name)) return
    const inspect = await runClient(this.kind, ['image', 'inspect', '--format', '{{.Id}}', name], this.#env(), signal)
    if (inspect.code !== 0) {
      logger.info(`${this.kind}: pulling ${name}`)
      await new Promise<void>((resolve, reject) => {
        const child = spawn(this.kind, ['pull', name], { env: this.#env(), stdio: ['ignore', 'pipe', 'pipe'], signal })
        const lines: string[] = []
        const onData = (chunk: Buffer): void => {
          for (const l of chunk.toString('utf8').split(/\r?\n|\r/)) {
            const text = l.trim()
            if (text === '') continue
            lines.push(text)
            if (lines.length > 20) lines.shift()
            logger.info(`${this.kind} pull ${name}: ${text}`)
          }
        }
        child.stdout.on('data', onData)
        child.stderr.on('data', onData)
        child.on('error', (e) => reject(new SluiceError('SLUICE_ERR_CONNECTOR_LAUNCH', `cannot run ${this.kind} pull ${name}: ${e.message}`, { cause: e })))
        child.on('close', (code) => {
          if (code === 0) resolve()
          else reject(new SluiceError('SLUICE_ERR_CONNECTOR_LAUNCH', `${this.kind} pull ${name} failed (exit ${code}): ${lines[lines.length - 1] ?? ''}`))
        })
      })
    }
    this.#present.add(name)
  }

  async plan(request: LaunchRequest): Promise<LaunchPlan> {
    const containerName = `sluice-${request.image.repository.replace(/[^a-zA-Z0-9_.-]+/g, '-').replace(/^-+/, '')}-${request.command}-${request.runId}`
    const args = ['run', '--rm', '-i', '--init', '--log-driver', 'none', '--name', containerName, '--network', this.#settings.network]
    args.push('-v', `${request.dir}:${CONTAINER_FILES_DIR}:ro`)
    const memory = request.resources.memory_limit ?? this.#settings.memory
    if (memory) args.push('--memory', dockerMemory(memory))
    if (request.resources.memory_request) args.push('--memory-reservation', dockerMemory(request.resources.memory_request))
    const cpus = request.resources.cpu_limit ?? this.#settings.cpus
    if (cpus) args.push('--cpus', cpus)
    if (this.#settings.user) args.push('--user', this.#settings.user)
    for (const [k, v] of Object.entries(connectorVariables(request.image))) args.push('-e', `${k}=${v}`)
    args.push(imageName(request.image), request.command)
    for (const f of request.files) args.push(f.flag, `${CONTAINER_FILES_DIR}/${f.name}`)
    return { file: this.kind, args, env: this.#env(), containerName }
  }

  async kill(plan: LaunchPlan): Promise<void> {
    if (plan.containerName) await runClient(this.kind, ['kill', plan.containerName], this.#env())
  }
}

const detected = new Map<string, Promise<RunnerKind>>()

/** docker when `docker info` answers (asked once per process and client environment), else local. */
function detectRunnerKind(settings: RunnerSettings): Promise<RunnerKind> {
  const env = childEnv(settings.env)
  const key = `${env.PATH ?? ''}\u0000${env.DOCKER_HOST ?? ''}\u0000${env.DOCKER_CONFIG ?? ''}`
  let kind = detected.get(key)
  if (kind === undefined) {
    kind = runClient('docker', ['info', '--format', '{{.ServerVersion}}'], env, AbortSignal.timeout(5000)).then((r) => (r.code === 0 ? 'docker' : 'local'))
    detected.set(key, kind)
  }
  return kind
}

/** The runner SLUICE_CONNECTOR_RUNNER names, or docker when a daemon answers, else local. */
export async function createRunner(settings: RunnerSettings): Promise<ConnectorRunner> {
  const kind = settings.kind ?? (await detectRunnerKind(settings))
  return kind === 'local' ? new LocalRunner(settings) : new ContainerRunner(kind, settings)
}
