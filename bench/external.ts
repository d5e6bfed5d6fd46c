/**
 * External (Airbyte-protocol) connectors through the engine, one child process per case so
 * each peak RSS is its own. The source is an executable (bench/fixtures/source-bench) writing
 * `--rows` RECORD lines of about 320 bytes (a STATE every 10,000), run by the local runner.
 *
 * Cases:
 * - `pipe`: the same source piped to /dev/null through a bare pipe (`source | cat > /dev/null`,
 *   no sluice at all): the physical limit of anything that reads the source's output, and the
 *   yardstick the ratios are against.
 * - `redirect`: the source writing straight to /dev/null (no pipe, so no reader: its bytes are
 *   never copied), shown for reference.
 * - `local-jsonl`: external source -> Local Files JSONL (uncompressed).
 * - `postgres`: external source -> Postgres (127.0.0.1:5432, database sluice_bench_external,
 *   created anew for each run). The case also times the table's own COPY of the rows sluice
 *   loaded (psql COPY FROM STDIN from a file, into a new table of the same definition): the
 *   destination's physical limit.
 * - `external`: external source -> external destination (bench/fixtures/destination-bench,
 *   which counts lines and echoes states): record lines pass through without re-encoding.
 *
 * Each case times its read or sync only: a sluice case's clock starts after the connectors'
 * spec, the source's discover and the destination database's creation, which a scheduled sync
 * does not repeat. Wall-clock ratios depend on what else runs on the machine; CPU columns are
 * user + system of the case process and of its children (the connector processes) over that
 * time.
 *
 *   node dist/bench/external.js [--rows 2000000] [--cases pipe,redirect,local-jsonl,postgres,external]
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import type { ConfiguredCatalog, ConnectorLogger, Destination, RunOptions } from '../src/protocol/index.js'
import { ExternalDestination, ExternalSource, fetchExternalSpec, LocalRunner, runnerSettingsFromEnv } from '../src/connectors/external/index.js'
import { localFilesDefinition } from '../src/connectors/local-files/index.js'
import { postgresDestinationDefinition } from '../src/connectors/postgres/index.js'
import { runAttempt } from '../src/engine/index.js'
import { timeShell } from './pg-to-pg.js'
import { tuneHeapForThroughput } from '../src/cli/heap-tuning.js'

// Every bench process runs with the heap setting of the `sluice` executable.
tuneHeapForThroughput()

const CASES = ['pipe', 'redirect', 'local-jsonl', 'postgres', 'external'] as const
type CaseName = (typeof CASES)[number]

interface CaseResult {
  name: CaseName
  rows: number
  seconds: number
  /** CPU seconds of the case process (sluice, or the bench driver for the yardstick). */
  cpuSelf: number
  /** CPU seconds of its children (the connector processes). */
  cpuChildren: number
  peakRssMiB: number
  /** `postgres`: seconds of the table's own COPY of the loaded rows. */
  tableCopySeconds?: number
}

const BENCH_DB = 'sluice_bench_external'

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : fallback
}

function fixtures(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir)
  return join(dir, 'bench', 'fixtures')
}

const quiet: ConnectorLogger = { debug() {}, info() {}, warn() {}, error() {} }

/** CPU seconds of waited-for children (fields cutime, cstime of /proc/self/stat; 100 ticks/s). */
function childrenCpu(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? []
  return (Number(fields[13]) + Number(fields[14])) / 100
}

