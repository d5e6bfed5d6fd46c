import { randomBytes } from 'node:crypto'
import type { RecordBatch, RecordChange, RunOptions, SourceMessage } from '../../protocol/index.js'
import { streamKey } from '../../protocol/index.js'
import { cancelledError, configError, isSluiceError } from '../../errors.js'
import type { FieldDecoder } from '../../formats/copy-text-values.js'
import { errorContext, type CdcReplicationConfig, type PostgresSourceConfig } from './postgres-config.js'
import { fromPgError } from './postgres-errors.js'
import type { PgClient } from './pg-client.js'
import { assertSlotUsable, loadSlotStatus, type SlotStatus } from './pg-cdc-check.js'
import { CDC_META_COLUMNS, cdcStateOf, readCdcSnapshot, type CdcStreamState } from './pg-cdc-snapshot.js'
import { copyBatch, fieldDecoders, stateMessage } from './pg-copy-read.js'
import {
  formatLsn,
  parseLsn,
  pgTimeToIso,
  ReplicationStream,
  type PgoutputRelation,
  type ReplicationMessage,
  type TupleValue,
} from './pg-replication-stream.js'
import type { PgColumn } from './pg-source-types.js'
import type { PgStreamRead, PostgresSourceOptions } from './pg-stream-read.js'

/** One incremental stream of a CDC sync, as the source shell prepared it. */
export interface CdcStream {
  read: PgStreamRead
  saved: Record<string, unknown> | null
}

/** Everything a CDC sync needs besides its streams. */
export interface CdcReadContext {
  client: PgClient
  config: PostgresSourceConfig
  cdc: Required<CdcReplicationConfig>
  options: PostgresSourceOptions
  run: RunOptions
}

/** The prefix of the logical messages sluice writes into the WAL (sync end markers, heartbeats). */
export const CDC_MESSAGE_PREFIX = 'sluice'

/** How long a sync waits for a slot still held by the walsender of a previous session. */
const SLOT_RELEASE_WAIT_MS = 10_000

/** Per stream state of the streaming phase. */
interface StreamRun {
  read: PgStreamRead
  /** Commits whose record starts before this position are already in the destination. */
  lsn: bigint
  columns: PgColumn[]
  decoders: FieldDecoder[]
  /** For each relation oid: where each selected column sits in the pgoutput tuple (-1: absent). */
  layouts: Map<number, number[]>
  pending: Buffer[]
  pendingBytes: number
  pendingRows: number
  changes: Map<number, RecordChange[]>
  toastWarned: boolean
}

/**
 * A CDC sync: the initial snapshot of streams that have none (resumable, chunk by chunk),
 * then the changes of the publication's tables from the slot, up to a marker written into the
 * WAL when the sync starts (a bounded sync), with a STATE per stream at
 * transaction boundaries. The slot is acknowledged only up to the position the last sync saved
 * ("After loading Data in the destination"), or as states are emitted ("While reading Data").
 */
export async function* readCdc(ctx: CdcReadContext, streams: CdcStream[]): AsyncGenerator<SourceMessage> {
  const { client, config, cdc, run } = ctx
  const slotName = cdc.replication_slot
  const slot = assertSlotUsable(await loadSlotStatus(client, slotName), slotName, config.database)
  yield* reportSlot(ctx, slot)
  const confirmed = parseLsn(slot.confirmedFlushLsn ?? '0/0')

  const states = new Map<string, CdcStreamState | undefined>()
  for (const s of streams) {
    let state = cdcStateOf(s.saved)
    if (state && parseLsn(state.lsn) < confirmed) {
      const what = `The saved position ${state.lsn} of ${s.read.label} is behind replication slot "${slotName}" (confirmed_flush_lsn ${slot.confirmedFlushLsn}): the changes in between are no longer in the slot.`
      if (cdc.invalid_cdc_cursor_position_behavior === 'Fail sync') {
        throw configError(
          `${what} Reset the connection's data for a full re-sync, or set invalid_cdc_cursor_position_behavior to "Re-sync data".`,
        )
      }
      yield { type: 'LOG', level: 'WARN', message: `${what} Reading the table again (invalid_cdc_cursor_position_behavior "Re-sync data").` }
      state = undefined
    }
    states.set(streamKey(s.read.stream), state)
  }
  const saved = [...states.values()].filter((s): s is CdcStreamState => s !== undefined).map((s) => parseLsn(s.lsn))
  // The oldest saved position is where changes resume, and what the slot may be told it can drop.
  const startLsn = saved.length > 0 ? saved.reduce((a, b) => (a < b ? a : b)) : confirmed
  const token = await writeEndMarker(ctx)

  for (const s of streams) {
    const key = streamKey(s.read.stream)
    let state = states.get(key)
    if (!state) {
      // restart_lsn is at or before the first change of every transaction that commits after
      // startLsn, so snapshot rows rank below any change the stream replays.
      state = {
        version: 2,
        state_type: 'cdc',
        lsn: formatLsn(startLsn),
        snapshot: { label_lsn: slot.restartLsn ?? formatLsn(startLsn), started_at: new Date().toISOString(), page: 0 },
      }
      yield stateMessage(s.read.stream, state as unknown as Record<string, unknown>)
    }
    if (state.snapshot) {
      const snapshotState = state as CdcStreamState & { snapshot: NonNullable<CdcStreamState['snapshot']> }
      if (state.snapshot.page > 0) yield { type: 'LOG', level: 'INFO', message: `Resuming the snapshot of ${s.read.label} at page ${state.snapshot.page}.` }
      state = yield* readCdcSnapshot(s.read, snapshotState, ctx.options.snapshotChunkBytes)
      yield stateMessage(s.read.stream, state as unknown as Record<string, unknown>)
    }
    states.set(key, state)
  }
  if (run.signal.aborted) throw cancelledError()
  yield* streamChanges(ctx, streams, states, startLsn, token)
}

