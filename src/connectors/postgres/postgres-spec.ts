import type { ConnectorSpecification, JsonSchema } from '../../protocol/index.js'

const sslModeSchema: JsonSchema = {
  type: 'object',
  title: 'SSL modes',
  description: 'How to use TLS. Without it, `ssl: true` means "require" and `ssl: false` means "disable".',
  order: 7,
  oneOf: [
    { title: 'disable', type: 'object', required: ['mode'], properties: { mode: { type: 'string', const: 'disable' } } },
    { title: 'allow', type: 'object', required: ['mode'], properties: { mode: { type: 'string', const: 'allow' } } },
    { title: 'prefer', type: 'object', required: ['mode'], properties: { mode: { type: 'string', const: 'prefer' } } },
    { title: 'require', type: 'object', required: ['mode'], properties: { mode: { type: 'string', const: 'require' } } },
    {
      title: 'verify-ca',
      type: 'object',
      required: ['mode', 'ca_certificate'],
      properties: {
        mode: { type: 'string', const: 'verify-ca' },
        ca_certificate: { type: 'string', title: 'CA certificate', airbyte_secret: true, multiline: true },
        client_certificate: { type: 'string', title: 'Client certificate', airbyte_secret: true, multiline: true },
        client_key: { type: 'string', title: 'Client key', airbyte_secret: true, multiline: true },
        client_key_password: { type: 'string', title: 'Client key password', airbyte_secret: true },
      },
    },
    {
      title: 'verify-full',
      type: 'object',
      required: ['mode', 'ca_certificate'],
      properties: {
        mode: { type: 'string', const: 'verify-full' },
        ca_certificate: { type: 'string', title: 'CA certificate', airbyte_secret: true, multiline: true },
        client_certificate: { type: 'string', title: 'Client certificate', airbyte_secret: true, multiline: true },
        client_key: { type: 'string', title: 'Client key', airbyte_secret: true, multiline: true },
        client_key_password: { type: 'string', title: 'Client key password', airbyte_secret: true },
      },
    },
  ],
}

const connectionProperties: Record<string, JsonSchema> = {
  host: { type: 'string', title: 'Host', description: 'Hostname of the database.', order: 0 },
  port: {
    type: 'integer',
    title: 'Port',
    description: 'Port of the database.',
    minimum: 0,
    maximum: 65536,
    default: 5432,
    examples: ['5432'],
    order: 1,
  },
  database: { type: 'string', title: 'Database Name', order: 2 },
  username: { type: 'string', title: 'Username', order: 4 },
  password: { type: 'string', title: 'Password', airbyte_secret: true, order: 5 },
  ssl: {
    type: 'boolean',
    title: 'Connect using SSL',
    description: 'Encrypt the connection (same as ssl_mode "require" when ssl_mode is absent).',
    default: false,
    order: 6,
  },
  ssl_mode: sslModeSchema,
  jdbc_url_params: {
    type: 'string',
    title: 'JDBC URL Parameters (Advanced)',
    description:
      'Extra `key=value` pairs joined by `&`. Understood: connectTimeout and socketTimeout (seconds), ' +
      'ApplicationName, options (server settings, e.g. `-c search_path=x`). Others are ignored with a warning.',
    order: 9,
  },
}

