import { setImmediate as nextMacrotask } from 'node:timers/promises'
import type {
  AirbyteCatalog,
  AirbyteStream,
  ConfiguredCatalog,
  ConnectionStatus,
  JsonSchema,
  RecordBatch,
  RecordData,
  RunOptions,
  Source,
  SourceMessage,
  StateMessage,
  StreamDescriptor,
} from '../../protocol/index.js'
import { streamKey } from '../../protocol/index.js'
import { configError, isSluiceError, throwIfAborted } from '../../errors.js'
import {
  FAKER_STREAMS,
  type FakerStreamName,
  type GeneratedColumns,
  generateColumns,
  isoSeconds,
  parseIsoSeconds,
  streamSize,
  UPDATED_BASE,
  updatedAtSeconds,
} from './faker-data.js'
import { type FakerConfig, fakerSpec, parseFakerConfig } from './faker-spec.js'

const nullable = (type: string, extra: JsonSchema = {}): JsonSchema => ({ type: ['null', type], ...extra })
const timestamp = (): JsonSchema => nullable('string', { format: 'date-time', airbyte_type: 'timestamp_with_timezone' })
const integer = (): JsonSchema => nullable('integer', { airbyte_type: 'integer' })

const SCHEMAS: Record<FakerStreamName, JsonSchema> = {
  users: {
    type: 'object',
    properties: {
      id: integer(),
      created_at: timestamp(),
      updated_at: timestamp(),
      name: nullable('string'),
      title: nullable('string'),
      age: integer(),
      email: nullable('string'),
      telephone: nullable('string'),
      gender: nullable('string'),
      language: nullable('string'),
      academic_degree: nullable('string'),
      nationality: nullable('string'),
      occupation: nullable('string'),
      height: nullable('string'),
      blood_type: nullable('string'),
      weight: integer(),
      address: nullable('object', {
        properties: {
          street_number: nullable('string'),
          street_name: nullable('string'),
          city: nullable('string'),
          state: nullable('string'),
          province: nullable('string'),
          postal_code: nullable('string'),
          country_code: nullable('string'),
        },
      }),
    },
  },
  products: {
    type: 'object',
    properties: {
      id: integer(),
      make: nullable('string'),
      model: nullable('string'),
      year: integer(),
      price: nullable('number'),
      created_at: timestamp(),
      updated_at: timestamp(),
    },
  },
  purchases: {
    type: 'object',
    properties: {
      id: integer(),
      user_id: integer(),
      product_id: integer(),
      created_at: timestamp(),
      updated_at: timestamp(),
      added_to_cart_at: timestamp(),
      purchased_at: timestamp(),
      returned_at: timestamp(),
    },
  },
}

function airbyteStream(name: FakerStreamName): AirbyteStream {
  return {
    name,
    namespace: null,
    jsonSchema: SCHEMAS[name],
    supportedSyncModes: ['full_refresh', 'incremental'],
    sourceDefinedCursor: true,
    defaultCursorField: ['updated_at'],
    sourceDefinedPrimaryKey: [['id']],
    isResumable: true,
  }
}

function isFakerStream(name: string): name is FakerStreamName {
  return (FAKER_STREAMS as readonly string[]).includes(name)
}

/** A columnar batch; `rows()` builds the row objects on first use and caches them. */
function fakerBatch(stream: StreamDescriptor, generated: GeneratedColumns, emittedAt: number): RecordBatch {
  const count = generated.columns[0]?.length ?? 0
  let rows: RecordData[] | undefined
  return {
    type: 'RECORD_BATCH',
    stream,
    emittedAt,
    count,
    bytes: generated.bytes,
    columns: () => ({ names: generated.names, columns: generated.columns }),
    rows: () => {
      if (rows === undefined) {
        const { names, columns } = generated
        const built = new Array<RecordData>(count)
        for (let r = 0; r < count; r++) {
          const row: RecordData = {}
          for (let c = 0; c < names.length; c++) row[names[c] as string] = (columns[c] as unknown[])[r]
          built[r] = row
        }
        rows = built
      }
      return rows
    },
  }
}

