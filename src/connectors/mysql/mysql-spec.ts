import type { ConnectorSpecification, JsonSchema } from '../../protocol/index.js'

const certificateProperties: Record<string, JsonSchema> = {
  ca_certificate: { type: 'string', title: 'CA certificate', description: 'CA certificate', airbyte_secret: true, multiline: true, order: 1 },
  client_certificate: {
    type: 'string',
    title: 'Client certificate',
    description: 'Client certificate (this is not a required field, but if you want to use it, you will need to add the Client key as well)',
    airbyte_secret: true,
    multiline: true,
    order: 2,
  },
  client_key: {
    type: 'string',
    title: 'Client key',
    description: 'Client key (this is not a required field, but if you want to use it, you will need to add the Client certificate as well)',
    airbyte_secret: true,
    multiline: true,
    order: 3,
  },
  client_key_password: {
    type: 'string',
    title: 'Client key password',
    description: 'Password of the client key, when it is encrypted.',
    airbyte_secret: true,
    order: 4,
  },
}

const sslModeSchema: JsonSchema = {
  type: 'object',
  title: 'SSL modes',
  description: 'SSL connection modes. Read more in the docs.',
  order: 7,
  oneOf: [
    {
      title: 'preferred',
      description: 'Automatically attempt SSL connection. If the MySQL server does not support SSL, continue with a regular connection.',
      type: 'object',
      required: ['mode'],
      properties: { mode: { type: 'string', const: 'preferred', order: 0 } },
    },
    {
      title: 'required',
      description: 'Always connect with SSL. If the MySQL server doesn’t support SSL, the connection will not be established. Certificate Authority (CA) and Hostname are not verified.',
      type: 'object',
      required: ['mode'],
      properties: { mode: { type: 'string', const: 'required', order: 0 } },
    },
    {
      title: 'Verify CA',
      description: 'Always connect with SSL. Verifies CA, but allows connection even if Hostname does not match.',
      type: 'object',
      required: ['mode', 'ca_certificate'],
      properties: { mode: { type: 'string', const: 'verify_ca', order: 0 }, ...certificateProperties },
    },
    {
      title: 'Verify Identity',
      description: 'Always connect with SSL. Verify both CA and Hostname.',
      type: 'object',
      required: ['mode', 'ca_certificate'],
      properties: { mode: { type: 'string', const: 'verify_identity', order: 0 }, ...certificateProperties },
    },
  ],
}

const replicationMethodSchema: JsonSchema = {
  type: 'object',
  title: 'Update Method',
  description: 'Configures how data is extracted from the database.',
  order: 8,
  default: 'CDC',
  display_type: 'radio',
  oneOf: [
    {
      title: 'Read Changes using Binary Log (CDC)',
      description:
        '<i>Recommended</i> - Incrementally reads new inserts, updates, and deletes using the MySQL binary log. This must be enabled on your database (log_bin ON, binlog_format ROW).',
      type: 'object',
      required: ['method'],
      properties: {
        method: { type: 'string', const: 'CDC', order: 0 },
        initial_waiting_seconds: {
          type: 'integer',
          title: 'Initial Waiting Time in Seconds (Advanced)',
          description:
            'The amount of time the connector will wait when it launches to determine if there is new data to sync or not. Defaults to 300 seconds. Valid range: 120 seconds to 1200 seconds.',
          default: 300,
          min: 120,
          max: 1200,
          order: 1,
          always_show: true,
        },
        server_time_zone: {
          type: 'string',
          title: 'Configured server timezone for the MySQL source (Advanced)',
          description: 'Enter the configured MySQL server timezone. This should only be done if the configured timezone in your MySQL instance does not conform to IANNA standard.',
          order: 2,
          always_show: true,
        },
        invalid_cdc_cursor_position_behavior: {
          type: 'string',
          title: 'Invalid CDC position behavior (Advanced)',
          description:
            "Determines whether Airbyte should fail or re-sync data in case of an stale/invalid cursor value into the WAL. If 'Fail sync' is chosen, a user will have to manually reset the connection before being able to continue syncing data. If 'Re-sync data' is chosen, Airbyte will automatically trigger a refresh but could lead to higher cloud costs and data loss.",
          enum: ['Fail sync', 'Re-sync data'],
          default: 'Fail sync',
          order: 3,
          always_show: true,
        },
        initial_load_timeout_hours: {
          type: 'integer',
          title: 'Initial Load Timeout in Hours (Advanced)',
          description: 'The amount of time an initial load is allowed to continue for before catching up on CDC logs.',
          default: 8,
          min: 4,
          max: 24,
          order: 4,
          always_show: true,
        },
      },
    },
    {
      title: 'Scan Changes with User Defined Cursor',
      description:
        'Incrementally detects new inserts and updates using the <a href="https://docs.airbyte.com/understanding-airbyte/connections/incremental-append/#user-defined-cursor">cursor column</a> chosen when configuring a connection (e.g. created_at, updated_at).',
      type: 'object',
      required: ['method'],
      properties: { method: { type: 'string', const: 'STANDARD', order: 0 } },
    },
  ],
}

