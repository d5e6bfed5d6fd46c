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
  errorContext,
  replicationMethodOf,
  validateSourceConfig,
  type PostgresSourceConfig,
  type ReplicationMethod,
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

const DEFAULT_OPTIONS: PostgresSourceOptions = { batchBytes: 2 * 1024 * 1024, checkpointRows: 100_000 }

/**
 * The Postgres source: discover by catalog queries; read each stream with its read method
 * (`pg-full-refresh-read`, `pg-cursor-read`, `pg-xmin-read`), all built on
 * `COPY (SELECT ...) TO STDOUT`.
 */
export class PostgresSource implements Source {
  readonly spec = postgresSourceSpec
  readonly #options: PostgresSourceOptions

  constructor(options: Partial<PostgresSourceOptions> = {}) {
    this.#options = { ...DEFAULT_OPTIONS, ...options }
  }

  /** Rejects what the spec cannot: the CDC method (HTTP 422, SLUICE_ERR_INVALID_CONFIG). */
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
    const client = await connectPg(config, opts)
    try {
      const relations = await loadRelations(client, schemasOf(config))
      return {
        streams: relations.map((rel): AirbyteStream => {
          const isTable = rel.relkind === 'r' || rel.relkind === 'p'
          const properties: Record<string, unknown> = {}
          for (const col of rel.columns) properties[col.name] = jsonSchemaOf(selectExpression(col).column)
          return {
            name: rel.name,
            namespace: rel.schema,
            jsonSchema: { type: 'object', properties },
            supportedSyncModes: xmin && !isTable ? ['full_refresh'] : ['full_refresh', 'incremental'],
            sourceDefinedCursor: xmin,
            defaultCursorField: [],
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
    const states = new Map(state.map((s) => [streamKey(s.stream), s.data]))
    const client = await connectPg(config, opts)
    let clean = false
    try {
      for (const cs of catalog.streams) {
        if (opts.signal.aborted) throw cancelledError()
        const descriptor: StreamDescriptor = { name: cs.stream.name, namespace: cs.stream.namespace ?? null }
        yield { type: 'STREAM_STATUS', stream: descriptor, status: 'STARTED' }
        try {
          yield* this.#readStream(client, config, method, cs, states.get(streamKey(descriptor)) ?? null, opts)
        } catch (err) {
          throw fromPgError(err, errorContext(config, `reading ${streamLabel(descriptor)}`))
        }
        yield { type: 'STREAM_STATUS', stream: descriptor, status: 'COMPLETE' }
      }
      clean = true
    } finally {
      if (clean) await endPg(client)
      else destroyPg(client)
    }
  }

  /** Checks the stream's relation and columns still exist, then hands it to its read method. */
  async *#readStream(
    client: PgClient,
    config: PostgresSourceConfig,
    method: ReplicationMethod,
    cs: ConfiguredStream,
    saved: Record<string, unknown> | null,
    opts: RunOptions,
  ): AsyncGenerator<SourceMessage> {
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
    const wanted = Object.keys((cs.stream.jsonSchema.properties ?? {}) as Record<string, unknown>)
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
    const read: PgStreamRead = {
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
    if (cs.syncMode === 'full_refresh') yield* readFullRefresh(read)
    else if (method === 'Xmin') yield* readXmin(read, saved)
    else yield* readCursorIncremental(read, saved)
  }
}