/**
 * Runs the heartbeat query, then writes the marker the sync's change stream ends at, when the
 * sync starts (as Airbyte takes its target LSN before the initial load): every transaction
 * committed before it has then been sent. Changes committed while an initial snapshot runs are
 * read by the next sync, so a snapshot sync does not also decode the WAL written during it (the
 * destination's own, when it shares the server). The marker is transactional because decoding
 * drops non-transactional messages written while a restarted decoder is not yet consistent.
 * Writing it also gives an idle database WAL to move the slot with (a heartbeat). Returns its token.
 */
async function writeEndMarker(ctx: CdcReadContext): Promise<string> {
  if (ctx.cdc.heartbeat_action_query.trim() !== '') await ctx.client.query(ctx.cdc.heartbeat_action_query)
  const token = randomBytes(8).toString('hex')
  await ctx.client.query(`SELECT pg_logical_emit_message(true, $1, $2)`, [CDC_MESSAGE_PREFIX, token])
  return token
}

/** Logs the slot's lag (and warns over the threshold). */
function* reportSlot(ctx: CdcReadContext, slot: SlotStatus): Generator<SourceMessage> {
  const lag = slot.lagBytes ?? 0
  const message =
    `Replication slot "${ctx.cdc.replication_slot}": confirmed_flush_lsn ${slot.confirmedFlushLsn}, restart_lsn ${slot.restartLsn}, ` +
    `wal_status ${slot.walStatus}, current WAL ${slot.currentLsn}, lag ${lag} bytes.`
  yield { type: 'LOG', level: 'INFO', message }
  if (lag > ctx.options.cdcLagWarnBytes) {
    yield {
      type: 'LOG',
      level: 'WARN',
      message: `Replication slot "${ctx.cdc.replication_slot}" holds ${(lag / 1024 / 1024).toFixed(0)} MiB of WAL (over ${(ctx.options.cdcLagWarnBytes / 1024 / 1024).toFixed(0)} MiB): sync more often, or check that syncs succeed.`,
    }
  }
}

/** Waits (briefly) for the walsender of an earlier session to release the slot. */
async function waitForSlotRelease(ctx: CdcReadContext): Promise<void> {
  const deadline = Date.now() + SLOT_RELEASE_WAIT_MS
  for (;;) {
    const status = assertSlotUsable(await loadSlotStatus(ctx.client, ctx.cdc.replication_slot), ctx.cdc.replication_slot, ctx.config.database)
    if (!status.active) return
    if (Date.now() > deadline) {
      throw configError(
        `Replication slot "${ctx.cdc.replication_slot}" is in use by another process (PID ${status.activePid}): stop that consumer or give sluice its own slot.`,
      )
    }
    if (ctx.run.signal.aborted) throw cancelledError()
    await new Promise((r) => setTimeout(r, 200))
  }
}

