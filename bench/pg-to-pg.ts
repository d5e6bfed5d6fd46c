/**
 * Postgres -> Postgres full refresh against PostgreSQL's own COPY (not a timed test).
 *
 *   node --import tsx bench/pg-to-pg.ts            # 2M rows (~200 MB of COPY text)
 *   BENCH_ROWS=200000 node --import tsx bench/pg-to-pg.ts
 *
 * Prints, in one run: `COPY t TO STDOUT`, `COPY t TO STDOUT | COPY t2 FROM STDIN` between two
 * databases, sluice's full refresh Postgres -> Postgres, each as a ratio to the COPY pipe,
 * and sluice's peak RSS. Needs psql and the server on 127.0.0.1:5432 (user postgres, trust).
 */
import { spawn } from 'node:child_process'
import { pathToFileURL } from 'node:url'
import pg from 'pg'
import { runAttempt } from '../src/engine/index.js'
import type { ConfiguredCatalog, Destination, RunOptions } from '../src/protocol/index.js'
import { PostgresDestination, PostgresSource } from '../src/connectors/postgres/index.js'
import { tuneHeapForThroughput } from '../src/cli/heap-tuning.js'

// Every bench process runs with the heap setting of the `sluice` executable.
tuneHeapForThroughput()

export const BENCH_ROWS = Number(process.env.BENCH_ROWS ?? 2_000_000)
export const SRC_DB = 'sluice_bench_src'
export const DST_DB = 'sluice_bench_dst'
const conn = { host: '127.0.0.1', port: 5432, user: 'postgres' }

async function query(database: string, sql: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ ...conn, database })
  await c.connect()
  try {
    return await c.query(sql)
  } finally {
    await c.end()
  }
}

/** Creates the source table once per row count (kept between runs: generating it takes a while). */
export async function prepareSource(rows = BENCH_ROWS): Promise<{ bytes: number }> {
  const dbs = await query('postgres', `SELECT datname FROM pg_database WHERE datname IN ('${SRC_DB}', '${DST_DB}')`)
  const have = new Set(dbs.rows.map((r) => r.datname as string))
  if (!have.has(SRC_DB)) await query('postgres', `CREATE DATABASE ${SRC_DB}`)
  if (!have.has(DST_DB)) await query('postgres', `CREATE DATABASE ${DST_DB}`)
  const existing = await query(SRC_DB, `SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 't'`)
  const count = existing.rows[0].n > 0 ? (await query(SRC_DB, 'SELECT count(*)::int AS n FROM t')).rows[0].n : -1
  if (count !== rows) {
    process.stderr.write(`generating ${rows} rows...\n`)
    await query(SRC_DB, 'DROP TABLE IF EXISTS t')
    await query(
      SRC_DB,
      `CREATE TABLE t (id bigint PRIMARY KEY, name text, amount numeric(12,2), score double precision,
         active boolean, created_at timestamptz, day date, note text)`,
    )
    await query(
      SRC_DB,
      `INSERT INTO t SELECT g, 'customer ' || md5(g::text), (g % 100000) / 100.0, random(), g % 3 = 0,
         '2024-01-01'::timestamptz + g * interval '1 second', '2024-01-01'::date + (g % 365),
         repeat(chr(97 + g % 26), 20 + g % 30)
       FROM generate_series(1, ${rows}) g`,
    )
    await query(SRC_DB, 'VACUUM ANALYZE t')
  }
  const size = await query(SRC_DB, `SELECT pg_relation_size('t')::bigint AS b`)
  return { bytes: Number(size.rows[0].b) }
}

/** Runs a shell pipeline and returns its wall time in seconds. */
export function timeShell(cmd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint()
    const p = spawn('bash', ['-o', 'pipefail', '-c', cmd], { stdio: ['ignore', 'ignore', 'inherit'] })
    p.on('error', reject)
    p.on('exit', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - t0) / 1e9) : reject(new Error(`${cmd} exited ${code}`))))
  })
}

/** Wall time and peak RSS of one measured phase. */
export interface PhaseResult {
  seconds: number
  peakMb: number
}

/**
 * Runs `phase` of `script` in a fresh Node process (same loader flags), so its peak RSS
 * (`resourceUsage().maxRSS`) is its own and not the leftovers of earlier phases.
 */
export function runPhase(script: string, phase: string): Promise<PhaseResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, script, '--phase', phase], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.on('error', reject)
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!) as PhaseResult) : reject(new Error(`phase ${phase} exited ${code}`))))
  })
}

/** In a phase child: runs fn, prints its PhaseResult as the last stdout line. */
export async function reportPhase(fn: () => Promise<unknown>): Promise<void> {
  const t0 = process.hrtime.bigint()
  await fn()
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  console.log(JSON.stringify({ seconds, peakMb: process.resourceUsage().maxRSS / 1024 }))
}

/** The `--phase <name>` argument of a phase child, if any. */
export function phaseArg(): string | undefined {
  const i = process.argv.indexOf('--phase')
  return i === -1 ? undefined : process.argv[i + 1]
}

export function benchOptions(): RunOptions {
  const quiet = { debug() {}, info() {}, warn() {}, error: (m: string) => process.stderr.write(`${m}\n`) }
  return { signal: new AbortController().signal, logger: quiet, context: { dataDir: '/tmp', localFilesRoot: '/tmp' } }
}

