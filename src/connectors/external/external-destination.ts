import type { Writable } from 'node:stream'
import type {
  ConfiguredCatalog,
  ConnectionStatus,
  ConnectorConfig,
  Destination,
  DestinationCapabilities,
  DestinationMessage,
  RunOptions,
  StateMessage,
} from '../../protocol/index.js'
import { streamKey } from '../../protocol/index.js'
import { protocolError, readAirbyteMessages } from './airbyte-message-reader.js'
import { recordLines, stateLine, streamStatusLine } from './airbyte-message-writer.js'
import { canonicalJson, configuredCatalogToWire, statesFromWire } from './airbyte-wire.js'
import { ExternalConnector, type ExternalConnectorOptions } from './external-connector.js'

const ROLE = 'destination'

function stateKey(state: StateMessage): string {
  return `${streamKey(state.stream)}\n${canonicalJson(state.data)}`
}

/** Waits until a full stdin can take more (or is gone: the exit status then says why). */
function drained(stdin: Writable): Promise<void> {
  if (stdin.destroyed || stdin.writableEnded) return Promise.resolve()
  return new Promise((resolve) => {
    const done = (): void => {
      stdin.off('drain', done)
      stdin.off('close', done)
      stdin.off('error', done)
      resolve()
    }
    stdin.on('drain', done)
    stdin.on('close', done)
    stdin.on('error', done)
  })
}

/**
 * A destination that is an Airbyte-protocol process. sluice writes RECORD, STATE and stream
 * status TRACE lines to its stdin (record batches that came from an external source as raw
 * lines are copied unchanged), honouring the pipe's backpressure, and yields each STATE the
 * process echoes on stdout (its promise that the records before it are durable), matched to
 * the state it was sent.
 */
export class ExternalDestination implements Destination {
  readonly capabilities: DestinationCapabilities
  readonly #connector: ExternalConnector

  constructor(options: ExternalConnectorOptions) {
    this.#connector = new ExternalConnector(options)
    const modes = options.spec.supportedDestinationSyncModes
    this.capabilities = { supportedSyncModes: modes && modes.length > 0 ? modes : ['append', 'overwrite'], acceptsPgCopyText: false, acceptsColumns: false }
  }

  get spec(): ExternalConnector['spec'] {
    return this.#connector.spec
  }

  check(config: ConnectorConfig, opts: RunOptions): Promise<ConnectionStatus> {
    return this.#connector.runCheck(ROLE, config, opts)
  }

  async *write(config: ConnectorConfig, catalog: ConfiguredCatalog, input: AsyncIterable<DestinationMessage>, opts: RunOptions): AsyncGenerator<StateMessage> {
    const c = this.#connector
    const masker = c.masker(config)
    const files = [
      { flag: '--config' as const, name: 'destination_config.json', content: config },
      { flag: '--catalog' as const, name: 'destination_catalog.json', content: configuredCatalogToWire(catalog) },
    ]
    const proc = await c.start(ROLE, 'write', files, opts, masker, true)
    const out = c.output(ROLE, opts, masker)
    const pending: Array<{ key: string; state: StateMessage }> = []
    let inputDone = false
    let stopped = false
    let inputError: unknown
    const stdin = proc.stdin
    if (stdin === undefined) throw new Error('destination process without stdin')
    const pump = (async (): Promise<void> => {
      try {
        for await (const m of input) {
          if (stopped || stdin.destroyed) return
          let chunk: Buffer | string
          if (m.type === 'RECORD_BATCH') chunk = recordLines(m)
          else if (m.type === 'STATE') {
            // Registered before the write: the echo may come back before write returns.
            pending.push({ key: stateKey(m), state: m })
            chunk = stateLine(m)
          } else chunk = streamStatusLine(m.stream, m.status)
          if (!stdin.write(chunk)) await drained(stdin)
        }
        inputDone = true
        stdin.end()
      } catch (e) {
        inputError = e
        void proc.cancel()
      }
    })()
    try {
      for await (const item of readAirbyteMessages(proc.stdout, { ...c.settings.reader, label: c.label(ROLE) })) {
        if (item.type === 'TEXT') {
          out.text(item.text, ROLE)
          continue
        }
        if (item.type === 'RECORD_BATCH') throw protocolError(`${c.label(ROLE)} wrote RECORD messages on its output`)
        const m = item.message
        if (out.common(m, ROLE)) continue
        if (m.type !== 'STATE' || !m.state) {
          opts.logger.debug(`${ROLE}: ignored a ${m.type} message`)
          continue
        }
        for (const echo of statesFromWire(m.state, [])) {
          const key = stateKey(echo)
          const i = pending.findIndex((p) => p.key === key)
          // States before the echoed one are covered by it (a destination may skip states).
          if (i >= 0) yield pending.splice(0, i + 1)[i]?.state ?? echo
          else yield echo
        }
      }
      const exit = await proc.finished()
      if (inputError !== undefined) throw inputError
      const failure = out.failure(proc, exit, opts.signal)
      if (failure) throw failure
      if (!inputDone) throw protocolError(`${c.label(ROLE)} exited before the end of its input`)
    } finally {
      stopped = true
      await proc.dispose()
      // Not awaited: the pump may be waiting for input that only ends once this write returns.
      void pump
    }
  }
}
