import { setTimeout as sleep } from 'node:timers/promises'
import type {
  AirbyteCatalog,
  AirbyteStream,
  ConfiguredCatalog,
  ConnectionStatus,
  ConnectorSpecification,
  RecordData,
  RunOptions,
  Source,
  SourceMessage,
  StateMessage,
  StreamDescriptor,
} from '../../protocol/index.js'
import { rowBatch, streamKey } from '../../protocol/index.js'
import { cancelledError, configError, isSluiceError, throwIfAborted } from '../../errors.js'
import { failureKnobProperties, type FailureKnobs, parseFailureKnobs, planFailure } from './failure-knobs.js'
import { nextRunNumber } from './run-counter.js'

/** Row `id` has updated_at = this + id seconds (2024-01-01T00:00:00Z): both cursors grow with id. */
const UPDATED_BASE_MS = Date.UTC(2024, 0, 1)

export interface TestSourceConfig extends FailureKnobs {
  streams: string[]
  namespace: string | null
  records: number
  batchSize: number
  payloadBytes: number
}

export const testSourceSpec: ConnectorSpecification = {
  connectionSpecification: {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'Test Source Spec',
    type: 'object',
    additionalProperties: true,
    properties: {
      streams: { type: 'array', items: { type: 'string' }, default: ['items'], description: 'Stream names.' },
      namespace: { type: 'string', description: 'Namespace of every stream (none when unset).' },
      records: { type: 'integer', minimum: 0, default: 100, description: 'Rows per stream; ids 1..records.' },
      batchSize: { type: 'integer', minimum: 1, default: 10, description: 'Rows per batch; a STATE follows each batch.' },
      payloadBytes: { type: 'integer', minimum: 0, default: 0, description: 'Adds a `payload` string of this length to each row.' },
      ...failureKnobProperties,
    },
  },
}

function integer(config: Record<string, unknown>, key: string, fallback: number, min: number): number {
  const v = config[key] ?? fallback
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw configError(`'${key}' must be an integer >= ${min}.`)
  return v
}

export function parseTestSourceConfig(config: Record<string, unknown>): TestSourceConfig {
  const streams = config.streams ?? ['items']
  if (!Array.isArray(streams) || streams.length === 0 || !streams.every((s) => typeof s === 'string' && s !== '')) {
    throw configError(`'streams' must be a non-empty list of names.`)
  }
  const namespace = config.namespace ?? null
  if (namespace !== null && typeof namespace !== 'string') throw configError(`'namespace' must be a string.`)
  return {
    ...parseFailureKnobs(config),
    streams: streams as string[],
    namespace: namespace === '' ? null : namespace,
    records: integer(config, 'records', 100, 0),
    batchSize: integer(config, 'batchSize', 10, 1),
    payloadBytes: integer(config, 'payloadBytes', 0, 0),
  }
}

/** The rows the test source produces for a stream: tests compare destination output with these. */
export function testSourceRow(stream: string, id: number, payloadBytes = 0): RecordData {
  const row: RecordData = { id, name: `${stream}-${id}`, updated_at: new Date(UPDATED_BASE_MS + id * 1000).toISOString() }
  if (payloadBytes > 0) row.payload = 'x'.repeat(payloadBytes)
  return row
}

function airbyteStream(name: string, namespace: string | null): AirbyteStream {
  return {
    name,
    namespace,
    jsonSchema: {
      type: 'object',
      properties: {
        id: { type: 'integer' },
        name: { type: 'string' },
        updated_at: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' },
        payload: { type: ['null', 'string'] },
      },
    },
    supportedSyncModes: ['full_refresh', 'incremental'],
    sourceDefinedCursor: false,
    defaultCursorField: ['updated_at'],
    sourceDefinedPrimaryKey: [['id']],
    isResumable: false,
  }
}

/** Last id a saved state covers (the state is `{id, updated_at}`). */
function savedId(state: StateMessage | undefined): number {
  const id = state?.data?.id
  return typeof id === 'number' && Number.isInteger(id) && id > 0 ? id : 0
}

/**
 * A deterministic source for tests: `records` rows per stream (ids 1..records), in batches of
 * `batchSize` each followed by a STATE `{id, updated_at}` of its last row. Incremental streams
 * resume after the saved id (both `id` and `updated_at` grow with it); full-refresh streams start
 * over. Failure knobs: `failAfterRecords` (emits exactly that many records, then throws),
 * `transientFailures` + `runKey`, `delayMs` per batch. Registered only with SLUICE_TEST_CONNECTORS=1.
 */
export const testSource: Source = {
  spec: testSourceSpec,

  async check(config): Promise<ConnectionStatus> {
    try {
      parseTestSourceConfig(config)
      return { status: 'succeeded', message: 'Configuration is valid.' }
    } catch (e) {
      if (isSluiceError(e)) return { status: 'failed', message: e.message }
      throw e
    }
  },

  async discover(config): Promise<AirbyteCatalog> {
    const cfg = parseTestSourceConfig(config)
    return { streams: cfg.streams.map((name) => airbyteStream(name, cfg.namespace)) }
  },

  async *read(config, catalog: ConfiguredCatalog, state: StateMessage[], opts: RunOptions): AsyncGenerator<SourceMessage> {
    const cfg = parseTestSourceConfig(config)
    const run = await nextRunNumber(opts.context.dataDir, 'source', cfg.runKey)
    const failure = planFailure(cfg, run, 'source')
    const saved = new Map(state.map((s) => [streamKey(s.stream), s]))
    let emitted = 0
    for (const configured of catalog.streams) {
      const name = configured.stream.name
      if (!cfg.streams.includes(name)) throw configError(`Unknown stream '${name}'.`)
      const stream: StreamDescriptor = { name, namespace: configured.stream.namespace ?? null }
      const after = configured.syncMode === 'incremental' ? savedId(saved.get(streamKey(stream))) : 0
      opts.logger.info(`test source: stream ${name} from id ${after + 1} to ${cfg.records} (run ${run})`)
      for (let first = after + 1; first <= cfg.records; first += cfg.batchSize) {
        throwIfAborted(opts.signal)
        if (cfg.delayMs > 0) {
          try {
            await sleep(cfg.delayMs, undefined, { signal: opts.signal })
          } catch {
            throw cancelledError()
          }
        }
        let n = Math.min(cfg.batchSize, cfg.records - first + 1)
        const failing = failure !== undefined && emitted + n > failure.afterRecords
        if (failing) n = failure.afterRecords - emitted
        if (n > 0) {
          const rows = Array.from({ length: n }, (_, i) => testSourceRow(name, first + i, cfg.payloadBytes))
          yield rowBatch(stream, rows)
          emitted += n
        }
        if (failing) throw failure.error
        const last = first + n - 1
        yield { type: 'STATE', stream, data: { id: last, updated_at: new Date(UPDATED_BASE_MS + last * 1000).toISOString() } }
      }
    }
  },
}
