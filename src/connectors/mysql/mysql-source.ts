import type {
  AirbyteCatalog,
  AirbyteStream,
  ConfiguredCatalog,
  ConfiguredStream,
  ConnectionStatus,
  ConnectorConfig,
  RunOptions,
  Source,
  SourceMessage,
  StateMessage,
  StreamDescriptor,
} from '../../protocol/index.js'
import { streamKey, streamLabel } from '../../protocol/index.js'
import { cancelledError, configError } from '../../errors.js'
import { connectMysql, endMysql, queryRows, type MysqlConnection } from './mysql-client.js'
import { errorContext, replicationMethodOf, validateSourceConfig, type MysqlSourceConfig } from './mysql-config.js'
import { checkCdcPrerequisites, CDC_COLUMNS, readCdc } from './mysql-cdc-read.js'
import { readCursorIncremental } from './mysql-cursor-read.js'
import { fromMysqlError } from './mysql-errors.js'
import { readFullRefresh } from './mysql-full-refresh-read.js'
import { loadRelations, quoteIdent, type MysqlRelation } from './mysql-relations.js'
import { mysqlSourceSpec } from './mysql-spec.js'
import type { MysqlSourceOptions, MysqlStreamRead } from './mysql-stream-read.js'
import { jsonSchemaOf } from './mysql-types.js'

const DEFAULT_OPTIONS: MysqlSourceOptions = { batchRows: 10_000, batchBytes: 2 * 1024 * 1024, checkpointRows: 20_000, copyText: true }

/**
 * The MySQL / MariaDB source: discover from information_schema; read each stream with its
 * read method (`mysql-full-refresh-read`, `mysql-cursor-read`, `mysql-cdc-read`), all built on
 * mysql2 streaming queries paused when a batch is full.
 */
export class MysqlSource implements Source {
  readonly spec = mysqlSourceSpec
  readonly #options: MysqlSourceOptions

  constructor(options: Partial<MysqlSourceOptions> = {}) {
    this.#options = { ...DEFAULT_OPTIONS, ...options }
  }

  /** Rejects what the spec cannot: SSH tunnels, empty host/database/username (HTTP 422). */
  validateConfig(raw: ConnectorConfig): void {
    validateSourceConfig(raw as unknown as MysqlSourceConfig)
  }

  async check(raw: ConnectorConfig, opts: RunOptions): Promise<ConnectionStatus> {
    const config = raw as unknown as MysqlSourceConfig
    try {
      validateSourceConfig(config)
      const conn = await connectMysql(config, opts)
      try {
        const relations = await loadRelations(conn, config.database)
        for (const rel of relations.filter((r) => !r.isView)) {
          try {
            await queryRows(conn, `SELECT * FROM ${quoteIdent(config.database)}.${quoteIdent(rel.name)} LIMIT 0`)
          } catch (err) {
            const e = fromMysqlError(err, errorContext(config, `reading table "${rel.name}"`))
            return { status: 'failed', message: `User "${config.username}" cannot SELECT table "${rel.name}": ${e.message}` }
          }
        }
        if (replicationMethodOf(config) === 'CDC') {
          const problem = await checkCdcPrerequisites(conn, config)
          if (problem) return { status: 'failed', message: problem }
        }
        return { status: 'succeeded', message: 'Connected.' }
      } finally {
        await endMysql(conn)
      }
    } catch (err) {
      const e = fromMysqlError(err, errorContext(config, 'checking the connection'))
      if (e.code === 'SLUICE_ERR_CANCELLED') throw e
      return { status: 'failed', message: e.message }
    }
  }

  async discover(raw: ConnectorConfig, opts: RunOptions): Promise<AirbyteCatalog> {
    const config = raw as unknown as MysqlSourceConfig
    validateSourceConfig(config)
    const cdc = replicationMethodOf(config) === 'CDC'
    let conn: MysqlConnection | undefined
    try {
      conn = await connectMysql(config, opts)
      const relations = await loadRelations(conn, config.database)
      return { streams: relations.map((rel) => streamOf(config.database, rel, cdc)) }
    } catch (err) {
      throw fromMysqlError(err, errorContext(config, 'discovering the schema'))
    } finally {
      if (conn) await endMysql(conn)
    }
  }

