import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import type { Readable, Writable } from 'node:stream'
import { Command } from 'commander'
import type { ConnectorConfig, ConnectorDefinition, ConnectorLogger, DestinationMessage, RunOptions, StateMessage } from '../protocol/index.js'
import { builtinDefinitions } from '../connectors/builtin-definitions.js'
import { ConnectorRegistry } from '../connectors/registry.js'
import {
  catalogToWire,
  configuredCatalogFromWire,
  connectionStatusLine,
  controlConfigLine,
  descriptorFromWire,
  errorTraceLine,
  estimateLine,
  logLine,
  readAirbyteMessages,
  recordLines,
  SecretMasker,
  specToWire,
  statesFromWire,
  streamStatusLine,
  type WireConfiguredCatalog,
  type WireState,
} from '../connectors/external/index.js'
import { SluiceError, isSluiceError } from '../errors.js'
import { secretValues } from '../secrets/config-secrets.js'

export const CONNECTOR_VERBS = ['spec', 'check', 'discover', 'read', 'write'] as const
export type ConnectorVerb = (typeof CONNECTOR_VERBS)[number]

function lastSegment(repository: string): string {
  return repository.slice(repository.lastIndexOf('/') + 1)
}

/**
 * The built-in connector a name stands for: its docker repository (`airbyte/source-faker`), the
 * repository's last segment (`source-faker`), that without `source-`/`destination-` (`faker`),
 * or its display name. `read`/`discover` only look at sources and `write` at destinations;
 * `spec`/`check` need an unambiguous name (`source-postgres`, not `postgres`).
 */
export function findBuiltinConnector(registry: ConnectorRegistry, name: string, verb: ConnectorVerb): ConnectorDefinition {
  const wanted = name.toLowerCase()
  const matches = (d: ConnectorDefinition): boolean => {
    const seg = lastSegment(d.dockerRepository).toLowerCase()
    return d.dockerRepository.toLowerCase() === wanted || seg === wanted || seg === `${d.kind}-${wanted}` || d.name.toLowerCase() === wanted
  }
  const kinds = verb === 'read' || verb === 'discover' ? ['source'] : verb === 'write' ? ['destination'] : ['source', 'destination']
  const found = [...registry.sources(), ...registry.destinations()].filter((d) => kinds.includes(d.kind) && matches(d))
  if (found.length === 1 && found[0]) return found[0]
  if (found.length > 1) {
    throw new SluiceError('SLUICE_ERR_INVALID_INPUT', `"${name}" names more than one connector (${found.map((d) => lastSegment(d.dockerRepository)).join(', ')}): use one of those names`)
  }
  const known = [...registry.sources(), ...registry.destinations()].map((d) => lastSegment(d.dockerRepository)).sort()
  throw new SluiceError('SLUICE_ERR_NOT_FOUND', `no built-in ${kinds.join(' or ')} named "${name}" can ${verb} (known: ${known.join(', ')})`)
}

/** Writes to stdout honouring its backpressure. */
async function put(out: Writable, chunk: string | Buffer): Promise<void> {
  if (out.write(chunk)) return
  await new Promise<void>((resolve) => {
    const done = (): void => {
      out.off('drain', done)
      out.off('close', done)
      out.off('error', done)
      resolve()
    }
    out.on('drain', done)
    out.on('close', done)
    out.on('error', done)
  })
}

