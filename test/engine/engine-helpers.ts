import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type {
  ConfiguredCatalog,
  ConnectorLogger,
  Destination,
  DestinationSyncMode,
  RunOptions,
  Source,
  StateMessage,
  SyncMode,
} from '../../src/protocol/index.js'
import { testSource } from '../../src/connectors/test-source/test-source.js'
import { testDestination } from '../../src/connectors/test-destination/test-destination.js'
import type { AttemptInput, NamespaceMapping } from '../../src/engine/index.js'

export { testSource, testDestination }

/** A logger that keeps its lines, to assert on them (and keep test output quiet). */
export function memoryLogger(): ConnectorLogger & { lines: string[] } {
  const lines: string[] = []
  const push = (level: string) => (message: string) => {
    lines.push(`${level} ${message}`)
  }
  return { lines, debug: push('DEBUG'), info: push('INFO'), warn: push('WARN'), error: push('ERROR') }
}

export interface Sandbox {
  dataDir: string
  outDir: string
  options(signal?: AbortSignal): RunOptions & { logger: ReturnType<typeof memoryLogger> }
  cleanup(): Promise<void>
}

export async function sandbox(): Promise<Sandbox> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-engine-'))
  const outDir = join(dataDir, 'out')
  return {
    dataDir,
    outDir,
    options: (signal = new AbortController().signal) => ({ signal, logger: memoryLogger(), context: { dataDir, localFilesRoot: dataDir } }),
    cleanup: () => rm(dataDir, { recursive: true, force: true }),
  }
}

/** Configured catalog of the test source's streams, all with the same modes. */
export async function catalogOf(
  source: Source,
  config: Record<string, unknown>,
  syncMode: SyncMode,
  destinationSyncMode: DestinationSyncMode,
  generation = { generationId: 0, minimumGenerationId: 0 },
): Promise<ConfiguredCatalog> {
  const discovered = await source.discover(config, { signal: new AbortController().signal, logger: memoryLogger(), context: { dataDir: '/nonexistent', localFilesRoot: '/nonexistent' } })
  return {
    streams: discovered.streams.map((stream) => ({
      stream,
      syncMode,
      destinationSyncMode,
      cursorField: stream.defaultCursorField ?? [],
      primaryKey: stream.sourceDefinedPrimaryKey ?? [],
      syncId: 1,
      ...generation,
    })),
  }
}

export const SOURCE_MAPPING: NamespaceMapping = { namespaceDefinition: 'source' }

/** An AttemptInput with committed states collected in `committed`. */
export function attemptInput(
  box: Sandbox,
  parts: {
    source?: Source
    sourceConfig?: Record<string, unknown>
    destination?: Destination
    destinationConfig?: Record<string, unknown>
    catalog: ConfiguredCatalog
    state?: StateMessage[]
    mapping?: NamespaceMapping
    emptySource?: boolean
    signal?: AbortSignal
  },
): AttemptInput & { committed: StateMessage[]; options: ReturnType<Sandbox['options']> } {
  const committed: StateMessage[] = []
  return {
    source: parts.source ?? testSource,
    sourceConfig: parts.sourceConfig ?? {},
    destination: parts.destination ?? testDestination,
    destinationConfig: parts.destinationConfig ?? { path: box.outDir },
    catalog: parts.catalog,
    mapping: parts.mapping ?? SOURCE_MAPPING,
    state: parts.state ?? [],
    emptySource: parts.emptySource,
    options: box.options(parts.signal),
    committed,
    async onStateCommitted(states) {
      committed.push(...states)
    },
  }
}

/** Latest committed state per stream, as the job store would keep it. */
export function latestStates(committed: StateMessage[]): StateMessage[] {
  const byStream = new Map<string, StateMessage>()
  for (const s of committed) byStream.set(`${s.stream.namespace ?? ''}\u0000${s.stream.name}`, s)
  return [...byStream.values()]
}
