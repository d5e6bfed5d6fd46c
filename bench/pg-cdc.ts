/**
 * Postgres CDC against PostgreSQL's own tools (not a timed test).
 *
 *   node --import tsx bench/pg-cdc.ts                       # 2M-row table, 1M updates
 *   BENCH_ROWS=200000 BENCH_UPDATES=200000 node --import tsx bench/pg-cdc.ts
 *   BENCH_UPDATES=0 node --import tsx bench/pg-cdc.ts        # the snapshot part only
 *
 * Prints: the CDC initial snapshot of the table into Postgres append_dedup against a Standard
 * full refresh (overwrite) of the same table, and each source alone; then BENCH_UPDATES updates streamed by sluice
 * into append_dedup against `pg_recvlogical` draining a second slot, created at the same
 * position, to /dev/null; and each sluice phase's peak RSS. Uses its own databases and drops
 * its slots at the end.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { pathToFileURL } from 'node:url'
import pg from 'pg'
import { runAttempt } from '../src/engine/index.js'
import type { ConfiguredCatalog, StateMessage } from '../src/protocol/index.js'
import { PostgresDestination, PostgresSource } from '../src/connectors/postgres/index.js'
import { benchOptions, phaseArg, ratio, runPhase, timeShell, type PhaseResult } from './pg-to-pg.js'
import { tuneHeapForThroughput } from '../src/cli/heap-tuning.js'

// Every bench process runs with the heap setting of the `sluice` executable.
tuneHeapForThroughput()

const ROWS = Number(process.env.BENCH_ROWS ?? 2_000_000)
const UPDATES = Number(process.env.BENCH_UPDATES ?? 1_000_000)
const SRC = 'sluice_bench_cdc_src'
const DST = 'sluice_bench_cdc_dst'
const SLOT = 'sluice_bench_cdc'
const YARDSTICK_SLOT = 'sluice_bench_cdc_recvlogical'
const STATE_FILE = '/tmp/sluice-bench-cdc-state.json'
const conn = { host: '127.0.0.1', port: 5432, user: 'postgres' }
const sourceConfig = {
  ...conn,
  username: 'postgres',
  password: '',
  database: SRC,
  ssl: false,
  replication_method: { method: 'CDC', replication_slot: SLOT, publication: 'bench_pub', initial_waiting_seconds: 600 },
}

async function query(database: string, sql: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ ...conn, database })
  await c.connect()
  try {
    return await c.query(sql)
  } finally {
    await c.end()
  }
}

async function catalogOf(mode: 'cdc' | 'standard'): Promise<ConfiguredCatalog> {
  const cfg = mode === 'cdc' ? sourceConfig : { ...sourceConfig, replication_method: { method: 'Standard' } }
  const stream = (await new PostgresSource().discover(cfg, benchOptions())).streams.find((s) => s.name === 't')!
  return {
    streams: [
      mode === 'cdc'
        ? { stream, syncMode: 'incremental', destinationSyncMode: 'append_dedup', cursorField: ['_ab_cdc_lsn'], primaryKey: [['id']], syncId: 1, generationId: 1, minimumGenerationId: 0 }
        : { stream, syncMode: 'full_refresh', destinationSyncMode: 'overwrite', cursorField: [], primaryKey: [['id']], syncId: 1, generationId: 1, minimumGenerationId: 1 },
    ],
  }
}

/** One sync through the engine; CDC phases keep their committed state in STATE_FILE. */
async function sync(mode: 'cdc' | 'standard'): Promise<void> {
  const cfg = mode === 'cdc' ? sourceConfig : { ...sourceConfig, replication_method: { method: 'Standard' } }
  let state: StateMessage[] = mode === 'cdc' ? (JSON.parse(readFileSync(STATE_FILE, 'utf8')) as StateMessage[]) : []
  await runAttempt({
    source: new PostgresSource(),
    sourceConfig: cfg,
    destination: new PostgresDestination(),
    destinationConfig: { ...conn, username: 'postgres', password: '', database: DST, schema: mode === 'cdc' ? 'cdc' : 'standard', ssl: false },
    catalog: await catalogOf(mode),
    mapping: { namespaceDefinition: 'destination' },
    state,
    options: benchOptions(),
    async onStateCommitted(states) {
      state = states
      if (mode === 'cdc') writeFileSync(STATE_FILE, JSON.stringify(state))
    },
  })
}