  async *read(raw: ConnectorConfig, catalog: ConfiguredCatalog, state: StateMessage[], opts: RunOptions): AsyncIterable<SourceMessage> {
    const config = raw as unknown as MysqlSourceConfig
    validateSourceConfig(config)
    const cdc = replicationMethodOf(config) === 'CDC'
    const states = new Map(state.map((s) => [streamKey(s.stream), s.data]))
    let conn: MysqlConnection | undefined
    let clean = false
    try {
      conn = await connectMysql(config, opts)
      const incremental: ConfiguredStream[] = []
      for (const cs of catalog.streams) {
        if (opts.signal.aborted) throw cancelledError()
        if (cdc && cs.syncMode === 'incremental') {
          incremental.push(cs)
          continue
        }
        const descriptor: StreamDescriptor = { name: cs.stream.name, namespace: cs.stream.namespace ?? null }
        yield { type: 'STREAM_STATUS', stream: descriptor, status: 'STARTED' }
        try {
          const read = await this.#prepare(conn, config, cs, opts)
          const { rowEstimate, byteEstimate } = read.relation
          // information_schema statistics only (no scan): lets the engine show progress.
          if (rowEstimate > 0) yield { type: 'ESTIMATE', stream: descriptor, rowEstimate, byteEstimate }
          const saved = states.get(streamKey(descriptor)) ?? null
          if (cs.syncMode === 'full_refresh') yield* readFullRefresh(read, saved)
          else yield* readCursorIncremental(read, saved)
        } catch (err) {
          throw fromMysqlError(err, errorContext(config, `reading ${streamLabel(descriptor)}`))
        }
        yield { type: 'STREAM_STATUS', stream: descriptor, status: 'COMPLETE' }
      }
      if (incremental.length > 0) {
        const reads: MysqlStreamRead[] = []
        for (const cs of incremental) reads.push(await this.#prepare(conn, config, cs, opts))
        try {
          yield* readCdc(config, reads, states, opts)
        } catch (err) {
          throw fromMysqlError(err, errorContext(config, 'reading the binary log'))
        }
      }
      clean = true
    } catch (err) {
      throw fromMysqlError(err, errorContext(config, 'reading'))
    } finally {
      if (conn) {
        if (clean) await endMysql(conn)
        else conn.destroy()
      }
    }
  }

  /** Checks the stream's table and selected columns still exist, and builds its read context. */
  async #prepare(conn: MysqlConnection, config: MysqlSourceConfig, cs: ConfiguredStream, opts: RunOptions): Promise<MysqlStreamRead> {
    const namespace = cs.stream.namespace ?? config.database
    const name = cs.stream.name
    const descriptor: StreamDescriptor = { name, namespace: cs.stream.namespace ?? null }
    const [rel] = await loadRelations(conn, namespace, name)
    if (!rel) {
      throw configError(
        `Table ${namespace}.${name} does not exist or user "${config.username}" cannot SELECT it; it was there at discover time: refresh the source schema.`,
      )
    }
    const wanted = Object.keys((cs.stream.jsonSchema.properties ?? {}) as Record<string, unknown>).filter((w) => !CDC_COLUMNS.includes(w))
    const byName = new Map(rel.columns.map((c) => [c.name, c]))
    const missing = wanted.filter((w) => !byName.has(w))
    if (missing.length > 0) {
      throw configError(`Column(s) ${missing.map((m) => `"${m}"`).join(', ')} of ${namespace}.${name} no longer exist: refresh the source schema.`)
    }
    const columns = wanted.length > 0 ? rel.columns.filter((c) => wanted.includes(c.name)) : rel.columns
    return {
      conn,
      configured: cs,
      stream: descriptor,
      relation: rel,
      table: `${quoteIdent(namespace)}.${quoteIdent(name)}`,
      columns,
      options: this.#options,
      run: opts,
    }
  }
}

/** The catalog stream of a table or view (CDC adds Airbyte's `_ab_cdc_*` columns to tables with a key). */
function streamOf(database: string, rel: MysqlRelation, cdc: boolean): AirbyteStream {
  const properties: Record<string, unknown> = {}
  for (const col of rel.columns) properties[col.name] = jsonSchemaOf(col.kind)
  const cdcCapable = cdc && !rel.isView && rel.primaryKey.length > 0
  if (cdcCapable) {
    properties._ab_cdc_cursor = { type: 'number', airbyte_type: 'integer' }
    properties._ab_cdc_log_file = { type: 'string' }
    properties._ab_cdc_log_pos = { type: 'number', airbyte_type: 'integer' }
    properties._ab_cdc_updated_at = { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' }
    properties._ab_cdc_deleted_at = { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' }
  }
  return {
    name: rel.name,
    namespace: database,
    jsonSchema: { type: 'object', properties },
    supportedSyncModes: cdc && !cdcCapable ? ['full_refresh'] : ['full_refresh', 'incremental'],
    sourceDefinedCursor: cdcCapable,
    defaultCursorField: cdcCapable ? ['_ab_cdc_cursor'] : [],
    sourceDefinedPrimaryKey: rel.primaryKey.map((c) => [c]),
    isResumable: rel.primaryKey.length > 0,
  }
}
