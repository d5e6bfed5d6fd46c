import type { StateMessage, StreamDescriptor, StreamStats } from '../protocol/index.js'
import type { AttemptProgress } from './types.js'

/** A state forwarded to the destination and not yet echoed, with the stream's totals at that point. */
export interface PendingState {
  /** The message sent to the destination (destination-side names). */
  forwarded: StateMessage
  /** The message as the source emitted it (source-side names): what onStateCommitted gets. */
  original: StateMessage
  /** JSON of `data`, to recognise an echo that is a copy rather than the same object. */
  dataKey: string
  recordsEmitted: number
  bytesEmitted: number
}

/** Per-stream bookkeeping of one attempt. */
export class StreamRun {
  readonly stats: StreamStats = { recordsEmitted: 0, bytesEmitted: 0, recordsCommitted: 0, bytesCommitted: 0, stateMessagesEmitted: 0 }
  /** Records emitted since the previous state of this stream. */
  recordsSinceState = 0
  readonly pending: PendingState[] = []
  started = false
  completeSent = false

  constructor(
    readonly source: StreamDescriptor,
    readonly destination: StreamDescriptor,
    /** Source and destination descriptors are equal: batches pass as they are. */
    readonly identity: boolean,
    /** The top-level fields the stream's records keep (a field selection); undefined: every field. */
    readonly fields?: ReadonlySet<string>,
  ) {}

  addRecords(count: number, bytes: number): void {
    this.stats.recordsEmitted += count
    this.stats.bytesEmitted += bytes
    this.recordsSinceState += count
  }

  /** Records a state on its way to the destination. */
  addState(original: StateMessage, forwarded: StateMessage): void {
    this.stats.stateMessagesEmitted++
    this.recordsSinceState = 0
    this.pending.push({
      forwarded,
      original,
      dataKey: JSON.stringify(original.data),
      recordsEmitted: this.stats.recordsEmitted,
      bytesEmitted: this.stats.bytesEmitted,
    })
  }

  /**
   * Finds the pending state an echo stands for and drops it and every earlier one (a
   * destination may skip states but keeps their order). Identity first, else the first state
   * with equal data: the conservative choice when equal states repeat.
   */
  takeEchoed(echo: StateMessage): PendingState | undefined {
    let index = this.pending.findIndex((p) => p.forwarded === echo)
    if (index < 0) {
      const key = JSON.stringify(echo.data)
      index = this.pending.findIndex((p) => p.dataKey === key)
    }
    if (index < 0) return undefined
    const entry = this.pending[index]
    this.pending.splice(0, index + 1)
    return entry
  }

  commit(entry: PendingState): void {
    this.stats.recordsCommitted = Math.max(this.stats.recordsCommitted, entry.recordsEmitted)
    this.stats.bytesCommitted = Math.max(this.stats.bytesCommitted, entry.bytesEmitted)
  }

  /** A fully successful attempt: everything emitted is committed (Airbyte §6.7). */
  commitAll(): void {
    this.stats.recordsCommitted = this.stats.recordsEmitted
    this.stats.bytesCommitted = this.stats.bytesEmitted
    this.pending.length = 0
  }
}

/** Totals and per-stream stats, as copies (safe to keep after the attempt moves on). */
export function snapshotStats(runs: Iterable<StreamRun>): AttemptProgress {
  const totalStats: StreamStats = { recordsEmitted: 0, bytesEmitted: 0, recordsCommitted: 0, bytesCommitted: 0, stateMessagesEmitted: 0 }
  const streamStats: AttemptProgress['streamStats'] = []
  for (const run of runs) {
    const s = run.stats
    totalStats.recordsEmitted += s.recordsEmitted
    totalStats.bytesEmitted += s.bytesEmitted
    totalStats.recordsCommitted += s.recordsCommitted
    totalStats.bytesCommitted += s.bytesCommitted
    totalStats.stateMessagesEmitted += s.stateMessagesEmitted
    streamStats.push({
      streamName: run.source.name,
      ...(run.source.namespace ? { streamNamespace: run.source.namespace } : {}),
      stats: { ...s },
    })
  }
  return { totalStats, streamStats }
}
