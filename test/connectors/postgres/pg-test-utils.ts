import assert from 'node:assert/strict'
import type {
  ConfiguredCatalog,
  ConfiguredStream,
  AirbyteCatalog,
  DestinationMessage,
  SourceMessage,
  StateMessage,
  RecordBatch,
  DestinationSyncMode,
  SyncMode,
  Destination,
  RecordData,
} from '../../../src/protocol/index.js'
import { rowBatch } from '../../../src/protocol/index.js'
import { PostgresDestination } from '../../../src/connectors/postgres/postgres-destination.js'
import { runOptions, type TestDatabase } from '../../helpers/pg.js'

/** Configures every discovered stream (or the named ones) with the given modes. */
export function configure(
  catalog: AirbyteCatalog,
  opts: {
    syncMode?: SyncMode
    destinationSyncMode?: DestinationSyncMode
    cursorField?: string[]
    primaryKey?: string[][]
    names?: string[]
    generationId?: number
    minimumGenerationId?: number
  } = {},
): ConfiguredCatalog {
  const streams: ConfiguredStream[] = catalog.streams
    .filter((s) => !opts.names || opts.names.includes(s.name))
    .map((s) => ({
      stream: s,
      syncMode: opts.syncMode ?? 'full_refresh',
      destinationSyncMode: opts.destinationSyncMode ?? 'overwrite',
      cursorField: opts.cursorField ?? [],
      primaryKey: opts.primaryKey ?? s.sourceDefinedPrimaryKey ?? [],
      syncId: 7,
      generationId: opts.generationId ?? 0,
      minimumGenerationId: opts.minimumGenerationId ?? 0,
    }))
  return { streams }
}

/** Drains a source read: all records (decoded) and states, in order. */
export async function collect(messages: AsyncIterable<SourceMessage>): Promise<{
  rows: Record<string, unknown>[]
  states: StateMessage[]
  batches: RecordBatch[]
  order: string[]
}> {
  const rows: Record<string, unknown>[] = []
  const states: StateMessage[] = []
  const batches: RecordBatch[] = []
  const order: string[] = []
  for await (const m of messages) {
    if (m.type === 'RECORD_BATCH') {
      rows.push(...m.rows())
      batches.push(m)
      order.push(`batch:${m.count}`)
    } else if (m.type === 'STATE') {
      states.push(m)
      order.push('state')
    } else if (m.type === 'STREAM_STATUS') order.push(`status:${m.status}`)
  }
  return { rows, states, batches, order }
}

/** Runs a promise-returning fn and returns the error it rejects with (fails if it resolves). */
export async function rejection(fn: () => Promise<unknown>): Promise<Error & { code?: string; failureType?: string }> {
  try {
    await fn()
  } catch (err) {
    return err as Error & { code?: string; failureType?: string }
  }
  throw new Error('expected a rejection')
}

/**
 * Writes batches into Postgres as one incremental stream per table, a STATE after each batch and
 * COMPLETE at the end (key `id`, cursor `updated`), and reads tables back as JSON without their
 * random raw ids, in a fixed order: for tests comparing two ways of loading the same rows. The
 * database and the destination config are read when used (tests set them up in `before`).
 */
export function streamTables(
  db: () => TestDatabase,
  config: () => Record<string, unknown>,
  schema: Record<string, unknown>,
): {
  write(name: string, mode: DestinationSyncMode, batches: RecordBatch[]): Promise<void>
  contents(table: string): Promise<unknown[]>
} {
  const dest = new PostgresDestination()
  const catalogOf = (name: string, mode: DestinationSyncMode): ConfiguredCatalog => ({
    streams: [
      {
        stream: { name, namespace: null, jsonSchema: schema, supportedSyncModes: ['full_refresh', 'incremental'] },
        syncMode: 'incremental',
        destinationSyncMode: mode,
        cursorField: ['updated'],
        primaryKey: [['id']],
        syncId: 7,
        generationId: 3,
        minimumGenerationId: mode.startsWith('overwrite') ? 3 : 0,
      },
    ],
  })
  return {
    async write(name, mode, batches) {
      async function* input(): AsyncGenerator<DestinationMessage> {
        for (const b of batches) {
          yield b
          yield { type: 'STATE', stream: { name, namespace: null }, data: { after: b.emittedAt } }
        }
        yield { type: 'STREAM_STATUS', stream: { name, namespace: null }, status: 'COMPLETE' }
      }
      let states = 0
      for await (const _ of dest.write(config(), catalogOf(name, mode), input(), runOptions())) states++
      assert.equal(states, batches.length)
    },
    async contents(table) {
      const schemaName = String(config().schema)
      const r = await db().query(`SELECT to_jsonb(t) - '_airbyte_raw_id' AS j FROM ${schemaName}.${table} t ORDER BY (to_jsonb(t) - '_airbyte_raw_id')::text`)
      return r.rows.map((x) => x.j)
    },
  }
}

/** A STATE of stream `name` (no namespace) carrying `{ n }`. */
export function testState(name: string, n: number): StateMessage {
  return { type: 'STATE', stream: { name, namespace: null }, data: { n } }
}

/** Destination input for stream `name`: a row batch per array (rising emittedAt), states as given, 'COMPLETE' as its status. */
export async function* recordMessages(name: string, parts: Array<RecordData[] | StateMessage | 'COMPLETE'>): AsyncGenerator<DestinationMessage> {
  let t = Date.now()
  for (const p of parts) {
    if (p === 'COMPLETE') yield { type: 'STREAM_STATUS', stream: { name, namespace: null }, status: 'COMPLETE' }
    else if (Array.isArray(p)) yield rowBatch({ name, namespace: null }, p, { emittedAt: t++ })
    else yield p
  }
}

/** Runs a destination write to its end; the echoed states, each handed to `onState` as it comes. */
export async function writeAll(
  destination: Destination,
  config: Record<string, unknown>,
  catalog: ConfiguredCatalog,
  input: AsyncIterable<DestinationMessage>,
  onState?: (s: StateMessage) => Promise<void>,
): Promise<StateMessage[]> {
  const out: StateMessage[] = []
  for await (const s of destination.write(config, catalog, input, runOptions())) {
    out.push(s)
    await onState?.(s)
  }
  return out
}
