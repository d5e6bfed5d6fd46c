/**
 * Postgres -> Local Files (Parquet) full refresh against `COPY t TO STDOUT` (not a timed test).
 *
 *   node --import tsx bench/pg-to-local.ts            # 2M rows, same table as bench/pg-to-pg.ts
 *   BENCH_ROWS=200000 node --import tsx bench/pg-to-local.ts
 */
import { rm, readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import { LocalFilesDestination } from '../src/connectors/local-files/index.js'
import { BENCH_ROWS, SRC_DB, phaseArg, prepareSource, ratio, reportPhase, runPhase, sluiceFullRefresh, timeShell } from './pg-to-pg.js'
import { tuneHeapForThroughput } from '../src/cli/heap-tuning.js'

// Every bench process runs with the heap setting of the `sluice` executable.
tuneHeapForThroughput()

async function sizeOf(dir: string): Promise<number> {
  let total = 0
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    total += e.isDirectory() ? await sizeOf(p) : (await stat(p)).size
  }
  return total
}

const DIR = 'sluice-bench-local'

async function main(): Promise<void> {
  if (phaseArg() === 'local') {
    return reportPhase(() =>
      sluiceFullRefresh(new LocalFilesDestination(), { destination_path: DIR, format: { format_type: 'Parquet', compression_codec: 'SNAPPY' } }),
    )
  }
  const { bytes } = await prepareSource()
  console.log(`table t: ${BENCH_ROWS} rows, ${(bytes / 1024 / 1024).toFixed(0)} MB on disk`)
  const copyOut = await timeShell(`psql -h 127.0.0.1 -U postgres -d ${SRC_DB} -Atc "COPY t TO STDOUT" > /dev/null`)
  await rm(path.join('/tmp', DIR), { recursive: true, force: true })
  const sl = await runPhase(process.argv[1]!, 'local')
  const written = await sizeOf(path.join('/tmp', DIR))
  console.log(`COPY t TO STDOUT                        ${copyOut.toFixed(2)} s  (${Math.round(BENCH_ROWS / copyOut)} rows/s)`)
  console.log(
    `sluice Postgres -> Local Files Parquet   ${sl.seconds.toFixed(2)} s  (${Math.round(BENCH_ROWS / sl.seconds)} rows/s)  ` +
      `${ratio(sl.seconds, copyOut)} COPY TO; ${(written / 1024 / 1024).toFixed(0)} MB written; peak RSS ${sl.peakMb.toFixed(0)} MB`,
  )
  await rm(path.join('/tmp', DIR), { recursive: true, force: true })
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