/** Full refresh of `t` from the bench source into any destination, through the engine. */
export async function sluiceFullRefresh(destination: Destination, destinationConfig: Record<string, unknown>): Promise<void> {
  const source = new PostgresSource()
  const sourceConfig = { ...conn, username: 'postgres', password: '', database: SRC_DB, ssl: false, replication_method: { method: 'Standard' } }
  const discovered = await source.discover(sourceConfig, benchOptions())
  const stream = discovered.streams.find((s) => s.name === 't')!
  const catalog: ConfiguredCatalog = {
    streams: [
      { stream, syncMode: 'full_refresh', destinationSyncMode: 'overwrite', cursorField: [], primaryKey: [['id']], syncId: 1, generationId: 1, minimumGenerationId: 1 },
    ],
  }
  await runAttempt({
    source,
    sourceConfig,
    destination,
    destinationConfig,
    catalog,
    mapping: { namespaceDefinition: 'destination' },
    state: [],
    options: benchOptions(),
    onStateCommitted: async () => undefined,
  })
}

/** Reads the table with a server-side cursor (node-postgres row objects), the alternative to COPY. */
export async function cursorRead(): Promise<number> {
  const c = new pg.Client({ ...conn, database: SRC_DB })
  await c.connect()
  try {
    await c.query('BEGIN')
    await c.query('DECLARE cur NO SCROLL CURSOR FOR SELECT * FROM t')
    let n = 0
    for (;;) {
      const r = await c.query('FETCH 10000 FROM cur')
      if (r.rows.length === 0) break
      n += r.rows.length
    }
    await c.query('COMMIT')
    return n
  } finally {
    await c.end()
  }
}

/** Drains the sluice source alone (COPY text batches, no decoding). */
export async function sourceDrain(): Promise<number> {
  const source = new PostgresSource()
  const sourceConfig = { ...conn, username: 'postgres', password: '', database: SRC_DB, ssl: false }
  const stream = (await source.discover(sourceConfig, benchOptions())).streams.find((s) => s.name === 't')!
  const catalog: ConfiguredCatalog = {
    streams: [{ stream, syncMode: 'full_refresh', destinationSyncMode: 'overwrite', cursorField: [], primaryKey: [], syncId: 1, generationId: 1, minimumGenerationId: 1 }],
  }
  let n = 0
  for await (const m of source.read(sourceConfig, catalog, [], benchOptions())) if (m.type === 'RECORD_BATCH') n += m.count
  return n
}

export function ratio(x: number, base: number): string {
  return `${(x / base).toFixed(2)}x`
}

const PG_DEST_CONFIG = { ...conn, username: 'postgres', password: '', database: DST_DB, schema: 'public', ssl: false }

async function main(): Promise<void> {
  const phase = phaseArg()
  if (phase === 'source') return reportPhase(sourceDrain)
  if (phase === 'cursor') return reportPhase(cursorRead)
  if (phase === 'pg') return reportPhase(() => sluiceFullRefresh(new PostgresDestination(), PG_DEST_CONFIG))
  const script = process.argv[1]!
  const { bytes } = await prepareSource()
  console.log(`table t: ${BENCH_ROWS} rows, ${(bytes / 1024 / 1024).toFixed(0)} MB on disk`)
  await query(DST_DB, 'DROP TABLE IF EXISTS t2')
  await query(DST_DB, `CREATE TABLE t2 (id bigint PRIMARY KEY, name text, amount numeric(12,2), score double precision,
    active boolean, created_at timestamptz, day date, note text)`)
  const copyOut = await timeShell(`psql -h 127.0.0.1 -U postgres -d ${SRC_DB} -Atc "COPY t TO STDOUT" > /dev/null`)
  const pipe = await timeShell(
    `psql -h 127.0.0.1 -U postgres -d ${SRC_DB} -Atc "COPY t TO STDOUT" | psql -h 127.0.0.1 -U postgres -d ${DST_DB} -c "COPY t2 FROM STDIN"`,
  )
  const drain = await runPhase(script, 'source')
  const cursor = await runPhase(script, 'cursor')
  // Every run is the first sync of a fresh job: a table left by the last run holds the same
  // generation, which the destination would take for an earlier attempt of this job and resume.
  await query(DST_DB, 'DROP TABLE IF EXISTS public.t')
  const sl = await runPhase(script, 'pg')
  const check = await query(DST_DB, 'SELECT count(*)::int AS n FROM public.t')
  if (check.rows[0].n !== BENCH_ROWS) throw new Error(`destination has ${check.rows[0].n} rows`)
  const rate = (s: number): string => `${Math.round(BENCH_ROWS / s)} rows/s`
  console.log(`COPY t TO STDOUT                         ${copyOut.toFixed(2)} s  ${rate(copyOut)}`)
  console.log(`COPY TO | COPY FROM (t2 with PK)         ${pipe.toFixed(2)} s  ${rate(pipe)}`)
  console.log(`sluice source alone (COPY batches)       ${drain.seconds.toFixed(2)} s  ${ratio(drain.seconds, copyOut)} COPY TO; peak RSS ${drain.peakMb.toFixed(0)} MB`)
  console.log(`server-side cursor, FETCH 10000 (rows)   ${cursor.seconds.toFixed(2)} s  ${ratio(cursor.seconds, copyOut)} COPY TO; peak RSS ${cursor.peakMb.toFixed(0)} MB`)
  console.log(
    `sluice Postgres -> Postgres (overwrite)  ${sl.seconds.toFixed(2)} s  ${rate(sl.seconds)}  ` +
      `${ratio(sl.seconds, pipe)} the COPY pipe, ${ratio(sl.seconds, copyOut)} COPY TO; peak RSS ${sl.peakMb.toFixed(0)} MB`,
  )
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err)
    process.exit(1)
  })
}
