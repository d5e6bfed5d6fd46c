/**
 * Claim throughput and latency of the PostgreSQL job queue with 1, 4 and 16 concurrent
 * claimers, each on its own connection (as separate worker processes would be). Every claim is
 * followed by finishAttempt, as a worker does, so the numbers include the full queue round trip
 * of a job: claim (FOR UPDATE SKIP LOCKED + attempt insert) and finish.
 *
 *   npx tsc -p . && node dist/bench/claims.js            # BENCH_JOBS=2000 by default
 *   SLUICE_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres BENCH_JOBS=5000 node dist/bench/claims.js
 */
import { performance } from 'node:perf_hooks'
import { openPostgresStores, type PostgresStores } from '../src/store/postgres/index.js'
import { createTestDatabase } from '../test/scale/pg-test-database.js'
import { tuneHeapForThroughput } from '../src/cli/heap-tuning.js'

// Every bench process runs with the heap setting of the `sluice` executable.
tuneHeapForThroughput()

const JOBS = Number(process.env.BENCH_JOBS ?? 2000)
const LEVELS = (process.env.BENCH_CLAIMERS ?? '1,4,16').split(',').map(Number)

interface LevelResult {
  claimers: number
  jobs: number
  seconds: number
  claimsPerSecond: number
  p50Ms: number
  p95Ms: number
  p99Ms: number
  duplicates: number
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0
}

async function runLevel(url: string, claimers: number): Promise<LevelResult> {
  const setup = await openPostgresStores({ url, maxConnections: 4 })
  await setup.db.query('TRUNCATE sluice_attempts, sluice_jobs RESTART IDENTITY CASCADE')
  await setup.db.query(
    `INSERT INTO sluice_jobs (config_type, config_id, status, streams, cancel_requested, run_after, created_at, updated_at)
     SELECT 'sync', 'bench-' || g, 'pending', '[]', false, 0, 0, 0 FROM generate_series(1, $1) g`,
    [JOBS],
  )
  await setup.db.query('ANALYZE sluice_jobs')
  const workers: PostgresStores[] = []
  for (let i = 0; i < claimers; i++) workers.push(await openPostgresStores({ url, maxConnections: 1 }))
  const latencies: number[] = []
  const seen = new Set<number>()
  let duplicates = 0
  const started = performance.now()
  await Promise.all(
    workers.map(async (w, i) => {
      for (;;) {
        const t0 = performance.now()
        const claim = await w.jobStore.claimNext(`bench-${i}`, 60_000)
        latencies.push(performance.now() - t0)
        if (!claim) return
        if (seen.has(claim.job.id)) duplicates++
        seen.add(claim.job.id)
        await w.jobStore.finishAttempt(claim.job.id, 0, `bench-${i}`, { status: 'succeeded', failures: [] }, { status: 'succeeded' })
      }
    }),
  )
  const seconds = (performance.now() - started) / 1000
  for (const w of workers) await w.close()
  await setup.close()
  latencies.sort((x, y) => x - y)
  return {
    claimers,
    jobs: seen.size,
    seconds: Number(seconds.toFixed(2)),
    claimsPerSecond: Math.round(seen.size / seconds),
    p50Ms: Number(percentile(latencies, 50).toFixed(2)),
    p95Ms: Number(percentile(latencies, 95).toFixed(2)),
    p99Ms: Number(percentile(latencies, 99).toFixed(2)),
    duplicates,
  }
}

async function main(): Promise<void> {
  const tdb = await createTestDatabase('benchclaims')
  try {
    // Migrate once up front so the timed runs do not include it.
    await (await openPostgresStores({ url: tdb.url })).close()
    const results: LevelResult[] = []
    for (const claimers of LEVELS) results.push(await runLevel(tdb.url, claimers))
    console.table(results)
    const bad = results.filter((r) => r.duplicates > 0 || r.jobs !== JOBS)
    if (bad.length > 0) {
      console.error('claim bench: some jobs were claimed twice or not at all', bad)
      process.exitCode = 1
    }
  } finally {
    await tdb.drop()
  }
}

await main()
