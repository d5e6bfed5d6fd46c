import { copyFile, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type {
  ConfiguredCatalog,
  ConfiguredStream,
  ConnectionStatus,
  ConnectorContext,
  ConnectorSpecification,
  Destination,
  DestinationMessage,
  RecordData,
  RunOptions,
  StateMessage,
  StreamDescriptor,
} from '../../protocol/index.js'
import { streamKey } from '../../protocol/index.js'
import { cancelledError, configError, isSluiceError, throwIfAborted } from '../../errors.js'
import { failureKnobProperties, type FailureKnobs, parseFailureKnobs, planFailure } from '../test-source/failure-knobs.js'
import { nextRunNumber } from '../test-source/run-counter.js'

export interface TestDestinationConfig extends FailureKnobs {
  /** Output directory: absolute, or relative to the data dir. */
  path: string
  /** When false, states are never echoed (nothing is ever committed from the engine's view). */
  echoStates: boolean
}

export const testDestinationSpec: ConnectorSpecification = {
  supportedDestinationSyncModes: ['append', 'overwrite', 'append_dedup', 'overwrite_dedup'],
  connectionSpecification: {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'Test Destination Spec',
    type: 'object',
    required: ['path'],
    additionalProperties: true,
    properties: {
      path: { type: 'string', description: 'Output directory (absolute, or relative to the data directory).' },
      echoStates: { type: 'boolean', default: true, description: 'Echo states once durable; false simulates a destination that never commits.' },
      ...failureKnobProperties,
    },
  },
}

export function parseTestDestinationConfig(config: Record<string, unknown>): TestDestinationConfig {
  const path = config.path
  if (typeof path !== 'string' || path.trim() === '') throw configError(`'path' is required.`)
  const echo = config.echoStates ?? true
  if (typeof echo !== 'boolean') throw configError(`'echoStates' must be a boolean.`)
  return { ...parseFailureKnobs(config), path, echoStates: echo }
}

function outputRoot(cfg: TestDestinationConfig, context: ConnectorContext): string {
  return isAbsolute(cfg.path) ? cfg.path : resolve(context.dataDir, cfg.path)
}

const safe = (part: string) => part.replace(/[/\\]/g, '_').replace(/^\.+/, '_')

/** Committed (visible) file of a stream: `<path>/<namespace or _default>/<name>.jsonl`. */
export function testDestinationFile(root: string, stream: StreamDescriptor): string {
  return join(root, stream.namespace ? safe(stream.namespace) : '_default', `${safe(stream.name)}.jsonl`)
}

function generationFile(root: string, stream: StreamDescriptor, generation: number): string {
  return join(root, '.staging', stream.namespace ? safe(stream.namespace) : '_default', `${safe(stream.name)}.gen-${generation}.jsonl`)
}

/** One line of output: Airbyte's envelope columns and the record. */
export interface TestDestinationLine {
  _airbyte_extracted_at: number
  _airbyte_generation_id: number
  _airbyte_data: RecordData
}

/** Reads the committed lines of a stream (empty when the stream has no file yet). */
export async function readTestDestination(root: string, stream: StreamDescriptor): Promise<TestDestinationLine[]> {
  return readLines(testDestinationFile(root, stream))
}

async function readLines(file: string): Promise<TestDestinationLine[]> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw e
  }
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as TestDestinationLine)
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file)
    return true
  } catch {
    return false
  }
}

/** Writes `base` (copied from a file, if any) plus `lines` to a temp file, fsyncs it, then renames it over `target`. */
async function atomicWrite(target: string, base: string | undefined, lines: string[]): Promise<void> {
  await mkdir(dirname(target), { recursive: true })
  const tmp = `${target}.${process.pid}.tmp`
  if (base !== undefined && (await exists(base))) await copyFile(base, tmp)
  const handle = await open(tmp, base !== undefined ? 'a' : 'w')
  try {
    if (lines.length > 0) await handle.write(lines.join(''))
    await handle.sync()
  } finally {
    await handle.close()
  }
  await rename(tmp, target)
}

function keyOf(line: TestDestinationLine, primaryKey: string[][]): string {
  return JSON.stringify(primaryKey.map((path) => path.reduce<unknown>((v, p) => (v as Record<string, unknown> | undefined)?.[p], line._airbyte_data)))
}

function cursorOf(line: TestDestinationLine, cursor: string[]): unknown {
  return cursor.reduce<unknown>((v, p) => (v as Record<string, unknown> | undefined)?.[p], line._airbyte_data)
}

/** Latest row per primary key: a later row wins unless its cursor is smaller (Airbyte's dedup order). */
function dedup(lines: TestDestinationLine[], stream: ConfiguredStream): string[] {
  const byKey = new Map<string, TestDestinationLine>()
  for (const line of lines) {
    const key = keyOf(line, stream.primaryKey)
    const previous = byKey.get(key)
    if (previous !== undefined && stream.cursorField.length > 0) {
      const a = cursorOf(previous, stream.cursorField)
      const b = cursorOf(line, stream.cursorField)
      if (a !== undefined && a !== null && (b === undefined || b === null || (b as number | string) < (a as number | string))) continue
    }
    byKey.delete(key)
    byKey.set(key, line)
  }
  return [...byKey.values()].map((l) => `${JSON.stringify(l)}\n`)
}

/** Per-stream writer: buffers lines, commits them on a state, swaps overwrite output in on COMPLETE. */
class StreamWriter {
  buffer: string[] = []
  readonly truncate: boolean
  readonly dedup: boolean

