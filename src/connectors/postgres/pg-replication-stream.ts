import pg from 'pg'
import * as copyStreams from 'pg-copy-streams'
import type { Duplex } from 'node:stream'
import type { ConnectorLogger } from '../../protocol/index.js'
import { cancelledError, configError, isSluiceError, transientError } from '../../errors.js'
import { errorContext, toClientConfig, type PostgresConnectionConfig } from './postgres-config.js'
import { fromPgError } from './postgres-errors.js'
import { destroyPg } from './pg-client.js'
import { quoteIdent } from './pg-identifiers.js'

/** `X/Y` text of a WAL position to its 64-bit value. */
export function parseLsn(text: string): bigint {
  const slash = text.indexOf('/')
  if (slash < 0) throw configError(`"${text}" is not a WAL position (LSN).`)
  return (BigInt(`0x${text.slice(0, slash)}`) << 32n) | BigInt(`0x${text.slice(slash + 1)}`)
}

/** A 64-bit WAL position as Postgres writes it (`16/B374D848`). */
export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`
}

/** A relation as pgoutput describes it before the first change of a table in a session. */
export interface PgoutputRelation {
  oid: number
  schema: string
  name: string
  /** `d` default, `n` nothing, `f` full, `i` index. */
  replicaIdentity: string
  columns: { name: string; typeOid: number; isKey: boolean }[]
}

/**
 * One column of a tuple: its text (the type's output function, in the session's DateStyle /
 * TimeZone), `null` for SQL NULL, `undefined` for an unchanged TOAST value the WAL does not hold.
 */
export type TupleValue = Buffer | null | undefined

/** A decoded pgoutput message (protocol version 1), or a keepalive of the walsender. */
export type ReplicationMessage =
  | { tag: 'begin'; finalLsn: bigint; commitTime: bigint; xid: number }
  | { tag: 'commit'; commitLsn: bigint; endLsn: bigint; commitTime: bigint }
  | { tag: 'relation'; relation: PgoutputRelation }
  | { tag: 'insert'; lsn: bigint; relation: PgoutputRelation; newTuple: TupleValue[] }
  | { tag: 'update'; lsn: bigint; relation: PgoutputRelation; oldTuple: TupleValue[] | null; newTuple: TupleValue[] }
  | { tag: 'delete'; lsn: bigint; relation: PgoutputRelation; oldTuple: TupleValue[] }
  | { tag: 'truncate'; lsn: bigint; relations: PgoutputRelation[] }
  | { tag: 'message'; lsn: bigint; prefix: string; content: Buffer }
  | { tag: 'keepalive'; walEnd: bigint; replyRequested: boolean }
  | { tag: 'other'; lsn: bigint }

/** Microseconds between the Unix epoch and Postgres' epoch (2000-01-01). */
const PG_EPOCH_US = 946_684_800_000_000n

/** A pgoutput timestamp (µs since 2000-01-01) as ISO 8601 UTC with microseconds. */
export function pgTimeToIso(us: bigint): string {
  const unixUs = us + PG_EPOCH_US
  const ms = unixUs / 1000n
  const iso = new Date(Number(ms)).toISOString()
  return `${iso.slice(0, 19)}.${(((unixUs % 1_000_000n) + 1_000_000n) % 1_000_000n).toString().padStart(6, '0')}Z`
}

/** Sequential reader of one CopyData payload. */
class Reader {
  pos = 0
  constructor(readonly buf: Buffer) {}
  u8(): number {
    return this.buf.readUInt8(this.pos++)
  }
  i16(): number {
    const v = this.buf.readInt16BE(this.pos)
    this.pos += 2
    return v
  }
  i32(): number {
    const v = this.buf.readInt32BE(this.pos)
    this.pos += 4
    return v
  }
  u64(): bigint {
    const v = this.buf.readBigUInt64BE(this.pos)
    this.pos += 8
    return v
  }
  i64(): bigint {
    const v = this.buf.readBigInt64BE(this.pos)
    this.pos += 8
    return v
  }
  cstring(): string {
    const end = this.buf.indexOf(0, this.pos)
    const s = this.buf.toString('utf8', this.pos, end)
    this.pos = end + 1
    return s
  }
  bytes(n: number): Buffer {
    const b = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return b
  }
}

/** Decodes the pgoutput payloads of one replication session (it keeps the relations it saw). */
export class PgoutputDecoder {
  readonly #relations = new Map<number, PgoutputRelation>()

  /** Decodes one CopyData payload of the walsender (`w` XLogData or `k` keepalive). */
  decode(frame: Buffer): ReplicationMessage {
    const r = new Reader(frame)
    const kind = r.u8()
    if (kind === 0x6b) {
      const walEnd = r.u64()
      r.i64()
      return { tag: 'keepalive', walEnd, replyRequested: r.u8() === 1 }
    }
    if (kind !== 0x77) return { tag: 'other', lsn: 0n }
    const lsn = r.u64()
    r.u64()
    r.i64()
    return this.#decodePgoutput(r, lsn)
  }

  #decodePgoutput(r: Reader, lsn: bigint): ReplicationMessage {
    const tag = r.u8()
    switch (tag) {
      case 0x42 /* B */:
        return { tag: 'begin', finalLsn: r.u64(), commitTime: r.i64(), xid: r.i32() }
      case 0x43 /* C */: {
        r.u8()
        return { tag: 'commit', commitLsn: r.u64(), endLsn: r.u64(), commitTime: r.i64() }
      }
      case 0x52 /* R */: {
        const oid = r.i32() >>> 0
        const schema = r.cstring()
        const name = r.cstring()
        const replicaIdentity = String.fromCharCode(r.u8())
        const n = r.i16()
        const columns: PgoutputRelation['columns'] = []
        for (let i = 0; i < n; i++) {
          const flags = r.u8()
          const colName = r.cstring()
          const typeOid = r.i32() >>> 0
          r.i32()
          columns.push({ name: colName, typeOid, isKey: (flags & 1) === 1 })
        }
        const relation: PgoutputRelation = { oid, schema, name, replicaIdentity, columns }
        this.#relations.set(oid, relation)
        return { tag: 'relation', relation }
      }
      case 0x49 /* I */: {
        const relation = this.#relation(r.i32())
        r.u8()
        return { tag: 'insert', lsn, relation, newTuple: tuple(r) }
      }
      case 0x55 /* U */: {
        const relation = this.#relation(r.i32())
        let kind = r.u8()
        let oldTuple: TupleValue[] | null = null
        if (kind === 0x4b /* K */ || kind === 0x4f /* O */) {
          oldTuple = tuple(r)
          kind = r.u8()
        }
        return { tag: 'update', lsn, relation, oldTuple, newTuple: tuple(r) }
      }
      case 0x44 /* D */: {
        const relation = this.#relation(r.i32())
        r.u8()
        return { tag: 'delete', lsn, relation, oldTuple: tuple(r) }
      }
      case 0x54 /* T */: {
        const n = r.i32()
        r.u8()
        const relations: PgoutputRelation[] = []
        for (let i = 0; i < n; i++) relations.push(this.#relation(r.i32()))
        return { tag: 'truncate', lsn, relations }
      }
      case 0x4d /* M */: {
        r.u8()
        const messageLsn = r.u64()
        const prefix = r.cstring()
        const content = r.bytes(r.i32())
        return { tag: 'message', lsn: messageLsn, prefix, content }
      }
      default:
        // Origin (O) and Type (Y) messages carry nothing a sync needs.
        return { tag: 'other', lsn }
    }
  }

  #relation(oid: number): PgoutputRelation {
    const rel = this.#relations.get(oid >>> 0)
    // pgoutput always sends a Relation message before the first change of a table in a session.
    if (!rel) throw transientError(`pgoutput sent a change of relation ${oid >>> 0} before describing it.`)
    return rel
  }
}

function tuple(r: Reader): TupleValue[] {
  const n = r.i16()
  const out: TupleValue[] = new Array(n)
  for (let i = 0; i < n; i++) {
    const kind = r.u8()
    if (kind === 0x74 /* t */) out[i] = r.bytes(r.i32())
    else if (kind === 0x6e /* n */) out[i] = null
    else if (kind === 0x75 /* u */) out[i] = undefined
    else throw transientError(`pgoutput sent an unknown tuple column kind ${kind}.`)
  }
  return out
}

/** Session settings of the walsender, so tuple text matches the COPY text of the snapshot. */
const WALSENDER_OPTIONS =
  "-c datestyle=ISO,YMD -c timezone=UTC -c intervalstyle=postgres -c extra_float_digits=3 -c bytea_output=hex -c client_encoding=UTF8"

type CopyBoth = Duplex & { submit(connection: unknown): void }
const copyBoth = (
  copyStreams as unknown as { both(sql: string, options: { alignOnCopyDataFrame: boolean; readableObjectMode: boolean; readableHighWaterMark: number }): CopyBoth }
).both

/** What opening a replication stream needs. */
export interface ReplicationStreamOptions {
  slot: string
  publication: string
  /** Where decoding starts (the server starts at the slot's confirmed_flush_lsn if later). */
  startLsn: bigint
  signal: AbortSignal
  logger: ConnectorLogger
  /** How often a standby status update is sent even when nothing arrives (the server's wal_sender_timeout is 60 s by default). */
  statusIntervalMs?: number
}

/**
 * One logical replication session over the streaming replication protocol (`pg` in
 * replication mode, CopyBoth through pg-copy-streams): START_REPLICATION with pgoutput, decoded
 * messages with backpressure (the socket is read only as fast as `messages()` is consumed), and
 * standby status updates that confirm exactly the position the caller allows (`acknowledge`).
 */
export class ReplicationStream {
  readonly #client: pg.Client
  readonly #copy: CopyBoth
  readonly #timer: NodeJS.Timeout
  readonly #decoder = new PgoutputDecoder()
  #ackLsn: bigint
  #closed = false

  private constructor(client: pg.Client, copy: CopyBoth, ackLsn: bigint, intervalMs: number) {
    this.#client = client
    this.#copy = copy
    this.#ackLsn = ackLsn
    this.#timer = setInterval(() => this.#sendStatus(false), intervalMs)
    this.#timer.unref()
  }

  /**
   * Opens the session. `ackLsn` is the position confirmed at once (the last position the
   * destination committed and sluice saved); the slot never moves past what `acknowledge` is given.
   */
  static async open(config: PostgresConnectionConfig, opts: ReplicationStreamOptions, ackLsn: bigint): Promise<ReplicationStream> {
    if (opts.signal.aborted) throw cancelledError()
    const base = toClientConfig(config, opts.logger)
    const client = new pg.Client({
      ...base,
      options: [WALSENDER_OPTIONS, base.options].filter(Boolean).join(' '),
      replication: 'database',
    } as pg.ClientConfig)
    client.on('error', () => undefined)
    const onAbort = (): void => destroyPg(client)
    opts.signal.addEventListener('abort', onAbort, { once: true })
    try {
      await client.connect()
      const pubs = `'${quoteIdent(opts.publication).replace(/'/g, "''")}'`
      const sql =
        `START_REPLICATION SLOT ${quoteIdent(opts.slot)} LOGICAL ${formatLsn(opts.startLsn)} ` +
        `(proto_version '1', publication_names ${pubs}, messages 'true')`
      // Object mode: one CopyData frame per read (a byte-mode Readable would merge frames).
      const copy = copyBoth(sql, { alignOnCopyDataFrame: true, readableObjectMode: true, readableHighWaterMark: 256 })
      copy.on('error', () => undefined)
      // Held until the server's CopyBothResponse, which is parsed once messages() reads: a
      // failed START_REPLICATION surfaces there.
      copy.write(statusUpdate(ackLsn, false))
      client.query(copy as unknown as pg.QueryConfig)
      return new ReplicationStream(client, copy, ackLsn, opts.statusIntervalMs ?? 10_000)
    } catch (err) {
      destroyPg(client)
      if (opts.signal.aborted) throw cancelledError()
      throw isSluiceError(err) ? err : fromPgError(err, errorContext(config, `starting replication from slot "${opts.slot}"`))
    } finally {
      opts.signal.removeEventListener('abort', onAbort)
    }
  }

  /** The decoded messages, pulled from the socket as they are consumed. */
  async *messages(): AsyncGenerator<ReplicationMessage> {
    for await (const frame of this.#copy as AsyncIterable<Buffer>) {
      const message = this.#decoder.decode(frame)
      if (message.tag === 'keepalive' && message.replyRequested) this.#sendStatus(false)
      yield message
    }
  }

  /** Allows the slot to discard WAL before `lsn` (never moves backwards). */
  acknowledge(lsn: bigint): void {
    if (lsn <= this.#ackLsn) return
    this.#ackLsn = lsn
    this.#sendStatus(false)
  }

  /** Asks the server for a keepalive (its reply carries the position it has decoded up to). */
  ping(): void {
    this.#sendStatus(true)
  }

  #sendStatus(replyRequested: boolean): void {
    if (this.#closed) return
    this.#copy.write(statusUpdate(this.#ackLsn, replyRequested))
  }

  /**
   * Ends the session. The socket is closed (the walsender exits and releases the slot); what
   * the slot keeps is decided by the last status update alone.
   */
  close(): void {
    this.#closed = true
    clearInterval(this.#timer)
    this.#copy.destroy()
    destroyPg(this.#client)
  }
}

/**
 * A standby status update. All three positions are the acknowledged one: the server reads the
 * flush position as the slot's confirmed_flush_lsn. It is the exact LSN (no "+1"): a
 * transaction whose commit record starts at that position must still be sent.
 */
function statusUpdate(lsn: bigint, replyRequested: boolean): Buffer {
  const b = Buffer.alloc(34)
  b.writeUInt8(0x72, 0)
  b.writeBigUInt64BE(lsn, 1)
  b.writeBigUInt64BE(lsn, 9)
  b.writeBigUInt64BE(lsn, 17)
  b.writeBigInt64BE(BigInt(Date.now()) * 1000n - PG_EPOCH_US, 25)
  b.writeUInt8(replyRequested ? 1 : 0, 33)
  return b
}
