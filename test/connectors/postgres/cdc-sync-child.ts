/*
 * One CDC sync Postgres -> Postgres (append_dedup) in its own process, so a test can kill -9 it.
 * argv: <config json file> <state json file>. Committed states are written to the state file
 * (temp + rename) as the engine saves them, like the worker's job store would.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { runAttempt } from '../../../src/engine/index.js'
import type { ConfiguredCatalog, StateMessage } from '../../../src/protocol/index.js'
import { streamKey } from '../../../src/protocol/index.js'
import { PostgresSource } from '../../../src/connectors/postgres/postgres-source.js'
import { PostgresDestination } from '../../../src/connectors/postgres/postgres-destination.js'
import { memoryLogger } from '../../helpers/pg.js'

const [configFile, stateFile] = process.argv.slice(2)
// Loaded without arguments (the test runner picks up every file under test/): nothing to do.
if (configFile !== undefined && stateFile !== undefined) await runSync(configFile, stateFile)

async function runSync(configFile: string, stateFile: string): Promise<void> {
  const input = JSON.parse(readFileSync(configFile, 'utf8')) as {
    source: Record<string, unknown>
    destination: Record<string, unknown>
    catalog: ConfiguredCatalog
    options: { batchBytes: number; checkpointRows: number; snapshotChunkBytes: number }
  }
  let states: StateMessage[] = JSON.parse(readFileSync(stateFile, 'utf8')) as StateMessage[]
  await runAttempt({
    source: new PostgresSource(input.options),
    sourceConfig: input.source,
    destination: new PostgresDestination(),
    destinationConfig: input.destination,
    catalog: input.catalog,
    mapping: { namespaceDefinition: 'destination' },
    state: states,
    options: { signal: new AbortController().signal, logger: memoryLogger(), context: { dataDir: '/tmp', localFilesRoot: '/tmp' } },
    async onStateCommitted(committed) {
      const byStream = new Map(states.map((s) => [streamKey(s.stream), s]))
      for (const s of committed) byStream.set(streamKey(s.stream), s)
      states = [...byStream.values()]
      writeFileSync(`${stateFile}.tmp`, JSON.stringify(states))
      renameSync(`${stateFile}.tmp`, stateFile)
    },
  })
}