async function runCase(name: CaseName, rows: number): Promise<CaseResult> {
  const runner = new LocalRunner(runnerSettingsFromEnv({ PATH: process.env.PATH, SLUICE_CONNECTORS_PATH: fixtures() }))
  const work = await mkdtemp(join(tmpdir(), 'sluice-bench-external-'))
  const opts: RunOptions = { signal: new AbortController().signal, logger: quiet, context: { dataDir: work, localFilesRoot: work } }
  // The clock covers what the yardstick covers: the read (and, for sluice, the sync), not the
  // set-up a sync does not repeat (a connector's spec is cached, the catalog stored, the
  // destination database there).
  let started = process.hrtime.bigint()
  let cpu0 = process.cpuUsage()
  let children0 = childrenCpu()
  const startClock = (): void => {
    started = process.hrtime.bigint()
    cpu0 = process.cpuUsage()
    children0 = childrenCpu()
  }
  try {
    if (name === 'pipe' || name === 'redirect') {
      const config = join(work, 'config.json')
      const catalog = join(work, 'catalog.json')
      await Promise.all([writeFile(config, JSON.stringify({ records: rows })), writeFile(catalog, '{"streams":[]}')])
      const read = `'${join(fixtures(), 'source-bench')}' read --config '${config}' --catalog '${catalog}'`
      startClock()
      await timeShell(name === 'pipe' ? `${read} | cat > /dev/null` : `${read} > /dev/null`)
    } else {
      const image = { repository: 'bench/source-bench', tag: 'dev' }
      const source = new ExternalSource({ image, spec: await fetchExternalSpec(image, { runner }, opts), runner })
      const discovered = await source.discover({}, opts)
      const catalog: ConfiguredCatalog = {
        streams: discovered.streams.map((stream) => ({ stream, syncMode: 'full_refresh', destinationSyncMode: 'overwrite', cursorField: [], primaryKey: [], syncId: 1, generationId: 1, minimumGenerationId: 1 })),
      }
      let destination: Destination
      let destinationConfig: Record<string, unknown>
      if (name === 'local-jsonl') {
        destination = localFilesDefinition.destination
        destinationConfig = { destination_path: 'out', format: { format_type: 'JSONL', compression: { compression_type: 'No Compression' } } }
      } else if (name === 'postgres') {
        // A new database each run: a second overwrite of generation 1 would write into the first one's table.
        await adminQuery(`DROP DATABASE IF EXISTS ${BENCH_DB} WITH (FORCE)`)
        await adminQuery(`CREATE DATABASE ${BENCH_DB}`)
        destination = postgresDestinationDefinition.destination
        destinationConfig = { host: '127.0.0.1', port: 5432, username: 'postgres', password: '', database: BENCH_DB, schema: 'public', ssl: false }
      } else {
        const destImage = { repository: 'bench/destination-bench', tag: 'dev' }
        destination = new ExternalDestination({ image: destImage, spec: await fetchExternalSpec(destImage, { runner }, opts), runner })
        destinationConfig = {}
      }
      startClock()
      const result = await runAttempt({
        source,
        sourceConfig: { records: rows },
        destination,
        destinationConfig,
        catalog,
        mapping: { namespaceDefinition: 'source' },
        state: [],
        options: opts,
        onStateCommitted: async () => undefined,
      })
      if (result.totalStats.recordsCommitted !== rows) throw new Error(`committed ${result.totalStats.recordsCommitted} of ${rows}`)
    }
    const cpu = process.cpuUsage(cpu0)
    const measured: CaseResult = {
      name,
      rows,
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
      cpuSelf: (cpu.user + cpu.system) / 1e6,
      cpuChildren: childrenCpu() - children0,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
    }
    if (name === 'postgres') measured.tableCopySeconds = await tableCopy(work, rows)
    return measured
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

async function adminQuery(sql: string): Promise<void> {
  const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' })
  await admin.connect()
  try {
    await admin.query(sql)
  } finally {
    await admin.end()
  }
}

/**
 * The table's own COPY: the rows sluice loaded into public.events (the columns sluice sends),
 * written to a file as COPY text, then COPYed by psql from a pipe into a new table of the same
 * definition, after a checkpoint. Returns its seconds.
 */
async function tableCopy(work: string, rows: number): Promise<number> {
  const psql = `psql -h 127.0.0.1 -U postgres -d ${BENCH_DB} -q`
  const cols = `id, "user", email, country, amount, created_at, note, _airbyte_raw_id, _airbyte_extracted_at`
  const file = join(work, 'events.copy')
  await timeShell(`${psql} -c 'COPY (SELECT ${cols} FROM public.events) TO STDOUT' > '${file}'`)
  await adminQuery('CHECKPOINT')
  await timeShell(`${psql} -c 'CREATE TABLE public.events_copy (LIKE public.events INCLUDING DEFAULTS)' -c 'CHECKPOINT'`)
  const seconds = await timeShell(`cat '${file}' | ${psql} -c 'COPY public.events_copy (${cols}) FROM STDIN'`)
  const client = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: BENCH_DB })
  await client.connect()
  const copied = await client.query('SELECT count(*)::int AS n FROM public.events_copy')
  await client.end()
  if (copied.rows[0].n !== rows) throw new Error(`the table's own COPY loaded ${copied.rows[0].n} of ${rows} rows`)
  return seconds
}

async function main(): Promise<void> {
  const rows = Number(arg('rows', '2000000'))
  const only = arg('case', '')
  if (only !== '') {
    process.stdout.write(`${JSON.stringify(await runCase(only as CaseName, rows))}\n`)
    return
  }
  const cases = arg('cases', CASES.join(',')).split(',') as CaseName[]
  const results: CaseResult[] = []
  for (const c of cases) {
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--case', c, '--rows', String(rows)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
    if (child.status !== 0) throw new Error(`case ${c} failed`)
    results.push(JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as CaseResult)
  }
  const pipe = results.find((r) => r.name === 'pipe')
  const redirect = results.find((r) => r.name === 'redirect')
  const x = (seconds: number, base: CaseResult | undefined): string => (base ? (seconds / base.seconds).toFixed(2) : '-')
  process.stdout.write(
    `| case | rows | wall s | x pipe | x redirect | CPU s sluice | CPU s connectors | peak RSS MiB (sluice) |\n|---|---|---|---|---|---|---|---|\n`,
  )
  for (const r of results) {
    process.stdout.write(
      `| ${r.name} | ${r.rows} | ${r.seconds.toFixed(2)} | ${x(r.seconds, pipe)} | ${x(r.seconds, redirect)} | ${r.cpuSelf.toFixed(2)} | ${r.cpuChildren.toFixed(2)} | ${r.peakRssMiB.toFixed(0)} |\n`,
    )
  }
  for (const r of results) {
    if (r.tableCopySeconds === undefined) continue
    process.stdout.write(
      `\nThe table's own COPY of the ${r.rows} rows (psql COPY FROM STDIN): ${r.tableCopySeconds.toFixed(2)} s, ${x(r.tableCopySeconds, pipe)}x pipe; ` +
        `postgres takes ${(r.seconds / Math.max(r.tableCopySeconds, pipe?.seconds ?? 0)).toFixed(2)}x the slower of the two.\n`,
    )
  }
}

await main()
