/**
 * Faker -> Local Files throughput through the engine (runAttempt), one child process per case
 * so each peak RSS is its own. Cases: Faker -> a discarding destination (the source's own
 * limit), Faker -> Local Files Parquet (snappy), JSONL, JSONL gzip, Avro (no compression,
 * snappy, Deflate 6). Wall-clock rates depend on what else runs on the machine; the CPU columns
 * (user + system time of the process) do not, as long as the pipeline is CPU-bound (it is: local
 * disk writes are buffered).
 *
 *   node --import tsx bench/faker-to-local.ts [--rows 1000000] [--slice 10000] [--streams users]
 *     [--cases 'discard (source limit),Parquet snappy']
 *   (or, compiled: node dist/bench/faker-to-local.js ...)
 */
import { spawnSync } from 'node:child_process'
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ConfiguredCatalog, ConnectorLogger, Destination } from '../src/protocol/index.js'
import { fakerDefinition } from '../src/connectors/faker/index.js'
import { localFilesDefinition } from '../src/connectors/local-files/index.js'
import { runAttempt } from '../src/engine/index.js'
import { tuneHeapForThroughput } from '../src/cli/heap-tuning.js'

// Every bench process runs with the heap setting of the `sluice` executable.
tuneHeapForThroughput()

interface CaseResult {
  name: string
  rows: number
  seconds: number
  /** CPU seconds of the process (user + system): meaningful even on a busy machine. */
  cpuSeconds: number
  jsonBytes: number
  outputBytes: number
  peakRssMiB: number
}

const CASES: Record<string, Record<string, unknown> | null> = {
  'discard (source limit)': null,
  'Parquet snappy': { format_type: 'Parquet', compression_codec: 'SNAPPY' },
  JSONL: { format_type: 'JSONL', compression: { compression_type: 'No Compression' } },
  'JSONL gzip': { format_type: 'JSONL', compression: { compression_type: 'GZIP' } },
  Avro: { format_type: 'Avro', compression_codec: { codec: 'no compression' } },
  'Avro snappy': { format_type: 'Avro', compression_codec: { codec: 'snappy' } },
  'Avro deflate 6': { format_type: 'Avro', compression_codec: { codec: 'Deflate', compression_level: 6 } },
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : fallback
}

const quiet: ConnectorLogger = { debug() {}, info() {}, warn() {}, error() {} }

/** Accepts everything, keeps nothing, echoes states: what the engine and source cost alone. */
const discard: Destination = {
  ...localFilesDefinition.destination,
  async *write(_config, _catalog, input) {
    for await (const m of input) if (m.type === 'STATE') yield m
  },
}

async function sizeOf(dir: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size
  }
  return total
}

async function runCase(name: string, rows: number, slice: number, streams: string[]): Promise<CaseResult> {
  const format = CASES[name]
  if (format === undefined) throw new Error(`unknown case ${name}`)
  const root = await mkdtemp(join(tmpdir(), 'sluice-bench-'))
  try {
    const sourceConfig = { count: rows, records_per_slice: slice, always_updated: false }
    const options = { signal: new AbortController().signal, logger: quiet, context: { dataDir: root, localFilesRoot: root } }
    const discovered = await fakerDefinition.source.discover(sourceConfig, options)
    const catalog: ConfiguredCatalog = {
      streams: discovered.streams
        .filter((s) => streams.includes(s.name))
        .map((stream) => ({ stream, syncMode: 'full_refresh', destinationSyncMode: 'overwrite', cursorField: ['updated_at'], primaryKey: [['id']], syncId: 1, generationId: 1, minimumGenerationId: 1 })),
    }
    const started = process.hrtime.bigint()
    const cpuStart = process.cpuUsage()
    const result = await runAttempt({
      source: fakerDefinition.source,
      sourceConfig,
      destination: format === null ? discard : localFilesDefinition.destination,
      destinationConfig: { destination_path: 'out', format },
      catalog,
      mapping: { namespaceDefinition: 'source' },
      state: [],
      options,
      onStateCommitted: async () => {},
    })
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    const cpu = process.cpuUsage(cpuStart)
    return {
      name,
      rows: result.totalStats.recordsCommitted,
      seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      jsonBytes: result.totalStats.bytesCommitted,
      outputBytes: format === null ? 0 : await sizeOf(join(root, 'out')),
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
    }
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

function table(results: CaseResult[]): string {
  const header = ['case', 'rows', 'seconds', 'rows/s', 'MB/s (JSON)', 'CPU s', 'rows/CPU s', 'output MB', 'peak RSS MiB']
  const lines = results.map((r) => [
    r.name,
    String(r.rows),
    r.seconds.toFixed(2),
    Math.round(r.rows / r.seconds).toLocaleString('en-US'),
    (r.jsonBytes / 1e6 / r.seconds).toFixed(1),
    r.cpuSeconds.toFixed(2),
    Math.round(r.rows / r.cpuSeconds).toLocaleString('en-US'),
    r.outputBytes === 0 ? '-' : (r.outputBytes / 1e6).toFixed(1),
    r.peakRssMiB.toFixed(0),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)))
  const row = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`
  return [row(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(row)].join('\n')
}

async function main(): Promise<void> {
  const rows = Number(arg('rows', '1000000'))
  const slice = Number(arg('slice', '10000'))
  const streams = arg('streams', 'users').split(',')
  const only = arg('case', '')
  if (only !== '') {
    // Child: one case, one JSON line.
    process.stdout.write(`${JSON.stringify(await runCase(only, rows, slice, streams))}\n`)
    return
  }
  const script = fileURLToPath(import.meta.url)
  const results: CaseResult[] = []
  const selected = arg('cases', '')
  const names = selected === '' ? Object.keys(CASES) : selected.split(',')
  for (const name of names) {
    const child = spawnSync(process.execPath, [...process.execArgv, script, '--case', name, '--rows', String(rows), '--slice', String(slice), '--streams', streams.join(',')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    if (child.status !== 0) throw new Error(`case ${name} failed (exit ${child.status})`)
    results.push(JSON.parse(child.stdout.trim().split('\n').at(-1) as string) as CaseResult)
  }
  console.log(`Faker (${streams.join(', ')}) -> Local Files through runAttempt, ${rows.toLocaleString('en-US')} rows per stream, batches of ${slice}`)
  console.log(table(results))
}

await main()