const tunnelMethodSchema: JsonSchema = {
  type: 'object',
  title: 'SSH Tunnel Method',
  description: 'Whether to initiate an SSH tunnel before connecting to the database, and if so, which kind of authentication to use.',
  oneOf: [
    {
      title: 'No Tunnel',
      required: ['tunnel_method'],
      properties: {
        tunnel_method: { description: 'No ssh tunnel needed to connect to database', type: 'string', const: 'NO_TUNNEL', order: 0 },
      },
    },
    {
      title: 'SSH Key Authentication',
      required: ['tunnel_method', 'tunnel_host', 'tunnel_port', 'tunnel_user', 'ssh_key'],
      properties: {
        tunnel_method: { description: 'Connect through a jump server tunnel host using username and ssh key', type: 'string', const: 'SSH_KEY_AUTH', order: 0 },
        tunnel_host: { title: 'SSH Tunnel Jump Server Host', description: 'Hostname of the jump server host that allows inbound ssh tunnel.', type: 'string', order: 1 },
        tunnel_port: { title: 'SSH Connection Port', description: 'Port on the proxy/jump server that accepts inbound ssh connections.', type: 'integer', minimum: 0, maximum: 65536, default: 22, examples: ['22'], order: 2 },
        tunnel_user: { title: 'SSH Login Username', description: 'OS-level username for logging into the jump server host.', type: 'string', order: 3 },
        ssh_key: { title: 'SSH Private Key', description: 'OS-level user account ssh key credentials in RSA PEM format ( created with ssh-keygen -t rsa -m PEM -f myuser_rsa )', type: 'string', airbyte_secret: true, multiline: true, order: 4 },
      },
    },
    {
      title: 'Password Authentication',
      required: ['tunnel_method', 'tunnel_host', 'tunnel_port', 'tunnel_user', 'tunnel_user_password'],
      properties: {
        tunnel_method: { description: 'Connect through a jump server tunnel host using username and password authentication', type: 'string', const: 'SSH_PASSWORD_AUTH', order: 0 },
        tunnel_host: { title: 'SSH Tunnel Jump Server Host', description: 'Hostname of the jump server host that allows inbound ssh tunnel.', type: 'string', order: 1 },
        tunnel_port: { title: 'SSH Connection Port', description: 'Port on the proxy/jump server that accepts inbound ssh connections.', type: 'integer', minimum: 0, maximum: 65536, default: 22, examples: ['22'], order: 2 },
        tunnel_user: { title: 'SSH Login Username', description: 'OS-level username for logging into the jump server host', type: 'string', order: 3 },
        tunnel_user_password: { title: 'Password', description: 'OS-level password for logging into the jump server host', type: 'string', airbyte_secret: true, order: 4 },
      },
    },
  ],
}

/**
 * Airbyte's source-mysql 3.x spec (same keys, titles, defaults and order). SSH tunnels are in
 * the schema so stored Airbyte configs validate, but sluice answers them with a 422.
 */
export const mysqlSourceSpec: ConnectorSpecification = {
  documentationUrl: 'https://docs.airbyte.com/integrations/sources/mysql',
  supportsIncremental: true,
  connectionSpecification: {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'MySql Source Spec',
    type: 'object',
    required: ['host', 'port', 'database', 'username', 'replication_method'],
    properties: {
      host: { type: 'string', title: 'Host', description: 'The host name of the database.', order: 0 },
      port: {
        type: 'integer',
        title: 'Port',
        description: 'The port to connect to.',
        minimum: 0,
        maximum: 65536,
        default: 3306,
        examples: ['3306'],
        order: 1,
      },
      database: { type: 'string', title: 'Database', description: 'The database name.', order: 2 },
      username: { type: 'string', title: 'Username', description: 'The username which is used to access the database.', order: 3 },
      password: {
        type: 'string',
        title: 'Password',
        description: 'The password associated with the username.',
        airbyte_secret: true,
        always_show: true,
        order: 4,
      },
      jdbc_url_params: {
        type: 'string',
        title: 'JDBC URL Parameters (Advanced)',
        description:
          "Additional properties to pass to the JDBC URL string when connecting to the database formatted as 'key=value' pairs separated by the symbol '&'. (example: key1=value1&key2=value2&key3=value3). sluice understands connectTimeout (milliseconds, as Connector/J) and ignores others with a warning.",
        order: 5,
      },
      ssl: { type: 'boolean', title: 'SSL Connection', description: 'Encrypt data using SSL.', default: true, order: 6 },
      ssl_mode: sslModeSchema,
      replication_method: replicationMethodSchema,
      tunnel_method: tunnelMethodSchema,
    },
  },
}
