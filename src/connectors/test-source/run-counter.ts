import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'

/**
 * Counts the runs of a test connector across attempts and processes (a file per key under
 * `<dataDir>/test-connectors/`), so `transientFailures: N` fails exactly the first N runs even
 * when the server is restarted in between. Returns the number of this run (1-based).
 */
export async function nextRunNumber(dataDir: string, kind: 'source' | 'destination', runKey: string): Promise<number> {
  const dir = join(dataDir, 'test-connectors')
  await mkdir(dir, { recursive: true })
  const file = join(dir, `${kind}-${runKey.replace(/[^A-Za-z0-9_.-]/g, '_')}.count`)
  let previous = 0
  try {
    previous = Number.parseInt(await readFile(file, 'utf8'), 10) || 0
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
  }
  // A unique temp name: two connectors of one process may count the same key at once.
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`
  await writeFile(tmp, String(previous + 1))
  await rename(tmp, file)
  return previous + 1
}