/** Source spec: Airbyte's source-postgres keys (tunnels are not supported). */
export const postgresSourceSpec: ConnectorSpecification = {
  documentationUrl: 'https://docs.airbyte.com/integrations/sources/postgres',
  supportsIncremental: true,
  connectionSpecification: {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'Postgres Source Spec',
    type: 'object',
    required: ['host', 'port', 'database', 'username'],
    properties: {
      ...connectionProperties,
      schemas: {
        type: 'array',
        title: 'Schemas',
        description: 'The list of schemas (case sensitive) to sync from. Defaults to public.',
        items: { type: 'string' },
        minItems: 0,
        uniqueItems: true,
        default: ['public'],
        order: 3,
      },
      replication_method: {
        type: 'object',
        title: 'Update Method',
        description: 'How to detect new or updated rows.',
        order: 8,
        oneOf: [
          {
            title: 'Scan Changes with User Defined Cursor',
            type: 'object',
            required: ['method'],
            properties: { method: { type: 'string', const: 'Standard' } },
          },
          {
            title: 'Detect Changes with Xmin System Column',
            type: 'object',
            required: ['method'],
            properties: { method: { type: 'string', const: 'Xmin' } },
          },
          {
            title: 'Read Changes using Write-Ahead Log (CDC)',
            description:
              'Reads changes (deletes included) from the write-ahead log through a pgoutput replication slot and a publication you create.',
            type: 'object',
            required: ['method', 'replication_slot', 'publication'],
            properties: {
              method: { type: 'string', const: 'CDC', order: 1 },
              plugin: {
                title: 'Plugin',
                description: 'A logical decoding plugin installed on the PostgreSQL server.',
                type: 'string',
                enum: ['pgoutput'],
                default: 'pgoutput',
                order: 2,
              },
              replication_slot: {
                title: 'Replication Slot',
                description: 'A logical replication slot created with the pgoutput plugin.',
                type: 'string',
                order: 3,
              },
              publication: {
                title: 'Publication',
                description: 'A Postgres publication used for consuming changes.',
                type: 'string',
                order: 4,
              },
              initial_waiting_seconds: {
                title: 'Initial Waiting Time in Seconds (Advanced)',
                description: 'How long a sync waits for the change stream to reach the position taken at its start before it ends.',
                type: 'integer',
                default: 300,
                minimum: 120,
                maximum: 2400,
                order: 5,
              },
              queue_size: {
                title: 'Size of the queue (Advanced)',
                description: 'Changes buffered before a record batch is cut.',
                type: 'integer',
                default: 10000,
                minimum: 1000,
                maximum: 10000,
                order: 6,
              },
              lsn_commit_behaviour: {
                title: 'LSN commit behaviour',
                description:
                  'When the slot may discard WAL. "After loading Data in the destination" (default): only up to a state the destination committed. "While reading Data": as changes are read (a failed load then needs a full re-sync).',
                type: 'string',
                enum: ['While reading Data', 'After loading Data in the destination'],
                default: 'After loading Data in the destination',
                order: 7,
              },
              heartbeat_action_query: {
                title: 'Debezium heartbeat query (Advanced)',
                description: 'A query run on the source database at the start of each streaming phase, e.g. an update of a heartbeat table in the publication.',
                type: 'string',
                default: '',
                order: 8,
              },
              invalid_cdc_cursor_position_behavior: {
                title: 'Invalid CDC position behavior (Advanced)',
                description: 'What to do when the saved position is no longer in the slot: fail, or read every table again.',
                type: 'string',
                enum: ['Fail sync', 'Re-sync data'],
                default: 'Fail sync',
                order: 9,
              },
            },
          },
        ],
      },
    },
  },
}

/** Destination spec: Airbyte's destination-postgres keys. */
export const postgresDestinationSpec: ConnectorSpecification = {
  documentationUrl: 'https://docs.airbyte.com/integrations/destinations/postgres',
  supportsIncremental: true,
  supportedDestinationSyncModes: ['overwrite', 'append', 'append_dedup', 'overwrite_dedup'],
  connectionSpecification: {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'Postgres Destination Spec',
    type: 'object',
    required: ['host', 'port', 'database', 'username', 'schema'],
    properties: {
      ...connectionProperties,
      schema: {
        type: 'string',
        title: 'Default Schema',
        description: 'The schema tables are written to when the stream has no namespace.',
        default: 'public',
        examples: ['public'],
        order: 3,
      },
      raw_data_schema: {
        type: 'string',
        title: 'Raw Table Schema Name',
        description:
          'The schema of the raw tables when "Destinations V2 layout" is on. Unused otherwise: the default layout writes typed final tables directly (Airbyte "Direct Load").',
        default: 'airbyte_internal',
        order: 10,
      },
      use_raw_tables: {
        type: 'boolean',
        title: 'Destinations V2 layout: raw tables in raw_data_schema plus typed final tables',
        description:
          'Also keep every record as JSON in a raw table (`<raw_data_schema>.<namespace>_raw__stream_<name>`) and type and dedupe from it into the same final tables as the default Direct Load layout (Airbyte destination-postgres 2.x). Slower; lets a final table be rebuilt from raw rows.',
        default: false,
        order: 12,
      },
      unconstrained_number: {
        type: 'boolean',
        title: 'Unconstrained numeric columns',
        description: 'Numbers become `numeric` (exact, any precision). Set false for Airbyte 2.x `decimal(38,9)`.',
        default: true,
        order: 11,
      },
    },
  },
}
