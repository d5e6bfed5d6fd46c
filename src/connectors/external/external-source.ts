import type { AirbyteCatalog, ConfiguredCatalog, ConnectionStatus, ConnectorConfig, RunOptions, Source, SourceMessage, StateMessage, StreamDescriptor } from '../../protocol/index.js'
import { protocolError, readAirbyteMessages } from './airbyte-message-reader.js'
import { catalogFromWire, configuredCatalogToWire, descriptorFromWire, statesFromWire, statesToWire } from './airbyte-wire.js'
import { ExternalConnector, type ExternalConnectorOptions } from './external-connector.js'
import type { ConnectorFile } from './connector-runner.js'

const ROLE = 'source'

/**
 * A source that is an Airbyte-protocol process (a container image or a local executable).
 * `read` streams the process's stdout: record lines become batches that keep their raw lines
 * (an external destination copies them unchanged), STATE is split per stream (GLOBAL and
 * LEGACY included), TRACE becomes stream statuses, estimates and the failure, and CONTROL
 * config updates go to `opts.onConfigUpdate`.
 */
export class ExternalSource implements Source {
  readonly #connector: ExternalConnector

  constructor(options: ExternalConnectorOptions) {
    this.#connector = new ExternalConnector(options)
  }

  get spec(): ExternalConnector['spec'] {
    return this.#connector.spec
  }

  check(config: ConnectorConfig, opts: RunOptions): Promise<ConnectionStatus> {
    return this.#connector.runCheck(ROLE, config, opts)
  }

  async discover(config: ConnectorConfig, opts: RunOptions): Promise<AirbyteCatalog> {
    const m = await this.#connector.answer(ROLE, 'discover', 'CATALOG', config, opts)
    if (!m?.catalog || !Array.isArray(m.catalog.streams)) throw protocolError(`${this.#connector.label(ROLE)} discover returned a CATALOG without streams`)
    return catalogFromWire(m.catalog)
  }

  async *read(config: ConnectorConfig, catalog: ConfiguredCatalog, state: StateMessage[], opts: RunOptions): AsyncGenerator<SourceMessage> {
    const c = this.#connector
    const masker = c.masker(config)
    const streams: StreamDescriptor[] = catalog.streams.map((s) => (s.stream.namespace ? { name: s.stream.name, namespace: s.stream.namespace } : { name: s.stream.name }))
    const files: Array<ConnectorFile & { content: unknown }> = [
      { flag: '--config', name: 'source_config.json', content: config },
      { flag: '--catalog', name: 'source_catalog.json', content: configuredCatalogToWire(catalog) },
    ]
    if (state.some((s) => s.data !== null)) files.push({ flag: '--state', name: 'input_state.json', content: statesToWire(state) })
    const proc = await c.start(ROLE, 'read', files, opts, masker)
    const out = c.output(ROLE, opts, masker)
    try {
      for await (const item of readAirbyteMessages(proc.stdout, { ...c.settings.reader, label: c.label(ROLE) })) {
        if (item.type === 'RECORD_BATCH') {
          yield item
          continue
        }
        if (item.type === 'TEXT') {
          out.text(item.text, ROLE)
          continue
        }
        const m = item.message
        if (out.common(m, ROLE)) continue
        if (m.type === 'STATE' && m.state) {
          for (const s of statesFromWire(m.state, streams)) yield s
        } else if (m.type === 'TRACE' && m.trace?.type === 'STREAM_STATUS' && m.trace.stream_status) {
          yield { type: 'STREAM_STATUS', stream: descriptorFromWire(m.trace.stream_status.stream_descriptor), status: m.trace.stream_status.status }
        } else if (m.type === 'TRACE' && m.trace?.type === 'ESTIMATE' && m.trace.estimate) {
          const e = m.trace.estimate
          yield {
            type: 'ESTIMATE',
            stream: descriptorFromWire({ name: e.name, namespace: e.namespace ?? null }),
            ...(e.row_estimate !== undefined ? { rowEstimate: e.row_estimate } : {}),
            ...(e.byte_estimate !== undefined ? { byteEstimate: e.byte_estimate } : {}),
          }
        } else if (m.type === 'CONTROL') {
          await c.configUpdate(m, opts, masker, ROLE)
        } else {
          opts.logger.debug(`${ROLE}: ignored a ${m.type} message during read`)
        }
      }
      const exit = await proc.finished()
      const failure = out.failure(proc, exit, opts.signal)
      if (failure) throw failure
    } finally {
      await proc.dispose()
    }
  }
}
