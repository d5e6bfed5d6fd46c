/**
 * Postgres -> S3 (s3rver on loopback, in its own process) through the engine, beside the table's
 * own `COPY TO STDOUT` time in the same run. Each case runs in a child process so each peak RSS
 * is its own. Cases: COPY TO STDOUT (the extraction limit), Postgres -> discard (source + engine),
 * -> S3 Parquet/snappy, -> S3 JSONL, and the same two formats to Local Files (the writers without
 * the S3 server, which shares the machine's cores in this bench), and S3 cases with all encoding
 * on the main thread (`SLUICE_ENCODER_THREADS=0`, the code before encoder threads) or with two
 * encoder threads instead of the default (cores - 1).
 *
 *   node --import tsx bench/pg-to-s3.ts [--rows 2000000] [--keep-table] [--only 'S3 Parquet snappy,S3 JSONL']
 *   (or, compiled: node dist/bench/pg-to-s3.js ...)
 * Needs PostgreSQL on 127.0.0.1:5432, user postgres, trust auth (PGHOST/PGPORT/PGUSER override).
 */
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import pg from 'pg'
import { to as copyTo } from 'pg-copy-streams'
import type { ConfiguredCatalog, ConnectorLogger, Destination } from '../src/protocol/index.js'
import { localFilesDefinition } from '../src/connectors/local-files/index.js'
import { postgresSourceDefinition } from '../src/connectors/postgres/index.js'
import { s3Definition } from '../src/connectors/s3/index.js'
import { createS3Client, SYNC_CLIENT, translateS3Error } from '../src/connectors/s3/s3-client.js'
import { S3ObjectStore } from '../src/connectors/s3/s3-object-store.js'
import { runAttempt } from '../src/engine/index.js'
import { tuneHeapForThroughput } from '../src/cli/heap-tuning.js'

// Every bench process runs with the heap setting of the `sluice` executable.
tuneHeapForThroughput()

const DATABASE = 'sluice_bench_s3'
const TABLE = 'bench_rows'
const BUCKET = 'datalake'

interface CaseResult {
  name: string
  rows: number
  seconds: number
  outputBytes: number
  peakRssMiB: number
  /** CPU seconds (user + system) of the case's process: steadier than wall time on a busy machine. */
  cpuSeconds: number
}

function cpuSeconds(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}

/**
 * `upload` cases are the S3 server's own limit: as many bytes as the named case wrote, uploaded
 * through the destination's object store (same client, multipart, 200 MB objects) with no
 * encoding at all. s3rver is a single JavaScript process on the same two cores, so for large
 * outputs it, not Postgres, sets the floor.
 */
const CASES: Record<string, Record<string, unknown> | null | 'copy' | { upload: string }> = {
  'COPY TO STDOUT': 'copy',
  'Postgres -> discard': null,
  'S3 Parquet snappy': { format_type: 'Parquet', compression_codec: 'snappy' },
  'S3 upload only, Parquet bytes': { upload: 'S3 Parquet snappy' },
  'S3 JSONL': { format_type: 'JSONL', compression: { compression_type: 'No Compression' } },
  'S3 upload only, JSONL bytes': { upload: 'S3 JSONL' },
  'Local Files Parquet snappy': { format_type: 'Parquet', compression_codec: 'snappy' },
  'Local Files JSONL': { format_type: 'JSONL', compression: { compression_type: 'No Compression' } },
  'Local Files Parquet snappy, no dictionary': { format_type: 'Parquet', compression_codec: 'snappy', dictionary_encoding: false },
  'S3 Parquet snappy, main thread only': { format_type: 'Parquet', compression_codec: 'snappy' },
  'S3 JSONL, main thread only': { format_type: 'JSONL', compression: { compression_type: 'No Compression' } },
  'S3 Parquet snappy, 2 encoder threads': { format_type: 'Parquet', compression_codec: 'snappy' },
  'S3 JSONL, 2 encoder threads': { format_type: 'JSONL', compression: { compression_type: 'No Compression' } },
  'Local Files Parquet snappy, 2 encoder threads': { format_type: 'Parquet', compression_codec: 'snappy' },
}

/** The case an upload-only yardstick measures; undefined for every other case. */
function uploadOf(name: string): string | undefined {
  const c = CASES[name]
  return c !== null && typeof c === 'object' && 'upload' in c ? (c.upload as string) : undefined
}