  constructor(
    readonly root: string,
    readonly configured: ConfiguredStream,
    readonly descriptor: StreamDescriptor,
  ) {
    const mode = configured.destinationSyncMode
    this.truncate = mode === 'overwrite' || mode === 'overwrite_dedup' || (configured.minimumGenerationId > 0 && configured.minimumGenerationId === configured.generationId)
    this.dedup = mode === 'append_dedup' || mode === 'overwrite_dedup'
    if (this.dedup && configured.primaryKey.length === 0) throw configError(`Stream ${descriptor.name} needs a primary key for ${mode}.`)
  }

  get visible(): string {
    return testDestinationFile(this.root, this.descriptor)
  }

  get staged(): string {
    return generationFile(this.root, this.descriptor, this.configured.generationId)
  }

  /** Drops temp files of a crashed run and staged generations other than the current one (left by an abandoned sync). */
  async prepare(): Promise<void> {
    for (const file of [this.visible, this.staged]) {
      const names = await readdir(dirname(file)).catch(() => [] as string[])
      const base = file.slice(dirname(file).length + 1)
      for (const name of names) if (name.startsWith(`${base}.`) && name.endsWith('.tmp')) await rm(join(dirname(file), name), { force: true })
    }
    if (!this.truncate) return
    const dir = dirname(this.staged)
    const prefix = `${safe(this.descriptor.name)}.gen-`
    let names: string[] = []
    try {
      names = await readdir(dir)
    } catch {
      return
    }
    for (const name of names) {
      if (name.startsWith(prefix) && join(dir, name) !== this.staged) await rm(join(dir, name), { force: true })
    }
  }

  /** Makes every buffered line durable: into the staged generation (truncate) or the visible file. */
  async commit(): Promise<void> {
    const lines = this.buffer
    this.buffer = []
    if (this.truncate) {
      await atomicWrite(this.staged, this.staged, lines)
    } else if (this.dedup) {
      const merged = [...(await readLines(this.visible)), ...lines.map((l) => JSON.parse(l) as TestDestinationLine)]
      await atomicWrite(this.visible, undefined, dedup(merged, this.configured))
    } else if (lines.length > 0) {
      await atomicWrite(this.visible, this.visible, lines)
    }
  }

  /** End of the stream: commit, then (truncate) replace the visible data with the new generation. */
  async complete(): Promise<void> {
    await this.commit()
    if (!this.truncate) return
    const staged = this.dedup ? dedup(await readLines(this.staged), this.configured) : undefined
    if (staged !== undefined) await atomicWrite(this.staged, undefined, staged)
    await mkdir(dirname(this.visible), { recursive: true })
    await rename(this.staged, this.visible)
  }
}

/**
 * A file destination for tests: JSONL per stream whose visible content is exactly what was
 * committed. Records are buffered per stream; on a STATE the stream's buffer is written
 * (temp file + fsync + rename) and only then is the state echoed. Overwrite streams build their
 * new generation under `.staging/` (kept across attempts of the same generation) and replace
 * the visible file on COMPLETE. append_dedup keeps the latest row per primary key. Records not
 * covered by a state or a COMPLETE are dropped at the end (the source resends them).
 * Knobs: `failAfterRecords`, `transientFailures` + `runKey`, `delayMs`, `echoStates`.
 */
export const testDestination: Destination = {
  spec: testDestinationSpec,
  capabilities: { supportedSyncModes: ['append', 'overwrite', 'append_dedup', 'overwrite_dedup'], acceptsPgCopyText: false, acceptsColumns: false },

  async check(config, opts): Promise<ConnectionStatus> {
    try {
      const cfg = parseTestDestinationConfig(config)
      await mkdir(outputRoot(cfg, opts.context), { recursive: true })
      return { status: 'succeeded', message: 'The output directory is writable.' }
    } catch (e) {
      return { status: 'failed', message: isSluiceError(e) ? e.message : `Cannot create the output directory: ${(e as Error).message}` }
    }
  },

  async *write(config, catalog: ConfiguredCatalog, input: AsyncIterable<DestinationMessage>, opts: RunOptions): AsyncGenerator<StateMessage> {
    const cfg = parseTestDestinationConfig(config)
    const root = outputRoot(cfg, opts.context)
    const run = await nextRunNumber(opts.context.dataDir, 'destination', cfg.runKey)
    const failure = planFailure(cfg, run, 'destination')
    const writers = new Map<string, StreamWriter>()
    for (const configured of catalog.streams) {
      const descriptor = { name: configured.stream.name, namespace: configured.stream.namespace ?? null }
      const writer = new StreamWriter(root, configured, descriptor)
      await writer.prepare()
      writers.set(streamKey(descriptor), writer)
    }
    const writerFor = (stream: StreamDescriptor): StreamWriter => {
      const writer = writers.get(streamKey(stream))
      if (writer === undefined) throw configError(`Stream ${stream.name} is not in the configured catalog.`)
      return writer
    }
    let received = 0
    for await (const message of input) {
      throwIfAborted(opts.signal)
      if (message.type === 'RECORD_BATCH') {
        if (cfg.delayMs > 0) {
          try {
            await sleep(cfg.delayMs, undefined, { signal: opts.signal })
          } catch {
            throw cancelledError()
          }
        }
        if (failure !== undefined && received + message.count > failure.afterRecords) throw failure.error
        received += message.count
        const writer = writerFor(message.stream)
        const generation = writer.configured.generationId
        for (const row of message.rows()) {
          const line: TestDestinationLine = { _airbyte_extracted_at: message.emittedAt, _airbyte_generation_id: generation, _airbyte_data: row }
          writer.buffer.push(`${JSON.stringify(line)}\n`)
        }
      } else if (message.type === 'STATE') {
        await writerFor(message.stream).commit()
        if (cfg.echoStates) yield message
      } else if (message.status === 'COMPLETE') {
        await writerFor(message.stream).complete()
        opts.logger.info(`test destination: stream ${message.stream.name} complete`)
      }
    }
  },
}
