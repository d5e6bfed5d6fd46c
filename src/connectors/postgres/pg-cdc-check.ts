import { configError } from '../../errors.js'
import type { CdcReplicationConfig, PostgresSourceConfig } from './postgres-config.js'
import type { PgClient } from './pg-client.js'

/** The slot as `pg_replication_slots` shows it, with the server's current WAL position. */
export interface SlotStatus {
  plugin: string | null
  slotType: string
  database: string | null
  active: boolean
  activePid: number | null
  restartLsn: string | null
  confirmedFlushLsn: string | null
  /** `reserved`, `extended`, `unreserved` or `lost` (PostgreSQL 13+). */
  walStatus: string | null
  currentLsn: string
  /** `pg_current_wal_lsn() - confirmed_flush_lsn` in bytes: the WAL the slot holds. */
  lagBytes: number | null
}

/** Reads the slot, or undefined when it does not exist. */
export async function loadSlotStatus(client: PgClient, slot: string): Promise<SlotStatus | undefined> {
  const r = await client.query<{
    plugin: string | null
    slot_type: string
    database: string | null
    active: boolean
    active_pid: number | null
    restart_lsn: string | null
    confirmed_flush_lsn: string | null
    wal_status: string | null
    current_lsn: string
    lag_bytes: string | null
  }>(
    `SELECT plugin, slot_type, database, active, active_pid, restart_lsn::text, confirmed_flush_lsn::text, wal_status,
            pg_current_wal_lsn()::text AS current_lsn,
            (pg_current_wal_lsn() - confirmed_flush_lsn)::text AS lag_bytes
     FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  )
  const row = r.rows[0]
  if (!row) return undefined
  return {
    plugin: row.plugin,
    slotType: row.slot_type,
    database: row.database,
    active: row.active,
    activePid: row.active_pid,
    restartLsn: row.restart_lsn,
    confirmedFlushLsn: row.confirmed_flush_lsn,
    walStatus: row.wal_status,
    currentLsn: row.current_lsn,
    lagBytes: row.lag_bytes === null ? null : Number(row.lag_bytes),
  }
}

/**
 * What is wrong with the slot for a sync of `database`, as a message naming the fix, or
 * undefined when it is usable. `active` is not judged here (a sync waits for it to end).
 */
export function slotProblem(status: SlotStatus | undefined, slot: string, database: string): string | undefined {
  const create = `SELECT pg_create_logical_replication_slot('${slot.replace(/'/g, "''")}', 'pgoutput');`
  if (!status) return `Replication slot "${slot}" does not exist. Create it in database "${database}": ${create}`
  if (status.slotType !== 'logical' || status.plugin !== 'pgoutput') {
    return `Replication slot "${slot}" uses plugin "${status.plugin ?? status.slotType}", not pgoutput: drop it and create it again with ${create}`
  }
  if (status.database !== database) {
    return `Replication slot "${slot}" belongs to database "${status.database}", not "${database}": create a slot in "${database}" (${create}).`
  }
  if (status.walStatus === 'lost' || status.restartLsn === null) {
    return (
      `Replication slot "${slot}" is invalidated (wal_status ${status.walStatus ?? 'unknown'}): the WAL it needed was removed (max_slot_wal_keep_size). ` +
      `Drop it (SELECT pg_drop_replication_slot('${slot.replace(/'/g, "''")}');), create it again (${create}) and reset the connection's data for a full re-sync.`
    )
  }
  return undefined
}

/** Checks every CDC prerequisite; returns the first problem as a message naming the fix. */
export async function checkCdc(
  client: PgClient,
  config: PostgresSourceConfig,
  cdc: Required<CdcReplicationConfig>,
): Promise<string | undefined> {
  const settings = await client.query<{ wal_level: string; replication: boolean; superuser: boolean }>(
    `SELECT current_setting('wal_level') AS wal_level, r.rolreplication AS replication, r.rolsuper AS superuser
     FROM pg_roles r WHERE r.rolname = current_user`,
  )
  const s = settings.rows[0]
  if (s?.wal_level !== 'logical') {
    return `wal_level is "${s?.wal_level ?? 'unknown'}", CDC needs "logical": run ALTER SYSTEM SET wal_level = logical; and restart PostgreSQL.`
  }
  if (!s.replication && !s.superuser) {
    return `User "${config.username}" has neither the REPLICATION attribute nor superuser: run ALTER ROLE "${config.username}" WITH REPLICATION;`
  }
  const slot = await loadSlotStatus(client, cdc.replication_slot)
  const problem = slotProblem(slot, cdc.replication_slot, config.database)
  if (problem) return problem
  if (slot?.active) {
    return `Replication slot "${cdc.replication_slot}" is in use by another process (PID ${slot.activePid}): stop that consumer or give sluice its own slot.`
  }
  const pub = await client.query<{ pubname: string }>(`SELECT pubname FROM pg_publication WHERE pubname = $1`, [cdc.publication])
  if (pub.rowCount === 0) {
    return `Publication "${cdc.publication}" does not exist in database "${config.database}": run CREATE PUBLICATION "${cdc.publication}" FOR TABLE <the tables to sync>;`
  }
  const tables = await publicationTables(client, cdc.publication)
  if (tables.length === 0) {
    return `Publication "${cdc.publication}" covers no table: run ALTER PUBLICATION "${cdc.publication}" ADD TABLE <the tables to sync>;`
  }
  const unreadable = await client.query<{ name: string }>(
    `SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_publication_tables
     WHERE pubname = $1 AND NOT has_table_privilege(format('%I.%I', schemaname, tablename), 'SELECT') ORDER BY 1`,
    [cdc.publication],
  )
  if (unreadable.rowCount) {
    return `User "${config.username}" cannot SELECT ${unreadable.rows.map((r) => r.name).join(', ')} of publication "${cdc.publication}": grant SELECT (the initial snapshot reads them).`
  }
  return undefined
}

/** The tables of a publication, as `schema.name` pairs. */
export async function publicationTables(client: PgClient, publication: string): Promise<{ schema: string; name: string }[]> {
  const r = await client.query<{ schema: string; name: string }>(
    `SELECT schemaname AS schema, tablename AS name FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1, 2`,
    [publication],
  )
  return r.rows
}

/** Throws the slot's problem as a config error (a sync cannot go on without a usable slot). */
export function assertSlotUsable(status: SlotStatus | undefined, slot: string, database: string): SlotStatus {
  const problem = slotProblem(status, slot, database)
  if (problem || !status) throw configError(problem ?? `Replication slot "${slot}" does not exist.`)
  return status
}
