import { createHash } from 'node:crypto'
import type { ConnectorConfig, RunOptions, Source } from '../../protocol/index.js'
import { DeclarativeSource, redactUrl, type DeclarativeSourceOptions } from '../declarative/index.js'
import { cancelledError, configError, SluiceError, throwIfAborted } from '../../errors.js'
import {
  rowBatch,
  streamKey,
  type AirbyteCatalog,
  type ConfiguredCatalog,
  type ConnectionStatus,
  type RecordData,
  type SourceMessage,
  type StateMessage,
  type StreamDescriptor,
} from '../../protocol/index.js'
import { inferSchema } from './infer-schema.js'
import { buildRestApiManifest, CURSOR_VALUE_KEY, restStreamName } from './rest-api-manifest.js'
import { restApiSpec, type RestApiConfig } from './rest-api-spec.js'

const BATCH_ROWS = 1000
const SAMPLE_RECORDS = 100

/** Orders two cursor values: numbers numerically, ISO dates by instant, else as strings. */
export function compareCursor(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b
  const sa = String(a)
  const sb = String(b)
  if (/^-?\d+(\.\d+)?$/.test(sa) && /^-?\d+(\.\d+)?$/.test(sb)) return Number(sa) - Number(sb)
  const da = Date.parse(sa)
  const db = Date.parse(sb)
  if (!Number.isNaN(da) && !Number.isNaN(db) && /^\d{4}-\d{2}-\d{2}/.test(sa) && /^\d{4}-\d{2}-\d{2}/.test(sb)) return da - db
  return sa < sb ? -1 : sa > sb ? 1 : 0
}

function readCursor(record: RecordData, field: string): unknown {
  let cur: unknown = record
  for (const k of field.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<string, unknown>)[k]
  }
  return cur
}

function asConfig(raw: ConnectorConfig): RestApiConfig {
  if (typeof raw.url !== 'string' || raw.url === '') throw configError('The REST API source needs a url.')
  return raw as unknown as RestApiConfig
}

/**
 * The "REST API" source: one endpoint as one stream, built as a declarative manifest from the
 * simple form (auth, params, pagination, record path) and run by the declarative runtime.
 * Incremental syncs keep the newest `cursor_field` value; records older than it are dropped
 * (and it can be sent as `cursor_param`). Bodies that are not JSON fail the sync.
 */
export class RestApiSource implements Source {
  readonly spec = restApiSpec
  readonly #opts: DeclarativeSourceOptions
  /** Built sources by configuration, so the rate limit holds across runs of one source. */
  readonly #built = new Map<string, DeclarativeSource>()

  constructor(opts: DeclarativeSourceOptions = {}) {
    this.#opts = opts
  }

  /** Rejects configs the manifest builder cannot use (bad url, unknown pagination type...). */
  validateConfig(raw: ConnectorConfig): void {
    buildRestApiManifest(asConfig(raw))
  }

  #declarative(config: RestApiConfig): DeclarativeSource {
    const key = createHash('sha256').update(JSON.stringify(config)).digest('hex')
    let source = this.#built.get(key)
    if (!source) {
      source = new DeclarativeSource(buildRestApiManifest(config), {
        ...this.#opts,
        strictJson: true,
        requestsPerSecond: this.#opts.requestsPerSecond ?? config.requests_per_second,
      })
      if (this.#built.size >= 100) this.#built.clear()
      this.#built.set(key, source)
    }
    return source
  }

  async check(raw: ConnectorConfig, opts: RunOptions): Promise<ConnectionStatus> {
    try {
      const config = asConfig(raw)
      const [stream] = this.#declarative(config).streams(raw, opts)
      if (!stream) throw configError('no stream')
      // One request: the first page.
      for await (const ev of stream.read(undefined, opts.signal, { firstPageOnly: true, fullRefresh: true })) {
        if (ev.kind === 'records') break
      }
      return { status: 'succeeded', message: `Fetched ${redactUrl(config.url)} successfully.` }
    } catch (e) {
      if (e instanceof SluiceError && e.code === 'SLUICE_ERR_CANCELLED') throw e
      return { status: 'failed', message: (e as Error).message }
    }
  }

