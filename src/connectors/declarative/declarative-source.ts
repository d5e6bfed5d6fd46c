import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { resolve, sep } from 'node:path'
import { Ajv, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'
import type { ConnectorConfig, RunOptions, Source } from '../../protocol/index.js'
import { cancelledError, configError, isSluiceError, SluiceError, throwIfAborted } from '../../errors.js'
import {
  rowBatch,
  streamKey,
  type AirbyteCatalog,
  type AirbyteStream,
  type ConfiguredCatalog,
  type ConnectionStatus,
  type ConnectorSpecification,
  type JsonSchema,
  type RecordData,
  type SourceMessage,
  type StateMessage,
  type StreamDescriptor,
} from '../../protocol/index.js'
import { configNormalization, type ConfigNormalization } from './config-normalization.js'
import { hasDynamicSchema, resolveDynamicSchema } from './dynamic-schema.js'
import { dynamicStreamsFailure, generateDynamicStreams } from './dynamic-streams.js'
import type { HttpSettings } from './http/http-requester.js'
import { RateLimiter, sleep, type RateLimitOptions } from './http/rate-limiter.js'
import { evaluate } from './interpolation/interpolator.js'
import { parseIsoDuration } from './interpolation/py-datetime.js'
import { loadManifest, type ManifestNode } from './manifest-loader.js'
import { validateManifest } from './manifest-validator.js'
import { DeclarativeStream, type StreamEnvironment } from './retriever/declarative-stream.js'
import { StateDelegatingStream } from './retriever/state-delegating-stream.js'

// ajv-formats is CommonJS: under NodeNext its default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv

/** Runtime knobs of a declarative source (the defaults suit production; tests inject clocks and rewrites). */
export interface DeclarativeSourceOptions extends RateLimitOptions {
  /** Per-request timeout in ms (default 60 000). */
  requestTimeoutMs?: number
  /** Maps each request URL before sending (tests point public hosts at a loopback server). */
  rewriteUrl?: (url: string) => string
  /** Replaces the retry sleep (tests). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>
  /** Longest single backoff in seconds (default 600). */
  maxBackoffSeconds?: number
  /** Rows per emitted batch (default 1000). */
  batchRows?: number
  /** Fail on a body that is not JSON instead of reading it as `{}` (default false, as the CDK). */
  strictJson?: boolean
  fetch?: typeof fetch
  /**
   * Folder that JsonFileSchemaLoader `file_path`s are read from (built-in manifests only; paths
   * may not leave it). Without it those streams get an open schema: a user manifest cannot read files.
   */
  baseDir?: string
  /** Replaces the manifest's spec (Airbyte's create_manifest carries the spec separately). */
  spec?: ConnectorSpecification
  /** Partitions tracked one by one in per-partition state before switching to a global cursor (default 10,000). */
  maxPartitionStates?: number
  /**
   * Requests one partition (or date window) may send before the read fails: the last guard
   * against a paginator that never stops. Default: `SLUICE_DECLARATIVE_MAX_REQUESTS_PER_PARTITION`
   * or 100,000.
   */
  maxRequestsPerPartition?: number
  /** The clock async job timeouts are measured with (tests pair it with `sleep`; default Date.now). */
  now?: () => number
}

/** Default ceiling of requests per partition (see DeclarativeSourceOptions.maxRequestsPerPartition). */
export const DEFAULT_MAX_REQUESTS_PER_PARTITION = 100_000

function maxRequestsFromEnv(): number {
  const n = Number(process.env.SLUICE_DECLARATIVE_MAX_REQUESTS_PER_PARTITION)
  return Number.isInteger(n) && n > 0 ? n : DEFAULT_MAX_REQUESTS_PER_PARTITION
}

const DEFAULT_BATCH_ROWS = 1000

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** The meta-schemas Ajv knows by their canonical id; `https://` and a missing `#` name the same draft. */
const DRAFT_07 = 'http://json-schema.org/draft-07/schema#'

/**
 * Normalizes the spec's `$schema`: manifests often write `https://json-schema.org/draft-07/schema#`,
 * which Ajv does not know by that key ("no schema with key or ref"); Python's jsonschema accepts it.
 */
export function normalizeMetaSchema(spec: ConnectorSpecification): ConnectorSpecification {
  const conn = spec.connectionSpecification
  const meta = conn.$schema
  if (typeof meta !== 'string' || !/^https?:\/\/json-schema\.org\/draft-07\/schema#?$/.test(meta) || meta === DRAFT_07) return spec
  return { ...spec, connectionSpecification: { ...conn, $schema: DRAFT_07 } }
}

/** The connector spec a manifest declares (`spec.connection_specification`). */
export function manifestSpec(m: ManifestNode): ConnectorSpecification {
  const spec = isObject(m.spec) ? m.spec : {}
  const conn = isObject(spec.connection_specification) ? spec.connection_specification : { type: 'object', properties: {} }
  const out: ConnectorSpecification = { connectionSpecification: conn, supportsIncremental: true }
  if (typeof spec.documentation_url === 'string') out.documentationUrl = spec.documentation_url
  return out
}

/** Rate limits a manifest declares (`concurrency_level`, `api_budget` call-rate policies). */
function manifestRateLimits(m: ManifestNode, config: Record<string, unknown>): RateLimitOptions {
  const out: RateLimitOptions = {}
  const cl = m.concurrency_level
  if (isObject(cl)) {
    const d = Number(evaluate(cl.default_concurrency, { config }))
    const max = cl.max_concurrency === undefined ? Infinity : Number(cl.max_concurrency)
    if (Number.isFinite(d) && d > 0) out.maxConcurrency = Math.min(d, max)
  }
  const budget = m.api_budget
  if (isObject(budget) && Array.isArray(budget.policies)) {
    let rps: number | undefined
    for (const p of budget.policies as ManifestNode[]) {
      for (const r of (Array.isArray(p.rates) ? p.rates : []) as ManifestNode[]) {
        const d = parseIsoDuration(String(r.interval ?? ''))
        const limit = Number(evaluate(r.limit, { config }))
        if (d && d.us > 0 && limit > 0) rps = Math.min(rps ?? Infinity, limit / (d.us / 1e6))
      }
      if (p.type === 'FixedWindowCallRatePolicy' && p.period && p.call_limit) {
        const d = parseIsoDuration(String(p.period))
        if (d && d.us > 0) rps = Math.min(rps ?? Infinity, Number(p.call_limit) / (d.us / 1e6))
      }
    }
    if (rps !== undefined && Number.isFinite(rps)) out.requestsPerSecond = rps
  }
  return out
}

/** Reads JsonFileSchemaLoader files (relative to baseDir, never outside it) into the manifest. */
function inlineJsonFileSchemas(m: ManifestNode, baseDir: string): void {
  const root = resolve(baseDir)
  for (const stream of (Array.isArray(m.streams) ? m.streams : []) as ManifestNode[]) {
    const loaders = (Array.isArray(stream.schema_loader) ? stream.schema_loader : stream.schema_loader ? [stream.schema_loader] : []) as ManifestNode[]
    for (const loader of loaders) {
      if (loader.type !== 'JsonFileSchemaLoader' || typeof loader.file_path !== 'string') continue
      const rel = String(evaluate(loader.file_path, { config: {}, parameters: loader.$parameters ?? {} }, { literal: false }))
      const file = resolve(root, rel)
      if (file !== root && !file.startsWith(root + sep)) throw configError(`JsonFileSchemaLoader file_path ${rel} leaves the manifest folder`)
      try {
        loader.schema = JSON.parse(readFileSync(file, 'utf8')) as unknown
      } catch (e) {
        throw configError(`JsonFileSchemaLoader could not read ${rel}: ${(e as Error).message}`)
      }
    }
  }
}

function validationMessage(fn: ValidateFunction): string {
  return (fn.errors ?? [])
    .slice(0, 5)
    .map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.params && 'missingProperty' in e.params ? ` (${String(e.params.missingProperty)})` : ''}`)
    .join('; ')
}

function buildStream(node: ManifestNode, env: StreamEnvironment): DeclarativeStream | StateDelegatingStream {
  return node.type === 'StateDelegatingStream' ? new StateDelegatingStream(node, env) : new DeclarativeStream(node, env)
}

/**
 * A source defined by an Airbyte declarative manifest, run natively. The manifest is loaded and
 * checked when the source is created, so an unsupported component fails definition creation, not
 * a sync.
 */
export class DeclarativeSource implements Source {
  readonly spec: ConnectorSpecification
  readonly manifest: ManifestNode
  readonly #opts: DeclarativeSourceOptions
  #validate: ValidateFunction | undefined
  readonly #normalization: ConfigNormalization | undefined
  /** One limiter per source configuration, shared by concurrent runs (checks, discovers, syncs). */
  readonly #limiters = new Map<string, RateLimiter>()

  /** Problems found when the manifest was loaded that do not stop it (duplicate keys, templates that do not compile). */
  readonly warnings: readonly string[]

  constructor(manifest: string | ManifestNode, opts: DeclarativeSourceOptions = {}) {
    const warnings: string[] = []
    this.manifest = loadManifest(manifest, warnings)
    for (const w of validateManifest(this.manifest)) warnings.push(`${w.path}: ${w.message}`)
    if (opts.baseDir) inlineJsonFileSchemas(this.manifest, opts.baseDir)
    this.spec = normalizeMetaSchema(opts.spec?.connectionSpecification ? opts.spec : manifestSpec(this.manifest))
    this.warnings = warnings
    this.#opts = opts
    this.#normalization = configNormalization(this.manifest.spec)
  }

  /**
   * Validates the user config as a run would use it: after `config_normalization_rules`
   * migrations and transformations, against the connection_specification (no defaults injected),
   * then the rules' validations.
   */
  validateConfig(config: ConnectorConfig): void {
    const normalized = this.#normalization ? this.#normalization.normalize(config).config : config
    this.#validateNormalized(normalized)
  }

  /**
   * The config a run uses: migrated (a config the migrations changed is handed to
   * `onConfigUpdate` to be stored, Airbyte's CONTROL message), transformed, then validated.
   */
  async #prepare(config: ConnectorConfig, opts: RunOptions): Promise<ConnectorConfig> {
    if (!this.#normalization) {
      this.#validateNormalized(config)
      return config
    }
    const { config: normalized, migrated } = this.#normalization.normalize(config)
    this.#validateNormalized(normalized)
    if (migrated) {
      opts.logger.info('config_normalization_rules migrated the configuration')
      await opts.onConfigUpdate?.(migrated)
    }
    return normalized
  }

  #validateNormalized(config: ConnectorConfig): void {
    if (!this.#validate) {
      const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true })
      addFormats(ajv)
      try {
        this.#validate = ajv.compile(this.spec.connectionSpecification)
      } catch (e) {
        throw configError(`the manifest's connection_specification is not a valid JSON schema: ${(e as Error).message}`)
      }
    }
    if (!this.#validate(config)) throw configError(`The configuration does not match the connector spec: ${validationMessage(this.#validate)}`)
    this.#normalization?.validate(config)
  }

  #environment(config: ConnectorConfig, opts: RunOptions): StreamEnvironment {
    const key = createHash('sha256').update(JSON.stringify(config)).digest('hex')
    let limiter = this.#limiters.get(key)
    if (!limiter) {
      const fromManifest = manifestRateLimits(this.manifest, config)
      limiter = new RateLimiter({
        maxConcurrency: this.#opts.maxConcurrency ?? fromManifest.maxConcurrency,
        requestsPerSecond: this.#opts.requestsPerSecond ?? fromManifest.requestsPerSecond,
      })
      // Bounded: a definition serves a handful of source configurations.
      if (this.#limiters.size >= 1000) this.#limiters.clear()
      this.#limiters.set(key, limiter)
    }
    const http: HttpSettings = {
      limiter,
      timeoutMs: this.#opts.requestTimeoutMs ?? 60_000,
      rewriteUrl: this.#opts.rewriteUrl,
      sleep: this.#opts.sleep ?? sleep,
      maxBackoffSeconds: this.#opts.maxBackoffSeconds ?? 600,
      fetch: this.#opts.fetch ?? fetch,
      log: (level, message) => opts.logger[level](message),
      shared: new Map(),
      ...(opts.onConfigUpdate ? { onConfigUpdate: opts.onConfigUpdate } : {}),
    }
    return { config, http, strictJson: this.#opts.strictJson ?? false, log: (level, message) => opts.logger[level](message), maxPartitionStates: this.#opts.maxPartitionStates ?? 10_000, maxRequestsPerPartition: this.#opts.maxRequestsPerPartition ?? maxRequestsFromEnv(), partitionConcurrency: this.#opts.maxConcurrency ?? manifestRateLimits(this.manifest, config).maxConcurrency ?? 1, now: this.#opts.now ?? Date.now }
  }

  /** The manifest's `streams`, built for one run (dynamic streams are not included: see #allStreams). */
  streams(config: ConnectorConfig, opts: RunOptions): Array<DeclarativeStream | StateDelegatingStream> {
    for (const w of this.warnings) opts.logger.warn(`manifest warning: ${w}`)
    const env = this.#environment(config, opts)
    return (Array.isArray(this.manifest.streams) ? (this.manifest.streams as ManifestNode[]) : []).map((s) => buildStream(s, env))
  }

  /**
   * The manifest's streams followed by the streams its `dynamic_streams` generate (resolved for
   * this run: an HttpComponentsResolver sends its requests here). `generated` maps each
   * DynamicDeclarativeStream name to the names it produced, in order; `nodes` holds each stream's
   * manifest node, index for index.
   */
  async #allStreams(config: ConnectorConfig, opts: RunOptions): Promise<{ streams: Array<DeclarativeStream | StateDelegatingStream>; nodes: ManifestNode[]; generated: Map<string, string[]> }> {
    const streams = this.streams(config, opts)
    const nodes = Array.isArray(this.manifest.streams) ? [...(this.manifest.streams as ManifestNode[])] : []
    const generated = new Map<string, string[]>()
    const defs = Array.isArray(this.manifest.dynamic_streams) ? (this.manifest.dynamic_streams as ManifestNode[]) : []
    if (defs.length === 0) return { streams, nodes, generated }
    // Every definition is listed, also one that generated no stream (a check then reads none of it).
    defs.forEach((d, i) => generated.set(typeof d.name === 'string' && d.name ? d.name : `dynamic_stream_${i}`, []))
    const env = this.#environment(config, opts)
    try {
      for (const g of await generateDynamicStreams(defs, env, opts.signal, new Set(streams.map((s) => s.name)))) {
        // A mapped value may carry components of its own: they are checked like the manifest's.
        for (const w of validateManifest({ streams: [g.node] })) opts.logger.warn(`manifest warning: dynamic stream ${g.dynamicName}: ${w.path}: ${w.message}`)
        const stream = buildStream(g.node, env)
        streams.push(stream)
        nodes.push(g.node)
        generated.set(g.dynamicName, [...(generated.get(g.dynamicName) ?? []), stream.name])
      }
    } catch (e) {
      if (opts.signal.aborted) throw cancelledError()
      throw dynamicStreamsFailure(e)
    }
    return { streams, nodes, generated }
  }

  /** The streams a check reads: CheckStream names (or the config override), plus the generated streams its dynamic configs ask for. */
  #checkStreamNames(config: ConnectorConfig, streams: Array<{ name: string }>, generated: Map<string, string[]>): string[] {
    const check = isObject(this.manifest.check) ? this.manifest.check : {}
    const override = config.__airbyte_check_stream_names
    const first = (names: string[], count: unknown): string[] => (typeof count === 'number' && count > 0 ? names.slice(0, count) : names)
    if (check.type === 'CheckDynamicStream') return first([...generated.values()].flat(), check.stream_count)
    const names = (Array.isArray(override) && override.length ? override : Array.isArray(check.stream_names) ? check.stream_names : check.dynamic_streams_check_configs ? [] : [streams[0]?.name]).map(String)
    for (const c of (Array.isArray(check.dynamic_streams_check_configs) ? check.dynamic_streams_check_configs : []) as ManifestNode[]) {
      const made = generated.get(String(c.dynamic_stream_name))
      if (!made) throw configError(`Dynamic stream ${String(c.dynamic_stream_name)} is not found in the manifest's dynamic_streams.`)
      names.push(...first(made, c.stream_count))
    }
    return names
  }

  async check(raw: ConnectorConfig, opts: RunOptions): Promise<ConnectionStatus> {
    try {
      const config = await this.#prepare(raw, opts)
      const { streams, generated } = await this.#allStreams(config, opts)
      if (streams.length === 0) return { status: 'failed', message: 'The manifest defines no stream for this configuration (its dynamic streams generated none).' }
      const names = this.#checkStreamNames(config, streams, generated)
      for (const name of names) {
        const stream = streams.find((s) => s.name === name)
        if (!stream) return { status: 'failed', message: `The check stream ${name} is not defined in the manifest.` }
        // The first page of the first partition must load; zero records still passes.
        for await (const ev of stream.read(undefined, opts.signal, { firstPageOnly: true, fullRefresh: true })) {
          if (ev.kind === 'records') break
        }
      }
      return { status: 'succeeded', message: 'Connection succeeded.' }
    } catch (e) {
      if (isSluiceError(e) && e.code === 'SLUICE_ERR_CANCELLED') throw e
      return { status: 'failed', message: (e as Error).message }
    }
  }

  async discover(raw: ConnectorConfig, opts: RunOptions): Promise<AirbyteCatalog> {
    const config = await this.#prepare(raw, opts)
    const all = await this.#allStreams(config, opts)
    // DynamicSchemaLoader: the schema comes from the API, one stream after another.
    const schemas: JsonSchema[] = []
    for (const [i, s] of all.streams.entries()) {
      const node = all.nodes[i]
      schemas.push(node && hasDynamicSchema(node) ? await resolveDynamicSchema(node, s.name, this.#environment(config, opts), opts.signal) : s.jsonSchema)
    }
    const streams: AirbyteStream[] = all.streams.map((s, i) => {
      const out: AirbyteStream = {
        name: s.name,
        jsonSchema: schemas[i] ?? s.jsonSchema,
        supportedSyncModes: s.cursor ? ['full_refresh', 'incremental'] : ['full_refresh'],
        isResumable: !!s.cursor,
      }
      if (s.cursor) {
        out.sourceDefinedCursor = true
        out.defaultCursorField = [s.cursor.cursorField]
      }
      if (s.primaryKey.length) out.sourceDefinedPrimaryKey = s.primaryKey
      return out
    })
    return { streams }
  }

  async *read(raw: ConnectorConfig, catalog: ConfiguredCatalog, state: StateMessage[], opts: RunOptions): AsyncIterable<SourceMessage> {
    const config = await this.#prepare(raw, opts)
    const streams = new Map((await this.#allStreams(config, opts)).streams.map((s) => [s.name, s]))
    const states = new Map(state.map((s) => [streamKey(s.stream), s.data]))
    const batchRows = this.#opts.batchRows ?? DEFAULT_BATCH_ROWS
    for (const cs of catalog.streams) {
      throwIfAborted(opts.signal)
      const descriptor: StreamDescriptor = { name: cs.stream.name, namespace: cs.stream.namespace ?? null }
      const stream = streams.get(cs.stream.name)
      if (!stream) throw configError(`The stream ${cs.stream.name} is not defined by this connector's manifest.`)
      const incremental = cs.syncMode === 'incremental' && !!stream.cursor
      const prior = incremental ? (states.get(streamKey(descriptor)) ?? undefined) : undefined
      yield { type: 'STREAM_STATUS', stream: descriptor, status: 'STARTED' }
      let buffer: RecordData[] = []
      try {
        for await (const ev of stream.read(prior ?? undefined, opts.signal, { fullRefresh: !incremental })) {
          if (ev.kind === 'records') {
            for (const r of ev.rows) {
              buffer.push(r)
              if (buffer.length >= batchRows) {
                yield rowBatch(descriptor, buffer)
                buffer = []
              }
            }
          } else {
            // Records the state covers go out first: state follows its data.
            if (buffer.length) {
              yield rowBatch(descriptor, buffer)
              buffer = []
            }
            yield { type: 'STATE', stream: descriptor, data: ev.data }
          }
        }
        if (buffer.length) yield rowBatch(descriptor, buffer)
      } catch (e) {
        if (opts.signal.aborted) throw cancelledError()
        if (e instanceof SluiceError) throw new SluiceError(e.code, `Stream ${cs.stream.name}: ${e.message}`, { failureType: e.failureType, cause: e })
        throw e
      }
      yield { type: 'STREAM_STATUS', stream: descriptor, status: 'COMPLETE' }
    }
  }
}