/**
 * A source alone: CDC from the saved state (nothing is written or saved, so the slot keeps the
 * changes), up to the end of its snapshot (`snapshot`) or of the sync, or a Standard full refresh.
 */
async function drain(mode: 'cdc' | 'snapshot' | 'standard'): Promise<number> {
  const cfg = mode === 'standard' ? { ...sourceConfig, replication_method: { method: 'Standard' } } : sourceConfig
  const state = mode === 'standard' ? [] : (JSON.parse(readFileSync(STATE_FILE, 'utf8')) as StateMessage[])
  let n = 0
  for await (const m of new PostgresSource().read(cfg, await catalogOf(mode === 'standard' ? 'standard' : 'cdc'), state, benchOptions())) {
    if (m.type === 'RECORD_BATCH') n += m.count
    if (mode === 'snapshot' && m.type === 'STATE' && n > 0 && (m.data as { snapshot?: unknown }).snapshot === undefined) break
  }
  return n
}

async function prepare(): Promise<void> {
  for (const db of [SRC, DST]) {
    await query('postgres', `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name IN ('${SLOT}', '${YARDSTICK_SLOT}')`)
    await query('postgres', `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`)
    await query('postgres', `CREATE DATABASE ${db}`)
  }
  process.stderr.write(`generating ${ROWS} rows...\n`)
  await query(
    SRC,
    `CREATE TABLE t (id bigint PRIMARY KEY, name text, amount numeric(12,2), score double precision,
       active boolean, created_at timestamptz, day date, note text);
     INSERT INTO t SELECT g, 'customer ' || md5(g::text), (g % 100000) / 100.0, random(), g % 3 = 0,
       '2024-01-01'::timestamptz + g * interval '1 second', '2024-01-01'::date + (g % 365),
       repeat(chr(97 + g % 26), 20 + g % 30)
     FROM generate_series(1, ${ROWS}) g;
     CREATE PUBLICATION bench_pub FOR TABLE t;`,
  )
  await query(SRC, 'VACUUM ANALYZE t')
  writeFileSync(STATE_FILE, '[]')
}

/**
 * Before a timed phase: vacuums the destination database (a manual VACUUM takes over from an
 * autovacuum still busy with the last phase's 2M new rows) and checkpoints, so each phase starts
 * from the same quiet server.
 */
async function settle(): Promise<void> {
  await query(DST, 'VACUUM')
  await query(DST, 'CHECKPOINT')
}

/** In a phase child: runs fn, prints wall time, peak RSS and the process's CPU time (user + system) as the last stdout line. */
async function reportPhase(fn: () => Promise<unknown>): Promise<void> {
  const t0 = process.hrtime.bigint()
  const cpu0 = process.cpuUsage()
  await fn()
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  const cpu = process.cpuUsage(cpu0)
  console.log(JSON.stringify({ seconds, peakMb: process.resourceUsage().maxRSS / 1024, cpuSeconds: (cpu.user + cpu.system) / 1e6 }))
}

/** Peak RSS and CPU seconds of a phase, for the report lines. */
function usage(p: PhaseResult): string {
  return `peak RSS ${p.peakMb.toFixed(0)} MB, CPU ${((p as PhaseResult & { cpuSeconds: number }).cpuSeconds).toFixed(2)} s`
}

