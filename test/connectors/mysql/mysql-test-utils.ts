import type { AirbyteCatalog, ConfiguredCatalog, RecordBatch, SourceMessage, StateMessage, SyncMode } from '../../../src/protocol/index.js'

/** Configures the named discovered streams (all when no names) with the given modes. */
export function configure(catalog: AirbyteCatalog, opts: { syncMode?: SyncMode; cursorField?: string[]; names?: string[] } = {}): ConfiguredCatalog {
  return {
    streams: catalog.streams
      .filter((s) => !opts.names || opts.names.includes(s.name))
      .map((s) => ({
        stream: s,
        syncMode: opts.syncMode ?? 'full_refresh',
        destinationSyncMode: opts.syncMode === 'incremental' ? 'append_dedup' : 'overwrite',
        cursorField: opts.cursorField ?? s.defaultCursorField ?? [],
        primaryKey: s.sourceDefinedPrimaryKey ?? [],
        syncId: 1,
        generationId: 0,
        minimumGenerationId: 0,
      })),
  }
}

/** Drains a source read: rows (decoded), states, batches and the message order. */
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