async function* streamChanges(
  ctx: CdcReadContext,
  streams: CdcStream[],
  states: Map<string, CdcStreamState | undefined>,
  startLsn: bigint,
  token: string,
): AsyncGenerator<SourceMessage> {
  const { cdc, run, options } = ctx
  const byTable = new Map<string, StreamRun>()
  const runs: StreamRun[] = []
  for (const s of streams) {
    const state = states.get(streamKey(s.read.stream))!
    const columns = [...s.read.columns, ...CDC_META_COLUMNS]
    const r: StreamRun = {
      read: s.read,
      lsn: parseLsn(state.lsn),
      columns,
      decoders: fieldDecoders(columns),
      layouts: new Map(),
      pending: [],
      pendingBytes: 0,
      pendingRows: 0,
      changes: new Map(),
      toastWarned: false,
    }
    runs.push(r)
    byTable.set(tableKey(s.read.relation.schema, s.read.relation.name), r)
  }
  await waitForSlotRelease(ctx)
  const replication = await ReplicationStream.open(
    ctx.config,
    { slot: cdc.replication_slot, publication: cdc.publication, startLsn, signal: run.signal, logger: run.logger },
    startLsn,
  )
  const whileReading = cdc.lsn_commit_behaviour === 'While reading Data'
  const onAbort = (): void => replication.close()
  run.signal.addEventListener('abort', onAbort, { once: true })
  // One timer checks for idleness (re-arming a timer per message costs more than a change).
  let lastData = Date.now()
  let timedOut = false
  const idle = setInterval(() => {
    if (Date.now() - lastData < cdc.initial_waiting_seconds * 1000) return
    timedOut = true
    replication.close()
  }, 1000)
  let markerInTxn = false
  let lastCommitEnd: bigint | undefined
  let reachedMarker: bigint | undefined
  let rowsSinceCheckpoint = 0
  let txn: { finalLsn: bigint; commitTime: Buffer } | undefined
  const warnedColumns = new Set<string>()
  const checkpoint = function* (lsn: bigint): Generator<SourceMessage> {
    for (const r of runs) yield* flush(r)
    for (const r of runs) {
      if (r.lsn < lsn) r.lsn = lsn
      const state: CdcStreamState = { version: 2, state_type: 'cdc', lsn: formatLsn(r.lsn) }
      yield stateMessage(r.read.stream, state as unknown as Record<string, unknown>)
    }
    rowsSinceCheckpoint = 0
    if (whileReading) replication.acknowledge(lsn)
  }
  try {
    for await (const m of replication.messages()) {
      // Keepalives come on a busy server too: only data counts as activity.
      if (m.tag !== 'keepalive') lastData = Date.now()
      switch (m.tag) {
        case 'begin':
          txn = { finalLsn: m.finalLsn, commitTime: Buffer.from(pgTimeToIso(m.commitTime)) }
          break
        case 'relation':
          for (const w of layoutWarnings(byTable.get(tableKey(m.relation.schema, m.relation.name)), m.relation, warnedColumns)) {
            yield { type: 'LOG', level: 'WARN', message: w }
          }
          break
        case 'insert':
        case 'update':
        case 'delete': {
          const r = byTable.get(tableKey(m.relation.schema, m.relation.name))
          if (!r || !txn || txn.finalLsn < r.lsn) break
          const warning = appendChange(r, m, txn.commitTime)
          if (warning) yield { type: 'LOG', level: 'WARN', message: warning }
          rowsSinceCheckpoint++
          if (r.pendingBytes >= options.batchBytes || r.pendingRows >= cdc.queue_size) yield* flush(r)
          break
        }
        case 'truncate':
          for (const rel of m.relations) {
            const r = byTable.get(tableKey(rel.schema, rel.name))
            if (!r || !txn || txn.finalLsn < r.lsn) continue
            yield {
              type: 'LOG',
              level: 'WARN',
              message: `${r.read.label} was truncated at ${formatLsn(m.lsn)}: CDC carries no row for a TRUNCATE, so the destination keeps the rows it has. Refresh the stream (clear its data) to remove them.`,
            }
          }
          break
        case 'commit':
          txn = undefined
          lastCommitEnd = m.endLsn
          if (markerInTxn) reachedMarker = m.endLsn
          else if (rowsSinceCheckpoint >= options.checkpointRows) yield* checkpoint(m.endLsn)
          break
        case 'message':
          if (m.prefix === CDC_MESSAGE_PREFIX && m.content.toString('utf8') === token) markerInTxn = true
          break
        case 'keepalive':
        case 'other':
          break
      }
      if (reachedMarker !== undefined) break
    }
  } catch (err) {
    if (run.signal.aborted) throw cancelledError()
    if (!timedOut) throw isSluiceError(err) ? err : fromPgError(err, errorContext(ctx.config, `reading changes from slot "${cdc.replication_slot}"`))
  } finally {
    clearInterval(idle)
    run.signal.removeEventListener('abort', onAbort)
    replication.close()
  }
  if (run.signal.aborted) throw cancelledError()
  if (reachedMarker !== undefined) {
    yield* checkpoint(reachedMarker)
  } else {
    yield {
      type: 'LOG',
      level: 'WARN',
      message: `No change arrived for ${cdc.initial_waiting_seconds} s before the stream reached the position taken at the start of the sync: ending the sync at the last complete transaction.`,
    }
    if (lastCommitEnd !== undefined) yield* checkpoint(lastCommitEnd)
  }
}

function tableKey(schema: string, name: string): string {
  return JSON.stringify([schema, name])
}