async function readJson(path: string | undefined, what: string): Promise<unknown> {
  if (path === undefined) throw new SluiceError('SLUICE_ERR_INVALID_INPUT', `--${what} <file> is required`)
  try {
    return JSON.parse(await readFile(path, 'utf8'))
  } catch (e) {
    throw new SluiceError('SLUICE_ERR_INVALID_INPUT', `cannot read the ${what} file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  }
}

/** A saved state file: Airbyte's state array, or a legacy blob (then ignored: sluice's sources keep per-stream state). */
function stateFrom(value: unknown, streams: ReturnType<typeof configuredCatalogFromWire>): StateMessage[] {
  if (!Array.isArray(value)) return []
  const descriptors = streams.streams.map((s) => (s.stream.namespace ? { name: s.stream.name, namespace: s.stream.namespace } : { name: s.stream.name }))
  return (value as WireState[]).flatMap((s) => statesFromWire(s, descriptors))
}

export interface ConnectorRunIo {
  stdin: Readable
  stdout: Writable
  env: NodeJS.ProcessEnv
  registry?: ConnectorRegistry
}

export interface ConnectorArgs {
  config?: string
  catalog?: string
  state?: string
}

/**
 * Runs a built-in connector as an Airbyte-protocol executable: Airbyte messages on stdout
 * (and, for `write`, on stdin), logs as LOG messages, a failure as a TRACE error. Returns the
 * exit code (1 after a failure).
 */
export async function runConnector(name: string, verb: ConnectorVerb, args: ConnectorArgs, io: ConnectorRunIo): Promise<number> {
  const out = io.stdout
  let masker = new SecretMasker()
  const pending: string[] = []
  // Logs are written between data lines, in order; they are queued and flushed by the data loop.
  const logger: ConnectorLogger = {
    debug: (m) => pending.push(logLine('DEBUG', masker.mask(m))),
    info: (m) => pending.push(logLine('INFO', masker.mask(m))),
    warn: (m) => pending.push(logLine('WARN', masker.mask(m))),
    error: (m) => pending.push(logLine('ERROR', masker.mask(m))),
  }
  const flushLogs = async (): Promise<void> => {
    if (pending.length > 0) await put(out, pending.splice(0).join(''))
  }
  const abort = new AbortController()
  const onSignal = (): void => abort.abort()
  process.once('SIGTERM', onSignal)
  process.once('SIGINT', onSignal)
  try {
    const def = findBuiltinConnector(io.registry ?? new ConnectorRegistry(builtinDefinitions()), name, verb)
    const spec = def.kind === 'source' ? def.source.spec : def.destination.spec
    const dataDir = io.env.SLUICE_DATA_DIR || join(tmpdir(), 'sluice-connector')
    const opts: RunOptions = {
      signal: abort.signal,
      logger,
      context: { dataDir, localFilesRoot: io.env.SLUICE_LOCAL_ROOT || process.cwd() },
      onConfigUpdate: async (config) => {
        masker.add(secretValues(spec.connectionSpecification, config))
        pending.push(controlConfigLine(config))
      },
    }
    if (verb === 'spec') {
      await put(out, `${JSON.stringify({ type: 'SPEC', spec: specToWire(spec) })}\n`)
      return 0
    }
    const config = (await readJson(args.config, 'config')) as ConnectorConfig
    masker = new SecretMasker(secretValues(spec.connectionSpecification, config))
    if (verb === 'check') {
      const status = def.kind === 'source' ? await def.source.check(config, opts) : await def.destination.check(config, opts)
      await flushLogs()
      await put(out, connectionStatusLine({ status: status.status, message: masker.mask(status.message) }))
      return 0
    }
    if (verb === 'discover') {
      if (def.kind !== 'source') throw new SluiceError('SLUICE_ERR_INVALID_INPUT', 'discover needs a source')
      const catalog = await def.source.discover(config, opts)
      await flushLogs()
      await put(out, `${JSON.stringify({ type: 'CATALOG', catalog: catalogToWire(catalog) })}\n`)
      return 0
    }
    const catalog = configuredCatalogFromWire((await readJson(args.catalog, 'catalog')) as WireConfiguredCatalog)
    if (verb === 'read') {
      if (def.kind !== 'source') throw new SluiceError('SLUICE_ERR_INVALID_INPUT', 'read needs a source')
      const state = args.state === undefined ? [] : stateFrom(await readJson(args.state, 'state'), catalog)
      for await (const m of def.source.read(config, catalog, state, opts)) {
        await flushLogs()
        switch (m.type) {
          case 'RECORD_BATCH':
            await put(out, recordLines(m))
            break
          case 'STATE':
            await put(out, `${JSON.stringify({ type: 'STATE', state: { type: 'STREAM', stream: { stream_descriptor: m.stream.namespace ? { name: m.stream.name, namespace: m.stream.namespace } : { name: m.stream.name }, stream_state: m.data } } })}\n`)
            break
          case 'STREAM_STATUS':
            await put(out, streamStatusLine(m.stream, m.status))
            break
          case 'ESTIMATE':
            await put(out, estimateLine(m.stream, m.rowEstimate, m.byteEstimate))
            break
          case 'LOG':
            await put(out, logLine(m.level, masker.mask(m.message)))
            break
        }
      }
      await flushLogs()
      return 0
    }
    if (def.kind !== 'destination') throw new SluiceError('SLUICE_ERR_INVALID_INPUT', 'write needs a destination')
    // Echo a state exactly as received: Airbyte matches echoes by content.
    const received = new Map<StateMessage, string>()
    const input = async function* (): AsyncGenerator<DestinationMessage> {
      const descriptors = catalog.streams.map((s) => s.stream)
      for await (const item of readAirbyteMessages(io.stdin, { label: 'stdin' })) {
        if (item.type === 'RECORD_BATCH') yield item
        else if (item.type === 'TEXT') logger.warn(`ignored a line that is not an Airbyte message: ${item.text.slice(0, 200)}`)
        else if (item.message.type === 'STATE' && item.message.state) {
          for (const s of statesFromWire(item.message.state, descriptors)) {
            received.set(s, `${JSON.stringify({ type: 'STATE', state: item.message.state })}\n`)
            yield s
          }
        } else if (item.message.type === 'TRACE' && item.message.trace?.type === 'STREAM_STATUS' && item.message.trace.stream_status) {
          yield { type: 'STREAM_STATUS', stream: descriptorFromWire(item.message.trace.stream_status.stream_descriptor), status: item.message.trace.stream_status.status }
        }
      }
    }
    for await (const echo of def.destination.write(config, catalog, input(), opts)) {
      await flushLogs()
      const line = received.get(echo)
      received.delete(echo)
      await put(out, line ?? `${JSON.stringify({ type: 'STATE', state: { type: 'STREAM', stream: { stream_descriptor: echo.stream, stream_state: echo.data } } })}\n`)
    }
    await flushLogs()
    return 0
  } catch (e) {
    await flushLogs()
    const err = isSluiceError(e) ? e : new SluiceError('SLUICE_ERR_CONNECTOR_SYSTEM', (e as Error).message)
    await put(out, errorTraceLine(masker.mask(err.message), err.failureType, err.code))
    return 1
  } finally {
    process.off('SIGTERM', onSignal)
    process.off('SIGINT', onSignal)
  }
}

/** `sluice connector <name> spec|check|discover|read|write`: a built-in connector as an Airbyte-protocol executable. */
export function connectorCommand(env: NodeJS.ProcessEnv = process.env): Command {
  return new Command('connector')
    .description('run a built-in connector as an Airbyte-protocol executable (what Airbyte runs in a connector image)')
    .argument('<name>', 'connector: source-faker, faker, source-postgres, destination-postgres, destination-s3, destination-local-files, source-rest-api, or a built-in manifest')
    .argument('<verb>', CONNECTOR_VERBS.join('|'))
    .option('--config <file>', 'connector configuration (JSON)')
    .option('--catalog <file>', 'configured catalog (JSON, Airbyte format)')
    .option('--state <file>', 'state (JSON, Airbyte state array)')
    .action(async (name: string, verb: string, o: ConnectorArgs) => {
      if (!(CONNECTOR_VERBS as readonly string[]).includes(verb)) throw new SluiceError('SLUICE_ERR_INVALID_INPUT', `unknown verb "${verb}": use ${CONNECTOR_VERBS.join(', ')}`)
      process.exitCode = await runConnector(name, verb as ConnectorVerb, o, { stdin: process.stdin, stdout: process.stdout, env })
    })
}