  async discover(raw: ConnectorConfig, opts: RunOptions): Promise<AirbyteCatalog> {
    const config = asConfig(raw)
    const [stream] = this.#declarative(config).streams(raw, opts)
    if (!stream) throw configError('no stream')
    const sample: RecordData[] = []
    for await (const ev of stream.read(undefined, opts.signal, { firstPageOnly: true, fullRefresh: true })) {
      if (ev.kind === 'records') sample.push(...ev.rows.slice(0, SAMPLE_RECORDS - sample.length))
      if (sample.length >= SAMPLE_RECORDS) break
    }
    const name = restStreamName(config)
    const incremental = !!config.cursor_field
    return {
      streams: [
        {
          name,
          jsonSchema: inferSchema(sample),
          supportedSyncModes: incremental ? ['full_refresh', 'incremental'] : ['full_refresh'],
          ...(incremental ? { sourceDefinedCursor: true, defaultCursorField: (config.cursor_field as string).split('.') } : {}),
          ...(sample.length && 'id' in (sample[0] as object) ? { sourceDefinedPrimaryKey: [['id']] } : {}),
        },
      ],
    }
  }

  async *read(raw: ConnectorConfig, catalog: ConfiguredCatalog, state: StateMessage[], opts: RunOptions): AsyncIterable<SourceMessage> {
    const config = asConfig(raw)
    const name = restStreamName(config)
    const states = new Map(state.map((s) => [streamKey(s.stream), s.data]))
    for (const cs of catalog.streams) {
      throwIfAborted(opts.signal)
      if (cs.stream.name !== name) throw configError(`The REST API source has one stream, ${name}; the catalog asks for ${cs.stream.name}.`)
      const descriptor: StreamDescriptor = { name, namespace: cs.stream.namespace ?? null }
      const field = cs.syncMode === 'incremental' ? (config.cursor_field ?? cs.cursorField.join('.')) : ''
      const prior = field ? states.get(streamKey(descriptor))?.[field] : undefined
      const runConfig: ConnectorConfig = prior === undefined || prior === null ? { ...raw } : { ...raw, [CURSOR_VALUE_KEY]: prior }
      const [stream] = this.#declarative(config).streams(runConfig, opts)
      if (!stream) throw configError('no stream')
      yield { type: 'STREAM_STATUS', stream: descriptor, status: 'STARTED' }
      let max: unknown = prior ?? undefined
      let buffer: RecordData[] = []
      try {
        for await (const ev of stream.read(undefined, opts.signal, { fullRefresh: true })) {
          if (ev.kind !== 'records') continue
          for (const r of ev.rows) {
            if (field) {
              const v = readCursor(r, field)
              if (v !== undefined && v !== null) {
                // Equal values are kept: at-least-once, the destination dedups by primary key.
                if (prior !== undefined && prior !== null && compareCursor(v, prior) < 0) continue
                if (max === undefined || max === null || compareCursor(v, max) > 0) max = v
              }
            }
            buffer.push(r)
            if (buffer.length >= BATCH_ROWS) {
              yield rowBatch(descriptor, buffer)
              buffer = []
            }
          }
        }
      } catch (e) {
        if (opts.signal.aborted) throw cancelledError()
        throw e
      }
      if (buffer.length) yield rowBatch(descriptor, buffer)
      // The state advances only after every page was read: a failure mid-way keeps the old state.
      if (field && max !== undefined && max !== null) yield { type: 'STATE', stream: descriptor, data: { [field]: max } }
      yield { type: 'STREAM_STATUS', stream: descriptor, status: 'COMPLETE' }
    }
  }
}