/** `SLUICE_ENCODER_THREADS` of a case: the default pool unless its name says otherwise. */
function encoderThreads(name: string): string | undefined {
  if (name.endsWith('main thread only')) return '0'
  if (name.endsWith('2 encoder threads')) return '2'
  return process.env.SLUICE_ENCODER_THREADS
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : fallback
}

const quiet: ConnectorLogger = { debug() {}, info() {}, warn() {}, error() {} }

const pgConfig = (database: string) => ({
  host: process.env.PGHOST ?? '127.0.0.1',
  port: Number(process.env.PGPORT ?? 5432),
  user: process.env.PGUSER ?? 'postgres',
  database,
})

/** Creates the table once: 2M rows of mixed types, about 200 MB of COPY text. */
async function prepareTable(rows: number): Promise<void> {
  const admin = new pg.Client(pgConfig('postgres'))
  await admin.connect()
  const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE])
  if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${DATABASE}`)
  await admin.end()
  const client = new pg.Client(pgConfig(DATABASE))
  await client.connect()
  try {
    const count = await client.query(`SELECT count(*)::int AS n FROM ${TABLE}`).catch(() => undefined)
    if (count?.rows[0]?.n === rows) return
    await client.query(`DROP TABLE IF EXISTS ${TABLE}`)
    await client.query(`CREATE TABLE ${TABLE} (
      id bigint PRIMARY KEY, name text, email text, amount numeric(12,2), score double precision,
      active boolean, created_at timestamptz, updated_at timestamp, birth date, note text)`)
    await client.query(
      `INSERT INTO ${TABLE}
       SELECT g, 'customer ' || g, 'user' || g || '@example.com', (g % 100000) / 100.0, g * 0.37,
              g % 3 = 0, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',
              timestamp '2024-01-01' + g * interval '1 minute', date '1950-01-01' + (g % 20000),
              CASE WHEN g % 10 = 0 THEN NULL ELSE md5(g::text) || ' lorem ipsum dolor sit amet' END
       FROM generate_series(1, $1) g`,
      [rows],
    )
    await client.query(`VACUUM ANALYZE ${TABLE}`)
  } finally {
    await client.end()
  }
}

/** The extraction limit: the table's own COPY TO STDOUT, bytes discarded. */
async function copyCase(): Promise<CaseResult> {
  const client = new pg.Client(pgConfig(DATABASE))
  await client.connect()
  let bytes = 0
  const cpuStart = cpuSeconds()
  const started = process.hrtime.bigint()
  await pipeline(
    client.query(copyTo(`COPY ${TABLE} TO STDOUT`)),
    new Writable({
      write(chunk: Buffer, _enc, done) {
        bytes += chunk.length
        done()
      },
    }),
  )
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const cpu = cpuSeconds() - cpuStart
  const { rows } = await client.query(`SELECT count(*)::int AS n FROM ${TABLE}`)
  await client.end()
  return { name: 'COPY TO STDOUT', rows: rows[0].n as number, seconds, outputBytes: bytes, peakRssMiB: process.resourceUsage().maxRSS / 1024, cpuSeconds: cpu }
}

const discard: Destination = {
  ...s3Definition.destination,
  async *write(_config, _catalog, input) {
    for await (const m of input) if (m.type === 'STATE') yield m
  },
}

async function objectBytes(endpoint: string, prefix: string): Promise<number> {
  const client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'minioadmin', secretAccessKey: 'minioadmin' } })
  let total = 0
  let token: string | undefined
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token }))
    for (const o of page.Contents ?? []) total += o.Size ?? 0
    token = page.NextContinuationToken
  } while (token)
  client.destroy()
  return total
}

async function directoryBytes(dir: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && !entry.name.startsWith('.')) total += (await stat(join(entry.parentPath, entry.name))).size
  }
  return total
}

/** Uploads `total` bytes (random, 1 MB writes) as objects of at most 200 MB, as the destination rotates them. */
async function uploadCase(name: string, endpoint: string, total: number): Promise<CaseResult> {
  const config = { s3_bucket_name: BUCKET, s3_bucket_path: '', s3_bucket_region: 'us-east-1', access_key_id: 'minioadmin', secret_access_key: 'minioadmin', s3_endpoint: endpoint, format: {} }
  const client = createS3Client(config, SYNC_CLIENT)
  const store = new S3ObjectStore(client, BUCKET, (e, action) => translateS3Error(e, config, action))
  const chunk = randomBytes(1024 * 1024)
  const prefix = `bench-upload-${Date.now()}/`
  const cpuStart = cpuSeconds()
  const started = process.hrtime.bigint()
  let previous: Promise<void> = Promise.resolve()
  for (let written = 0, part = 0; written < total; part++) {
    const sink = await store.create(`${prefix}part_${part}`, 1)
    const objectEnd = Math.min(total, written + 200 * 1024 * 1024)
    while (written < objectEnd) {
      const piece = chunk.subarray(0, Math.min(chunk.length, objectEnd - written))
      written += piece.length
      if (!sink.stream.write(piece)) await once(sink.stream, 'drain')
    }
    await previous
    previous = sink.commit()
  }
  await previous
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const cpu = cpuSeconds() - cpuStart
  client.destroy()
  return { name, rows: 0, seconds, outputBytes: await objectBytes(endpoint, prefix), peakRssMiB: process.resourceUsage().maxRSS / 1024, cpuSeconds: cpu }
}

async function syncCase(name: string, endpoint: string): Promise<CaseResult> {
  const format = CASES[name]
  if (format === undefined || format === 'copy' || uploadOf(name) !== undefined) throw new Error(`unknown case ${name}`)
  const root = await mkdtemp(join(tmpdir(), 'sluice-bench-local-'))
  const options = { signal: new AbortController().signal, logger: quiet, context: { dataDir: root, localFilesRoot: root } }
  const sourceConfig = { ...pgConfig(DATABASE), username: pgConfig(DATABASE).user, schemas: ['public'], replication_method: { method: 'Standard' } }
  const discovered = await postgresSourceDefinition.source.discover(sourceConfig, options)
  const catalog: ConfiguredCatalog = {
    streams: discovered.streams
      .filter((s) => s.name === TABLE)
      .map((stream) => ({ stream, syncMode: 'full_refresh', destinationSyncMode: 'overwrite', cursorField: [], primaryKey: [['id']], syncId: 1, generationId: 1, minimumGenerationId: 1 })),
  }
  const local = name.startsWith('Local Files')
  const prefix = `bench-${Date.now()}/`
  const destinationConfig = {
    s3_bucket_name: BUCKET,
    s3_bucket_path: prefix,
    s3_bucket_region: 'us-east-1',
    access_key_id: 'minioadmin',
    secret_access_key: 'minioadmin',
    s3_endpoint: endpoint,
    format,
  }
  const cpuStart = cpuSeconds()
  const started = process.hrtime.bigint()
  const result = await runAttempt({
    source: postgresSourceDefinition.source,
    sourceConfig,
    destination: format === null ? discard : local ? localFilesDefinition.destination : s3Definition.destination,
    destinationConfig: local ? { destination_path: 'out', format } : destinationConfig,
    catalog,
    mapping: { namespaceDefinition: 'source' },
    state: [],
    options,
    onStateCommitted: async () => {},
  })
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const cpu = cpuSeconds() - cpuStart
  const outputBytes = format === null ? 0 : local ? await directoryBytes(join(root, 'out')) : await objectBytes(endpoint, prefix)
  await rm(root, { recursive: true, force: true })
  return { name, rows: result.totalStats.recordsCommitted, seconds, outputBytes, peakRssMiB: process.resourceUsage().maxRSS / 1024, cpuSeconds: cpu }
}

/** Child mode: run s3rver until killed, printing its endpoint (keeps its CPU and memory apart). */
async function serveS3(directory: string): Promise<void> {
  const require = createRequire(import.meta.url)
  const S3rver = require('s3rver') as new (o: Record<string, unknown>) => { run(): Promise<{ port: number }> }
  const account = require('s3rver/lib/models/account.js') as { DUMMY_ACCOUNT: { createKeyPair(a: string, b: string): void } }
  account.DUMMY_ACCOUNT.createKeyPair('minioadmin', 'minioadmin')
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, vhostBuckets: false, configureBuckets: [{ name: BUCKET }] })
  const { port } = await server.run()
  process.stdout.write(`http://127.0.0.1:${port}\n`)
}

