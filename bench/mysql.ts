/**
 * MySQL / MariaDB -> Postgres and -> Local Files (Parquet) full refresh against the MariaDB
 * client's own streaming read (not a timed test).
 *
 *   node --import tsx bench/mysql.ts            # 2M rows
 *   BENCH_ROWS=200000 node --import tsx bench/mysql.ts
 *
 * Prints `mariadb --quick --batch -e 'select * from t' > /dev/null` (the yardstick), the same
 * piped into Postgres `COPY FROM STDIN`, sluice's source alone, sluice MySQL -> Postgres and
 * MySQL -> Local Files Parquet, each as a ratio, with sluice's peak RSS. Needs the mariadb and
 * psql clients, MariaDB on 127.0.0.1:3306 (root) and Postgres on 127.0.0.1:5432 (postgres).
 */
import { rm } from 'node:fs/promises'
import { pathToFileURL } from 'node:url'
import mysql from 'mysql2/promise'
import pg from 'pg'
import { runAttempt } from '../src/engine/index.js'
import type { ConfiguredCatalog, Destination } from '../src/protocol/index.js'
import { LocalFilesDestination } from '../src/connectors/local-files/index.js'
import { MysqlSource } from '../src/connectors/mysql/index.js'
import { PostgresDestination } from '../src/connectors/postgres/index.js'
import { benchOptions, phaseArg, ratio, reportPhase, runPhase, timeShell } from './pg-to-pg.js'
import { tuneHeapForThroughput } from '../src/cli/heap-tuning.js'

// Every bench process runs with the heap setting of the `sluice` executable.
tuneHeapForThroughput()

const BENCH_ROWS = Number(process.env.BENCH_ROWS ?? 2_000_000)
const MY_DB = 'sluice_bench_my'
const PG_DB = 'sluice_bench_dst'
const DIR = '/tmp/sluice-bench-mysql-parquet'
const SOURCE_CONFIG = {
  host: '127.0.0.1',
  port: 3306,
  database: MY_DB,
  username: 'root',
  password: '',
  ssl_mode: { mode: 'preferred' },
  replication_method: { method: 'STANDARD' },
}
const PG_CONFIG = { host: '127.0.0.1', port: 5432, username: 'postgres', password: '', database: PG_DB, schema: 'mysql_bench', ssl: false }

/** Creates the source table once per row count (kept between runs: generating it takes a while). */
async function prepareSource(): Promise<{ bytes: number }> {
  const c = await mysql.createConnection({ host: '127.0.0.1', user: 'root', multipleStatements: true })
  try {
    await c.query(`CREATE DATABASE IF NOT EXISTS ${MY_DB} CHARACTER SET utf8mb4`)
    await c.query(`USE ${MY_DB}`)
    const [have] = (await c.query(`SELECT TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 't'`, [MY_DB])) as [{ n: number }[], unknown]
    const count = have.length > 0 ? Number(((await c.query('SELECT COUNT(*) AS n FROM t')) as [{ n: number }[], unknown])[0][0]!.n) : -1
    if (count !== BENCH_ROWS) {
      process.stderr.write(`generating ${BENCH_ROWS} rows...\n`)
      await c.query(`DROP TABLE IF EXISTS t;
        CREATE TABLE t (id BIGINT PRIMARY KEY, name VARCHAR(64), amount DECIMAL(12,2), score DOUBLE, active TINYINT(1),
          created_at DATETIME(6), day DATE, note VARCHAR(64));
        INSERT INTO t SELECT seq, CONCAT('customer ', MD5(seq)), (seq % 100000) / 100.0, RAND(), seq % 3 = 0,
          '2024-01-01' + INTERVAL seq SECOND, '2024-01-01' + INTERVAL (seq % 365) DAY, REPEAT(CHAR(97 + seq % 26), 20 + seq % 30)
        FROM seq_1_to_${BENCH_ROWS};
        ANALYZE TABLE t;`)
    }
    const [size] = (await c.query(`SELECT DATA_LENGTH AS b FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 't'`, [MY_DB])) as [{ b: number }[], unknown]
    return { bytes: Number(size[0]!.b) }
  } finally {
    await c.end()
  }
}

async function catalog(source: MysqlSource): Promise<ConfiguredCatalog> {
  const stream = (await source.discover(SOURCE_CONFIG, benchOptions())).streams.find((s) => s.name === 't')!
  return {
    streams: [{ stream, syncMode: 'full_refresh', destinationSyncMode: 'overwrite', cursorField: [], primaryKey: [['id']], syncId: 1, generationId: 1, minimumGenerationId: 1 }],
  }
}

