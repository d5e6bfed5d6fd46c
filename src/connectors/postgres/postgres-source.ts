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
import {
  cdcConfigOf,
  errorContext,
  replicationMethodOf,
  validateSourceConfig,
  type PostgresSourceConfig,
} from './postgres-config.js'
import { fromPgError } from './postgres-errors.js'
import { postgresSourceSpec } from './postgres-spec.js'
import { connectPg, destroyPg, endPg, type PgClient } from './pg-client.js'
import { jsonSchemaOf } from './pg-source-types.js'
import { readCursorIncremental } from './pg-cursor-read.js'
import { readFullRefresh } from './pg-full-refresh-read.js'
import { qualified } from './pg-identifiers.js'
import { loadRelations, schemasOf, selectExpression } from './pg-relations.js'
import type { PgStreamRead, PostgresSourceOptions } from './pg-stream-read.js'
import { readXmin } from './pg-xmin-read.js'
import { checkCdc, publicationTables } from './pg-cdc-check.js'
import { readCdc, type CdcStream } from './pg-cdc-read.js'
import { CDC_META_SCHEMA, isCdcMetaColumn } from './pg-cdc-snapshot.js'

const DEFAULT_OPTIONS: PostgresSourceOptions = {
  batchBytes: 2 * 1024 * 1024,
  checkpointRows: 100_000,
  snapshotChunkBytes: 1024 * 1024 * 1024,
  cdcLagWarnBytes: 1024 * 1024 * 1024,
}

/**
 * The Postgres source: discover by catalog queries; read each stream with its read method
 * (`pg-full-refresh-read`, `pg-cursor-read`, `pg-xmin-read`), all built on
 * `COPY (SELECT ...) TO STDOUT`; CDC streams together through `pg-cdc-read` (snapshot by COPY,
 * then the changes of the replication slot).
 */
export class PostgresSource implements Source {
  readonly spec = postgresSourceSpec
  readonly #options: PostgresSourceOptions

  constructor(options: Partial<PostgresSourceOptions> = {}) {
    this.#options = { ...DEFAULT_OPTIONS, ...options }
  }

  /** Rejects what the spec cannot, e.g. CDC without a slot name (HTTP 422, SLUICE_ERR_INVALID_CONFIG). */
  validateConfig(raw: ConnectorConfig): void {
    validateSourceConfig(raw as unknown as PostgresSourceConfig)
  }

  async check(raw: ConnectorConfig, opts: RunOptions): Promise<ConnectionStatus> {
    const config = raw as unknown as PostgresSourceConfig
    try {
      validateSourceConfig(config)
      const client = await connectPg(config, opts)
      try {
        const schemas = schemasOf(config)
        const found = await client.query<{ nspname: string; usage: boolean }>(
          `SELECT nspname, has_schema_privilege(oid, 'USAGE') AS usage FROM pg_namespace WHERE nspname = ANY($1::text[])`,
          [schemas],
        )
        for (const s of schemas) {
          const row = found.rows.find((r) => r.nspname === s)
          if (!row) return { status: 'failed', message: `Schema "${s}" does not exist in database "${config.database}".` }
          if (!row.usage) {
            return { status: 'failed', message: `User "${config.username}" has no USAGE privilege on schema "${s}".` }
          }
        }
        const counts = await client.query<{ total: number; readable: number }>(
          `SELECT count(*)::int AS total, count(*) FILTER (WHERE has_table_privilege(c.oid, 'SELECT'))::int AS readable
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`,
          [schemas],
        )
        const c = counts.rows[0]
        if (c && c.total > 0 && c.readable === 0) {
          return {
            status: 'failed',
            message: `User "${config.username}" cannot SELECT any of the ${c.total} tables in schemas ${schemas.join(', ')}: grant SELECT.`,
          }
        }
        const cdc = cdcConfigOf(config)
        const problem = cdc ? await checkCdc(client, config, cdc) : undefined
        if (problem) return { status: 'failed', message: problem }
        return { status: 'succeeded', message: 'Connected.' }
      } finally {
        await endPg(client)
      }
    } catch (err) {
      const e = fromPgError(err, errorContext(config, 'checking the connection'))
      if (e.code === 'SLUICE_ERR_CANCELLED') throw e
      return { status: 'failed', message: e.message }
    }
  }

  async discover(raw: ConnectorConfig, opts: RunOptions): Promise<AirbyteCatalog> {
    const config = raw as unknown as PostgresSourceConfig
    validateSourceConfig(config)
    const xmin = replicationMethodOf(config) === 'Xmin'
    const cdc = cdcConfigOf(config)
    const client = await connectPg(config, opts)
    try {
      let relations = await loadRelations(client, schemasOf(config))
      if (cdc) {
        // CDC streams are the publication's tables (changes of other tables never arrive).
        const published = new Set((await publicationTables(client, cdc.publication)).map((t) => streamKey({ namespace: t.schema, name: t.name })))
        relations = relations.filter((rel) => published.has(streamKey({ namespace: rel.schema, name: rel.name })))
      }
      return {
        streams: relations.map((rel): AirbyteStream => {
          const isTable = rel.relkind === 'r' || rel.relkind === 'p'
          const properties: Record<string, unknown> = {}
          for (const col of rel.columns) properties[col.name] = jsonSchemaOf(selectExpression(col).column)
          if (cdc) Object.assign(properties, CDC_META_SCHEMA)
          return {
            name: rel.name,
            namespace: rel.schema,
            jsonSchema: { type: 'object', properties },
            supportedSyncModes: xmin && !isTable ? ['full_refresh'] : ['full_refresh', 'incremental'],
            sourceDefinedCursor: xmin || cdc !== undefined,
            defaultCursorField: cdc ? ['_ab_cdc_lsn'] : [],
            sourceDefinedPrimaryKey: rel.primaryKey.map((c) => [c]),
            isResumable: false,
          }
        }),
      }
    } catch (err) {
      throw fromPgError(err, errorContext(config, 'discovering the schema'))
    } finally {
      await endPg(client)
    }
  }

