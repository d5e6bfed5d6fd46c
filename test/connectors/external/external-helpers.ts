import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ConfiguredCatalog, ConnectorSpecification, RunOptions } from '../../../src/protocol/index.js'
import { LocalRunner, ContainerRunner, runnerSettingsFromEnv, type ConnectorRunner } from '../../../src/connectors/external/connector-runner.js'
import { fetchExternalSpec, type ExternalRunSettings } from '../../../src/connectors/external/external-connector.js'
import { memoryLogger } from '../../engine/engine-helpers.js'

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir)
  return dir
}

export const ROOT = repoRoot()
/** The fixture connectors and the stand-in docker client (plain files: not compiled). */
export const FIXTURES = join(ROOT, 'test', 'connectors', 'external', 'fixtures')

export function localRunner(dirs: string[] = [FIXTURES], env: NodeJS.ProcessEnv = { PATH: process.env.PATH }): ConnectorRunner {
  return new LocalRunner(runnerSettingsFromEnv({ ...env, SLUICE_CONNECTORS_PATH: dirs.join(':'), SLUICE_CONNECTOR_RUNNER: 'local' }))
}

/** The stand-in docker client on PATH, with its state dir (pulled images, pid files) and argv log. */
export async function fakeDocker(kind: 'docker' | 'podman' = 'docker', extra: NodeJS.ProcessEnv = {}): Promise<{ runner: ConnectorRunner; state: string; calls(): Promise<string[][]>; cleanup(): Promise<void> }> {
  const state = await mkdtemp(join(tmpdir(), 'sluice-fake-docker-'))
  const log = join(state, 'calls.log')
  const env = { PATH: `${FIXTURES}:${process.env.PATH}`, HOME: process.env.HOME, DOCKER_CONFIG: state, SLUICE_CONNECTOR_RUNNER: kind, ...extra }
  const runner = new ContainerRunner(kind, runnerSettingsFromEnv(env))
  return {
    runner,
    state,
    calls: async () => (existsSync(log) ? (await readFile(log, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as string[]) : []),
    cleanup: () => rm(state, { recursive: true, force: true }),
  }
}

export function runOptions(signal: AbortSignal = new AbortController().signal, extra: Partial<RunOptions> = {}): RunOptions & { logger: ReturnType<typeof memoryLogger> } {
  return { signal, logger: memoryLogger(), context: { dataDir: '/nonexistent', localFilesRoot: '/nonexistent' }, ...extra } as RunOptions & { logger: ReturnType<typeof memoryLogger> }
}

export async function specOf(repository: string, settings: ExternalRunSettings): Promise<ConnectorSpecification> {
  return fetchExternalSpec({ repository, tag: 'dev' }, settings, runOptions())
}

/** A configured catalog of the Python fixture's streams. */
export function pyCatalog(streams: Array<{ name: string; syncMode?: 'full_refresh' | 'incremental' }>, destinationSyncMode: 'append' | 'overwrite' = 'append'): ConfiguredCatalog {
  return {
    streams: streams.map((s) => ({
      stream: { name: s.name, jsonSchema: { type: 'object' }, supportedSyncModes: ['full_refresh', 'incremental'] },
      syncMode: s.syncMode ?? 'full_refresh',
      destinationSyncMode,
      cursorField: s.syncMode === 'incremental' ? ['id'] : [],
      primaryKey: [['id']],
      syncId: 1,
      generationId: 1,
      minimumGenerationId: 0,
    })),
  }
}