/** First id to emit for an incremental stream given its saved `updated_at` (rows are ordered by it). */
function resumeId(saved: number | undefined, cfg: FakerConfig, runStart: number, total: number): number {
  if (saved === undefined) return 1
  // Second resolution: a sync starting in the same second as the saved one still re-emits everything.
  if (cfg.alwaysUpdated) return runStart >= saved ? 1 : total + 1
  return Math.max(1, saved - UPDATED_BASE + 1)
}

/** Upper bound of rows per batch whatever `records_per_slice` says: batches must stay small for bounded memory. */
export const MAX_FAKER_BATCH_ROWS = 50_000

/** Lets timers and I/O (an abort, a progress tick) run between CPU-bound batches. */
const YIELD_EVERY_MS = 20

/**
 * Sample Data (Faker): users, products and purchases, deterministic per seed, generated column
 * by column. Incremental by `updated_at`: with `always_updated: false` the value is fixed per
 * row and increases with `id`; with `always_updated: true` (Airbyte's default) every row of a
 * sync carries the sync's start time, so each incremental sync re-emits everything.
 */
export const fakerSource: Source = {
  spec: fakerSpec,

  async check(config): Promise<ConnectionStatus> {
    try {
      parseFakerConfig(config)
      return { status: 'succeeded', message: 'Configuration is valid.' }
    } catch (e) {
      if (isSluiceError(e)) return { status: 'failed', message: e.message }
      throw e
    }
  },

  async discover(config): Promise<AirbyteCatalog> {
    parseFakerConfig(config)
    return { streams: FAKER_STREAMS.map(airbyteStream) }
  },

  async *read(config, catalog: ConfiguredCatalog, state: StateMessage[], opts: RunOptions): AsyncGenerator<SourceMessage> {
    const cfg = parseFakerConfig(config)
    const runStart = Math.floor(Date.now() / 1000)
    const override = cfg.alwaysUpdated ? isoSeconds(runStart) : undefined
    const saved = new Map(state.map((s) => [streamKey(s.stream), s.data]))
    for (const configured of catalog.streams) {
      const name = configured.stream.name
      if (!isFakerStream(name)) throw configError(`Unknown stream '${name}': Faker has users, products and purchases.`)
      const stream: StreamDescriptor = { name, namespace: configured.stream.namespace ?? null }
      const total = streamSize(name, cfg.count)
      const savedUpdatedAt = configured.syncMode === 'incremental' ? saved.get(streamKey(stream))?.updated_at : undefined
      const savedSeconds = parseIsoSeconds(savedUpdatedAt)
      const firstId = resumeId(savedSeconds, cfg, runStart, total)
      opts.logger.info(`faker: stream ${name} from id ${firstId} of ${total}`)
      yield { type: 'ESTIMATE', stream, rowEstimate: Math.max(0, total - firstId + 1) }
      let lastYield = Date.now()
      let emitted = false
      const batchRows = Math.min(cfg.recordsPerSlice, MAX_FAKER_BATCH_ROWS)
      for (let id = firstId; id <= total; id += batchRows) {
        throwIfAborted(opts.signal)
        const n = Math.min(batchRows, total - id + 1)
        const generated = generateColumns(name, id, n, { seed: cfg.seed, count: cfg.count, updatedAtOverride: override })
        yield fakerBatch(stream, generated, Date.now())
        yield { type: 'STATE', stream, data: { updated_at: override ?? isoSeconds(updatedAtSeconds(id + n - 1)) } }
        emitted = true
        if (Date.now() - lastYield >= YIELD_EVERY_MS) {
          await nextMacrotask()
          lastYield = Date.now()
        }
      }
      // Nothing new: re-emit the saved cursor so the stream's state is confirmed by this sync.
      if (!emitted && typeof savedUpdatedAt === 'string') yield { type: 'STATE', stream, data: { updated_at: savedUpdatedAt } }
    }
  },
}