  async *read(
    raw: ConnectorConfig,
    catalog: ConfiguredCatalog,
    state: StateMessage[],
    opts: RunOptions,
  ): AsyncIterable<SourceMessage> {
    const config = raw as unknown as PostgresSourceConfig
    validateSourceConfig(config)
    const method = replicationMethodOf(config)
    const cdc = cdcConfigOf(config)
    const states = new Map(state.map((s) => [streamKey(s.stream), s.data]))
    const client = await connectPg(config, opts)
    let clean = false
    try {
      const cdcStreams: CdcStream[] = []
      for (const cs of catalog.streams) {
        if (opts.signal.aborted) throw cancelledError()
        const descriptor: StreamDescriptor = { name: cs.stream.name, namespace: cs.stream.namespace ?? null }
        yield { type: 'STREAM_STATUS', stream: descriptor, status: 'STARTED' }
        try {
          const read = yield* this.#prepareStream(client, config, cs, opts)
          const saved = states.get(streamKey(descriptor)) ?? null
          // CDC streams share one replication session: they are read together after the others.
          if (cdc && cs.syncMode === 'incremental') {
            cdcStreams.push({ read, saved })
            continue
          }
          if (cs.syncMode === 'full_refresh') yield* readFullRefresh(read)
          else if (method === 'Xmin') yield* readXmin(read, saved)
          else yield* readCursorIncremental(read, saved)
        } catch (err) {
          throw fromPgError(err, errorContext(config, `reading ${streamLabel(descriptor)}`))
        }
        yield { type: 'STREAM_STATUS', stream: descriptor, status: 'COMPLETE' }
      }
      if (cdc && cdcStreams.length > 0) {
        try {
          yield* readCdc({ client, config, cdc, options: this.#options, run: opts }, cdcStreams)
        } catch (err) {
          throw fromPgError(err, errorContext(config, 'reading changes (CDC)'))
        }
        for (const s of cdcStreams) yield { type: 'STREAM_STATUS', stream: s.read.stream, status: 'COMPLETE' }
      }
      clean = true
    } finally {
      if (clean) await endPg(client)
      else destroyPg(client)
    }
  }

  /**
   * Checks the stream's relation and columns still exist, yields its ESTIMATE and returns what
   * its read method needs.
   */
  async *#prepareStream(
    client: PgClient,
    config: PostgresSourceConfig,
    cs: ConfiguredStream,
    opts: RunOptions,
  ): AsyncGenerator<SourceMessage, PgStreamRead> {
    const namespace = cs.stream.namespace ?? schemasOf(config)[0]!
    const name = cs.stream.name
    const descriptor: StreamDescriptor = { name, namespace: cs.stream.namespace ?? null }
    const label = `"${namespace}"."${name}"`
    const [rel] = await loadRelations(client, [namespace], name)
    if (!rel) {
      throw configError(
        `Table ${label} does not exist or user "${config.username}" cannot SELECT it; it was there at discover time: refresh the source schema.`,
      )
    }
    // The CDC change columns are added by the CDC read, not selected from the table.
    const wanted = Object.keys((cs.stream.jsonSchema.properties ?? {}) as Record<string, unknown>).filter(
      (w) => cdcConfigOf(config) === undefined || !isCdcMetaColumn(w),
    )
    const byName = new Map(rel.columns.map((c) => [c.name, c]))
    const missing = wanted.filter((w) => !byName.has(w))
    if (missing.length > 0) {
      throw configError(`Column(s) ${missing.map((m) => `"${m}"`).join(', ')} of ${label} no longer exist: refresh the source schema.`)
    }
    const selected = (wanted.length > 0 ? rel.columns.filter((c) => wanted.includes(c.name)) : rel.columns).map(selectExpression)
    const table = qualified(namespace, name)
    // Planner statistics only (no scan): lets the engine show progress of big tables.
    const est = await client.query<{ rows: string; bytes: string }>(
      `SELECT GREATEST(c.reltuples, 0)::bigint AS rows, pg_relation_size(c.oid) AS bytes FROM pg_class c WHERE c.oid = to_regclass($1)`,
      [table],
    )
    const e = est.rows[0]
    if (e && Number(e.rows) > 0) {
      yield { type: 'ESTIMATE', stream: descriptor, rowEstimate: Number(e.rows), byteEstimate: Number(e.bytes) }
    }
    return {
      client,
      configured: cs,
      stream: descriptor,
      relation: rel,
      label,
      table,
      selected,
      columns: selected.map((s) => s.column),
      selectList: selected.map((s) => s.sql).join(', '),
      options: this.#options,
      run: opts,
    }
  }
}