/**
 * The floor of a case: COPY TO STDOUT, or for an S3 case whose upload-only yardstick ran, the
 * slower of COPY and that upload.
 */
function limitSeconds(r: CaseResult, results: CaseResult[], copySeconds: number): number {
  const upload = results.find((u) => uploadOf(u.name) === r.name)
  return Math.max(copySeconds, upload?.seconds ?? 0)
}

function table(results: CaseResult[], copySeconds: number): string {
  const header = ['case', 'rows', 'seconds', 'rows/s', 'x COPY', 'x limit', 'CPU s', 'output MB', 'peak RSS MiB']
  const lines = results.map((r) => [
    r.name,
    String(r.rows),
    r.seconds.toFixed(2),
    Math.round(r.rows / r.seconds).toLocaleString('en-US'),
    (r.seconds / copySeconds).toFixed(2),
    (r.seconds / limitSeconds(r, results, copySeconds)).toFixed(2),
    r.cpuSeconds.toFixed(2),
    (r.outputBytes / 1e6).toFixed(1),
    r.peakRssMiB.toFixed(0),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)))
  const row = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`
  return [row(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(row)].join('\n')
}

async function main(): Promise<void> {
  const serveDir = arg('serve-s3', '')
  if (serveDir !== '') return serveS3(serveDir)
  const only = arg('case', '')
  if (only !== '') {
    const result =
      CASES[only] === 'copy'
        ? await copyCase()
        : uploadOf(only) !== undefined
          ? await uploadCase(only, arg('endpoint', ''), Number(arg('bytes', '0')))
          : await syncCase(only, arg('endpoint', ''))
    process.stdout.write(`${JSON.stringify(result)}\n`)
    return
  }
  const rows = Number(arg('rows', '2000000'))
  await prepareTable(rows)
  const script = fileURLToPath(import.meta.url)
  const directory = await mkdtemp(join(tmpdir(), 'sluice-bench-s3-'))
  const s3 = spawn(process.execPath, [...process.execArgv, script, '--serve-s3', directory], { stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    const endpoint = await new Promise<string>((resolve, reject) => {
      s3.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()))
      s3.once('exit', (code) => reject(new Error(`s3rver exited (${code})`)))
    })
    const results: CaseResult[] = []
    // --only 'S3 JSONL,COPY TO STDOUT' runs a subset (COPY always runs: the ratios need it).
    const subset = arg('only', '').split(',').filter(Boolean)
    // An upload-only yardstick runs when the case it measures ran.
    const names = Object.keys(CASES).filter((n) => n === 'COPY TO STDOUT' || subset.length === 0 || subset.includes(uploadOf(n) ?? n))
    for (const name of names) {
      const threads = encoderThreads(name)
      const measured = uploadOf(name)
      const bytes = measured === undefined ? [] : ['--bytes', String(results.find((r) => r.name === measured)?.outputBytes ?? 0)]
      const child = spawnSync(process.execPath, [...process.execArgv, script, '--case', name, '--endpoint', endpoint, ...bytes], {
        encoding: 'utf8',
        env: threads === undefined ? process.env : { ...process.env, SLUICE_ENCODER_THREADS: threads },
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      if (child.status !== 0) throw new Error(`case ${name} failed (exit ${child.status})`)
      results.push(JSON.parse(child.stdout.trim().split('\n').at(-1) as string) as CaseResult)
    }
    const copySeconds = results[0]!.seconds
    console.log(`Postgres (${rows.toLocaleString('en-US')} rows, ${(results[0]!.outputBytes / 1e6).toFixed(0)} MB of COPY text) -> S3 (s3rver, loopback) through runAttempt`)
    console.log(table(results, copySeconds))
    console.log('x limit: against the slower of COPY TO STDOUT and uploading the same bytes to the same S3 server')
  } finally {
    s3.kill()
    await rm(directory, { recursive: true, force: true })
    if (process.argv.includes('--keep-table') === false) {
      const admin = new pg.Client(pgConfig('postgres'))
      await admin.connect()
      await admin.query(`DROP DATABASE IF EXISTS ${DATABASE}`)
      await admin.end()
    }
  }
}

await main()