async function main(): Promise<void> {
  const phase = phaseArg()
  if (phase === 'cdc') return reportPhase(() => sync('cdc'))
  if (phase === 'standard') return reportPhase(() => sync('standard'))
  if (phase === 'drain') return reportPhase(() => drain('cdc'))
  if (phase === 'snapshot-drain') return reportPhase(() => drain('snapshot'))
  if (phase === 'standard-drain') return reportPhase(() => drain('standard'))
  const script = process.argv[1]!
  await prepare()
  try {
    await settle()
    const standard = await runPhase(script, 'standard')
    const standardDrain = await runPhase(script, 'standard-drain')
    // The slot is created right before the first CDC sync, as a user sets CDC up: the WAL the
    // Standard phase wrote (into another database) is not the snapshot's to decode.
    await query(SRC, `SELECT pg_create_logical_replication_slot('${SLOT}', 'pgoutput')`)
    const snapshotDrain = await runPhase(script, 'snapshot-drain')
    await settle()
    const snapshot = await runPhase(script, 'cdc')
    const count = await query(DST, 'SELECT count(*)::int AS n FROM cdc.t')
    if (count.rows[0].n !== ROWS) throw new Error(`snapshot wrote ${count.rows[0].n} rows`)
    console.log(`table t: ${ROWS} rows; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
    console.log(`Standard full refresh -> Postgres overwrite   ${standard.seconds.toFixed(2)} s  ${usage(standard)}`)
    console.log(
      `CDC snapshot -> Postgres append_dedup         ${snapshot.seconds.toFixed(2)} s  ${ratio(snapshot.seconds, standard.seconds)} Standard; ${usage(snapshot)}`,
    )
    console.log(`Standard full refresh, source alone          ${standardDrain.seconds.toFixed(2)} s  ${usage(standardDrain)}`)
    console.log(
      `CDC snapshot, source alone (to its end)      ${snapshotDrain.seconds.toFixed(2)} s  ${ratio(snapshotDrain.seconds, standardDrain.seconds)} Standard source; ${usage(snapshotDrain)}`,
    )
    if (UPDATES === 0) return
    // The yardstick's slot starts where sluice's stands now (both before the updates).
    await query(SRC, `SELECT pg_create_logical_replication_slot('${YARDSTICK_SLOT}', 'pgoutput')`)
    process.stderr.write(`updating ${UPDATES} rows...\n`)
    for (let from = 1; from <= UPDATES; from += 100_000) {
      await query(SRC, `UPDATE t SET score = score + 1, note = note || 'u' WHERE id BETWEEN ${from} AND ${Math.min(from + 99_999, UPDATES)}`)
    }
    const end = (await query(SRC, 'SELECT pg_current_wal_lsn()::text AS l')).rows[0].l as string
    const recv = await timeShell(
      `pg_recvlogical -h 127.0.0.1 -U postgres -d ${SRC} --slot ${YARDSTICK_SLOT} --start --endpos ${end} --no-loop ` +
        `-o proto_version=1 -o publication_names=bench_pub -f /dev/null`,
    )
    const streamDrain = await runPhase(script, 'drain')
    const stream = await runPhase(script, 'cdc')
    // Every updated value, exactly: score is numeric in the destination, holding the float8's
    // shortest exact text, so it casts back to the same float8 (sums or rounded numerics of
    // the two differ in the last digits).
    const sum = `SELECT count(*)::int AS n, md5(string_agg(score::float8::text || ' ' || note, ',' ORDER BY id)) AS s FROM `
    const [a, b] = [(await query(SRC, `${sum} t`)).rows[0], (await query(DST, `${sum} cdc.t`)).rows[0]]
    if (a.n !== b.n || a.s !== b.s) throw new Error(`destination differs: ${JSON.stringify(b)} vs source ${JSON.stringify(a)}`)
    console.log(`${UPDATES} updates; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
    console.log(`pg_recvlogical draining the updates          ${recv.toFixed(2)} s`)
    console.log(
      `CDC stream, source alone                     ${streamDrain.seconds.toFixed(2)} s  ${ratio(streamDrain.seconds, recv)} pg_recvlogical; ${usage(streamDrain)}`,
    )
    console.log(
      `CDC stream -> Postgres append_dedup           ${stream.seconds.toFixed(2)} s  ${ratio(stream.seconds, recv)} pg_recvlogical; ${usage(stream)}`,
    )
  } finally {
    await query('postgres', `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name IN ('${SLOT}', '${YARDSTICK_SLOT}')`)
    await query('postgres', `DROP DATABASE IF EXISTS ${SRC} WITH (FORCE)`)
    await query('postgres', `DROP DATABASE IF EXISTS ${DST} WITH (FORCE)`)
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err)
    process.exit(1)
  })
}
