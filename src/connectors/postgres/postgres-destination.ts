import type { ConnectionStatus, ConnectorConfig, Destination, DestinationCapabilities, RunOptions } from '../../protocol/index.js'
import { writeWithLoaders } from '../loader/index.js'
import { errorContext, validateConnection, type PostgresDestinationConfig } from './postgres-config.js'
import { fromPgError } from './postgres-errors.js'
import { openPostgresLoadSession } from './postgres-load-session.js'
import { postgresDestinationSpec } from './postgres-spec.js'
import { connectPg, endPg } from './pg-client.js'
import { normalizeIdentifier, qualified, quoteIdent } from './pg-identifiers.js'
import { rawSchemaOf } from './pg-stream-table.js'
import { ensureSchema } from './pg-write-session.js'

/**
 * The Postgres destination, Airbyte "Direct Load" layout (semantics §3.9): typed final tables
 * with the four `_airbyte_*` columns, no raw tables. Source COPY bytes go straight into the
 * target when their types allow it; other batches are COPYed into a temporary staging table
 * of text columns and typed (safe casts) into the target. At each STATE the open transaction
 * commits, then the STATE is echoed. With `use_raw_tables` it writes the Destinations V2
 * layout instead (semantics §3.1-3.6): records as JSON in raw tables, typed from there into the
 * same final tables.
 */
export class PostgresDestination implements Destination {
  readonly spec = postgresDestinationSpec
  readonly capabilities: DestinationCapabilities = {
    supportedSyncModes: ['overwrite', 'append', 'append_dedup', 'overwrite_dedup'],
    acceptsPgCopyText: true,
    acceptsColumns: true,
  }

  async check(raw: ConnectorConfig, opts: RunOptions): Promise<ConnectionStatus> {
    const config = raw as unknown as PostgresDestinationConfig
    try {
      validateConnection(config)
      const client = await connectPg(config, opts)
      try {
        const schema = normalizeIdentifier(config.schema || 'public')
        const probe = `_airbyte_connection_test_${Math.random().toString(36).slice(2, 10)}`
        await ensureSchema(client, schema)
        await client.query(`CREATE TABLE ${qualified(schema, probe)} (id integer)`)
        await client.query(`DROP TABLE ${qualified(schema, probe)}`)
        if (config.use_raw_tables === true) {
          const rawSchema = rawSchemaOf(config)
          await ensureSchema(client, rawSchema)
          await client.query(`CREATE TABLE ${qualified(rawSchema, probe)} (id integer)`)
          await client.query(`DROP TABLE ${qualified(rawSchema, probe)}`)
        }
        // Writes stage batches in temporary tables: the TEMP privilege is needed too.
        try {
          await client.query(`CREATE TEMP TABLE ${quoteIdent(probe)} (id integer)`)
          await client.query(`DROP TABLE pg_temp.${quoteIdent(probe)}`)
        } catch (err) {
          if ((err as { code?: string }).code !== '42501') throw err
          return {
            status: 'failed',
            message: `User "${config.username}" may not create temporary tables in database "${config.database}", which writes need for staging: GRANT TEMP ON DATABASE.`,
          }
        }
        return { status: 'succeeded', message: 'Connected; can create tables in schema ' + JSON.stringify(schema) + '.' }
      } finally {
        await endPg(client)
      }
    } catch (err) {
      const e = fromPgError(err, errorContext(config, 'checking that a table can be created'))
      if (e.code === 'SLUICE_ERR_CANCELLED') throw e
      return { status: 'failed', message: e.message }
    }
  }

  /** The shared destination loop over a Postgres load session (one connection, one open transaction). */
  readonly write = writeWithLoaders(openPostgresLoadSession)
}
