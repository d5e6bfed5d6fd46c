/**
 * External (Airbyte-protocol) connectors through the engine, one child process per case so
 * each peak RSS is its own. The source is an executable (bench/fixtures/source-bench) writing
 * `--rows` RECORD lines of about 320 bytes (a STATE every 10,000), run by the local runner.
 *
 * Cases:
 * - `yardstick`: the same source piped to /dev/null (no sluice at all): the physical limit.
 * - `local-jsonl`: external source -> Local Files JSONL (uncompressed).
 * - `postgres`: external source -> Postgres (127.0.0.1:5432, database sluice_bench_external).
 * - `external`: external source -> external destination (bench/fixtures/destination-bench,
 *   which counts lines and echoes states): record lines pass through without re-encoding.
 *
 * Wall-clock ratios depend on what else runs on the machine; CPU columns are user + system of
 * the case process and of its children (the connector processes).
 *
 *   node dist/bench/external.js [--rows 2000000] [--cases yardstick,local-jsonl,postgres,external]
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import type { ConfiguredCatalog, ConnectorLogger, Destination, RunOptions } from '../src/protocol/index.js'
import { ExternalDestination, ExternalSource, fetchExternalSpec, LocalRunner, runnerSettingsFromEnv } from '../src/connectors/external/index.js'
import { localFilesDefinition } from '../src/connectors/local-files/index.js'
import { postgresDestinationDefinition } from '../src/connectors/postgres/index.js'
import { runAttempt } from '../src/engine/index.js'

const CASES = ['yardstick', 'local-jsonl', 'postgres', 'external'] as const
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
  const started = process.hrtime.bigint()
  const cpu0 = process.cpuUsage()
  try {
    if (name === 'yardstick') {
      const config = join(work, 'config.json')
      const catalog = join(work, 'catalog.json')
      await import('node:fs/promises').then((fs) => Promise.all([fs.writeFile(config, JSON.stringify({ records: rows })), fs.writeFile(catalog, '{"streams":[]}')]))
      const devNull = openSync('/dev/null', 'w')
      await new Promise<void>((resolve, reject) => {
        const child = spawn(join(fixtures(), 'source-bench'), ['read', '--config', config, '--catalog', catalog], { stdio: ['ignore', devNull, 'inherit'] })
        child.on('error', reject)
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`source-bench exited with ${code}`))))
      })
      closeSync(devNull)
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
        const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' })
        await admin.connect()
        const have = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [BENCH_DB])
        if (have.rowCount === 0) await admin.query(`CREATE DATABASE ${BENCH_DB}`)
        await admin.end()
        destination = postgresDestinationDefinition.destination
        destinationConfig = { host: '127.0.0.1', port: 5432, username: 'postgres', password: '', database: BENCH_DB, schema: 'public', ssl: false }
      } else {
        const destImage = { repository: 'bench/destination-bench', tag: 'dev' }
        destination = new ExternalDestination({ image: destImage, spec: await fetchExternalSpec(destImage, { runner }, opts), runner })
        destinationConfig = {}
      }
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
    return {
      name,
      rows,
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
      cpuSelf: (cpu.user + cpu.system) / 1e6,
      cpuChildren: childrenCpu(),
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
    }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
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
  const base = results.find((r) => r.name === 'yardstick')
  process.stdout.write(`| case | rows | wall s | x yardstick (wall) | CPU s sluice | CPU s connectors | peak RSS MiB (sluice) |\n|---|---|---|---|---|---|---|\n`)
  for (const r of results) {
    const ratio = base ? (r.seconds / base.seconds).toFixed(2) : '-'
    process.stdout.write(`| ${r.name} | ${r.rows} | ${r.seconds.toFixed(2)} | ${ratio} | ${r.cpuSelf.toFixed(2)} | ${r.cpuChildren.toFixed(2)} | ${r.peakRssMiB.toFixed(0)} |\n`)
  }
}

await main()