/** Drains the sluice source alone (record batches, no destination). */
async function sourceDrain(): Promise<number> {
  const source = new MysqlSource()
  let n = 0
  for await (const m of source.read(SOURCE_CONFIG, await catalog(source), [], benchOptions())) if (m.type === 'RECORD_BATCH') n += m.count
  return n
}

async function fullRefresh(destination: Destination, destinationConfig: Record<string, unknown>): Promise<void> {
  const source = new MysqlSource()
  await runAttempt({
    source,
    sourceConfig: SOURCE_CONFIG,
    destination,
    destinationConfig,
    catalog: await catalog(source),
    mapping: { namespaceDefinition: 'destination' },
    state: [],
    options: benchOptions(),
    onStateCommitted: async () => undefined,
  })
}

async function pgQuery(sql: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: PG_DB })
  await c.connect()
  try {
    return await c.query(sql)
  } finally {
    await c.end()
  }
}

async function main(): Promise<void> {
  const phase = phaseArg()
  if (phase === 'source') return reportPhase(sourceDrain)
  if (phase === 'pg') return reportPhase(() => fullRefresh(new PostgresDestination(), PG_CONFIG))
  if (phase === 'parquet') {
    return reportPhase(() => fullRefresh(new LocalFilesDestination(), { destination_path: DIR, format: { format_type: 'Parquet', compression_codec: 'SNAPPY' } }))
  }
  const script = process.argv[1]!
  const { bytes } = await prepareSource()
  console.log(`table t: ${BENCH_ROWS} rows, ${(bytes / 1024 / 1024).toFixed(0)} MB on disk`)
  const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' })
  await admin.connect()
  const exists = await admin.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [PG_DB])
  if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${PG_DB}`)
  await admin.end()
  await pgQuery(`DROP TABLE IF EXISTS public.t_mariadb_pipe`)
  await pgQuery(`CREATE TABLE public.t_mariadb_pipe (id bigint, name text, amount numeric(12,2), score double precision,
    active boolean, created_at timestamp, day date, note text)`)
  const client = `mariadb --quick --batch --skip-column-names -h 127.0.0.1 -u root ${MY_DB} -e 'select * from t'`
  const yardstick = await timeShell(`${client} > /dev/null`)
  const pipe = await timeShell(`${client} | psql -h 127.0.0.1 -U postgres -d ${PG_DB} -qc "COPY public.t_mariadb_pipe FROM STDIN"`)
  const drain = await runPhase(script, 'source')
  await pgQuery(`DROP SCHEMA IF EXISTS mysql_bench CASCADE`)
  const toPg = await runPhase(script, 'pg')
  const check = await pgQuery(`SELECT count(*)::int AS n FROM mysql_bench.t`)
  if (check.rows[0].n !== BENCH_ROWS) throw new Error(`Postgres has ${check.rows[0].n} rows`)
  await rm(DIR, { recursive: true, force: true })
  const toParquet = await runPhase(script, 'parquet')
  await rm(DIR, { recursive: true, force: true })
  const rate = (s: number): string => `${Math.round(BENCH_ROWS / s)} rows/s`
  const copyFrom = Math.max(pipe - yardstick, 0)
  console.log(`mariadb --quick --batch > /dev/null          ${yardstick.toFixed(2)} s  ${rate(yardstick)}`)
  console.log(`mariadb --batch | psql COPY FROM             ${pipe.toFixed(2)} s  (COPY FROM adds ~${copyFrom.toFixed(2)} s)`)
  console.log(`sluice source alone (record batches)         ${drain.seconds.toFixed(2)} s  ${ratio(drain.seconds, yardstick)} the yardstick; peak RSS ${drain.peakMb.toFixed(0)} MB`)
  console.log(
    `sluice MySQL -> Postgres (overwrite)         ${toPg.seconds.toFixed(2)} s  ${rate(toPg.seconds)}  ${ratio(toPg.seconds, yardstick + copyFrom)} (yardstick + COPY FROM), ` +
      `${ratio(toPg.seconds, pipe)} the pipe; peak RSS ${toPg.peakMb.toFixed(0)} MB`,
  )
  console.log(`sluice MySQL -> Local Files Parquet          ${toParquet.seconds.toFixed(2)} s  ${rate(toParquet.seconds)}  ${ratio(toParquet.seconds, yardstick)} the yardstick; peak RSS ${toParquet.peakMb.toFixed(0)} MB`)
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err)
    process.exit(1)
  })
}