/** Maps a Relation message onto a stream's columns; warns about columns the catalog does not have. */
function layoutWarnings(r: StreamRun | undefined, rel: PgoutputRelation, warned: Set<string>): string[] {
  if (!r) return []
  const position = new Map(rel.columns.map((c, i) => [c.name, i]))
  r.layouts.set(rel.oid, r.read.columns.map((c) => position.get(c.name) ?? -1))
  const known = new Set(r.read.columns.map((c) => c.name))
  const out: string[] = []
  for (const c of rel.columns) {
    const key = `${r.read.label}.${c.name}`
    if (known.has(c.name) || warned.has(key)) continue
    warned.add(key)
    out.push(`Column "${c.name}" of ${r.read.label} is not in the configured catalog (added after discover?): its changes are read without it. Refresh the source schema to sync it.`)
  }
  return out
}

const BACKSLASH = 0x5c
const NEWLINE = 0x0a
const CARRIAGE = 0x0d
const TAB = 0x09
const NULL_FIELD = Buffer.from('\\N')

/** Writes one value as a COPY text field (escaping backslash, tab, newline, carriage return). */
function pushField(parts: Buffer[], value: Buffer): number {
  let special = false
  for (let i = 0; i < value.length; i++) {
    const b = value[i]!
    if (b === BACKSLASH || b === NEWLINE || b === CARRIAGE || b === TAB) {
      special = true
      break
    }
  }
  if (!special) {
    parts.push(value)
    return value.length
  }
  const out: number[] = []
  for (const b of value) {
    if (b === BACKSLASH) out.push(BACKSLASH, BACKSLASH)
    else if (b === NEWLINE) out.push(BACKSLASH, 0x6e)
    else if (b === CARRIAGE) out.push(BACKSLASH, 0x72)
    else if (b === TAB) out.push(BACKSLASH, 0x74)
    else out.push(b)
  }
  const buf = Buffer.from(out)
  parts.push(buf)
  return buf.length
}

const TAB_BUF = Buffer.from('\t')
const NL_BUF = Buffer.from('\n')

/**
 * Appends one change as a COPY text line of the stream's columns plus the change columns.
 * Deletes carry the key (or the old row under REPLICA IDENTITY FULL) and `_ab_cdc_deleted_at`.
 * An unchanged TOAST value takes the old row's value when the WAL has it (REPLICA IDENTITY
 * FULL); otherwise it is NULL with a change in `_airbyte_meta`, and a warning.
 */
function appendChange(
  r: StreamRun,
  m: Extract<ReplicationMessage, { tag: 'insert' | 'update' | 'delete' }>,
  commitTime: Buffer,
): string | undefined {
  const layout = r.layouts.get(m.relation.oid) ?? []
  const tuple = m.tag === 'delete' ? m.oldTuple : m.newTuple
  const old = m.tag === 'update' ? m.oldTuple : null
  const parts: Buffer[] = []
  let warning: string | undefined
  for (let i = 0; i < r.read.columns.length; i++) {
    if (i > 0) parts.push(TAB_BUF)
    const at = layout[i] ?? -1
    let value: TupleValue = at >= 0 ? tuple[at] : null
    if (value === undefined) {
      value = old?.[at]
      if (value === undefined) {
        value = null
        const name = r.read.columns[i]!.name
        const row = r.pendingRows
        r.changes.set(row, [...(r.changes.get(row) ?? []), { field: name, change: 'NULLED', reason: 'SOURCE_RETRIEVAL_ERROR' }])
        if (!r.toastWarned) {
          r.toastWarned = true
          warning = `An update of ${r.read.label} left the large (TOAST) value of "${name}" unchanged and the WAL does not hold it: it is sent as NULL. Run ALTER TABLE ${r.read.table} REPLICA IDENTITY FULL; so updates carry every value.`
        }
      }
    }
    if (value === null) parts.push(NULL_FIELD)
    else pushField(parts, value)
  }
  const deletedAt = m.tag === 'delete' ? commitTime : NULL_FIELD
  parts.push(TAB_BUF, Buffer.from(m.lsn.toString()), TAB_BUF, commitTime, TAB_BUF, deletedAt, NL_BUF)
  const line = Buffer.concat(parts)
  r.pending.push(line)
  r.pendingBytes += line.length
  r.pendingRows++
  return warning
}

/** Emits a stream's pending changes as one record batch. */
function* flush(r: StreamRun): Generator<RecordBatch> {
  if (r.pendingRows === 0) return
  const batch = copyBatch(r.read.stream, r.columns, r.decoders, Buffer.concat(r.pending, r.pendingBytes), r.pendingRows)
  const changes = r.changes
  r.pending = []
  r.pendingBytes = 0
  r.pendingRows = 0
  r.changes = new Map()
  yield changes.size > 0 ? { ...batch, changes } : batch
}
