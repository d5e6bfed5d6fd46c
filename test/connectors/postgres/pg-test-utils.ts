import type { ConfiguredCatalog, ConfiguredStream, AirbyteCatalog, SourceMessage, StateMessage, RecordBatch, DestinationSyncMode, SyncMode } from '../../../src/protocol/index.js'

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
