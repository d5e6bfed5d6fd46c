import pg from 'pg'
import { PG_HOST, PG_PORT, PG_USER, type TestDatabase } from '../../helpers/pg.js'

/** Creates a pgoutput slot in the test database, named after the database and `tag` (slots are cluster-wide). */
export async function createSlot(db: TestDatabase, tag: string): Promise<string> {
  const slot = `${db.name}_${tag}`.slice(0, 63)
  await db.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot])
  return slot
}

/**
 * Drops the slots (a leftover slot holds WAL forever on a shared server), waiting for their
 * walsenders to exit and terminating them if they do not.
 */
export async function dropSlots(slots: readonly string[]): Promise<void> {
  if (slots.length === 0) return
  const c = new pg.Client({ host: PG_HOST, port: PG_PORT, user: PG_USER, database: 'postgres' })
  await c.connect()
  try {
    for (let i = 0; i < 50; i++) {
      const active = await c.query(`SELECT active_pid FROM pg_replication_slots WHERE slot_name = ANY($1) AND active`, [slots])
      if (active.rowCount === 0) break
      if (i === 25) for (const r of active.rows) await c.query(`SELECT pg_terminate_backend($1)`, [r.active_pid])
      await new Promise((r) => setTimeout(r, 200))
    }
    await c.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ANY($1)`, [slots])
  } finally {
    await c.end()
  }
}

/** Waits until no walsender holds the slot (a closed session's walsender exits asynchronously). */
export async function waitForSlotInactive(slot: string): Promise<void> {
  const c = new pg.Client({ host: PG_HOST, port: PG_PORT, user: PG_USER, database: 'postgres' })
  await c.connect()
  try {
    for (let i = 0; i < 100; i++) {
      const r = await c.query(`SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active`, [slot])
      if (r.rowCount === 0) return
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error(`slot ${slot} is still active`)
  } finally {
    await c.end()
  }
}
