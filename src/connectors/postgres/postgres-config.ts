import type { ClientConfig } from 'pg'
import type { ConnectionOptions } from 'node:tls'
import { SluiceError, configError } from '../../errors.js'
import type { ConnectorLogger } from '../../protocol/index.js'
import { parseJdbcUrlParams } from '../../formats/jdbc-url-params.js'
import type { PgErrorContext } from './postgres-errors.js'

/** Connection keys shared by the source and destination configs (Airbyte's names). */
export interface PostgresConnectionConfig {
  host: string
  port: number
  database: string
  username: string
  password?: string
  ssl?: boolean
  ssl_mode?: {
    mode: 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full'
    ca_certificate?: string
    client_certificate?: string
    client_key?: string
    client_key_password?: string
  }
  jdbc_url_params?: string
}

/** Airbyte's replication methods. */
export type ReplicationMethod = 'Standard' | 'Xmin' | 'CDC'

/** When the slot's confirmed_flush_lsn may move (Airbyte's `lsn_commit_behaviour`). */
export type LsnCommitBehaviour = 'While reading Data' | 'After loading Data in the destination'

/** What to do when the saved LSN is no longer in the slot (Airbyte's names). */
export type InvalidCdcCursorBehavior = 'Fail sync' | 'Re-sync data'

/** The CDC branch of `replication_method` (Airbyte source-postgres keys). */
export interface CdcReplicationConfig {
  method: 'CDC'
  replication_slot: string
  publication: string
  plugin?: 'pgoutput'
  initial_waiting_seconds?: number
  queue_size?: number
  lsn_commit_behaviour?: LsnCommitBehaviour
  heartbeat_action_query?: string
  invalid_cdc_cursor_position_behavior?: InvalidCdcCursorBehavior
}

/** Configuration of the Postgres source. */
export interface PostgresSourceConfig extends PostgresConnectionConfig {
  schemas?: string[]
  replication_method?: { method: 'Standard' | 'Xmin' } | CdcReplicationConfig | string
}

/** Configuration of the Postgres destination. */
export interface PostgresDestinationConfig extends PostgresConnectionConfig {
  schema?: string
  raw_data_schema?: string
  unconstrained_number?: boolean
  /** Destinations V2 layout: raw tables in `raw_data_schema` plus typed final tables. */
  use_raw_tables?: boolean
}

/** Default connect timeout: check must answer within a few seconds, never hang. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000

/** The replication method, Standard when absent (Airbyte also accepts the bare string form). */
export function replicationMethodOf(config: PostgresSourceConfig): ReplicationMethod {
  const m = config.replication_method
  if (m === undefined) return 'Standard'
  const method = typeof m === 'string' ? m : m.method
  if (method === 'Standard' || method === 'Xmin' || method === 'CDC') return method
  throw configError(`Unknown replication_method "${String(method)}": use Standard, Xmin or CDC.`)
}

/** The CDC settings with Airbyte's defaults filled in; undefined for the other methods. */
export function cdcConfigOf(config: PostgresSourceConfig): Required<CdcReplicationConfig> | undefined {
  const m = config.replication_method
  if (typeof m !== 'object' || m === null || m.method !== 'CDC') return undefined
  return {
    method: 'CDC',
    replication_slot: m.replication_slot,
    publication: m.publication,
    plugin: 'pgoutput',
    initial_waiting_seconds: m.initial_waiting_seconds ?? 300,
    queue_size: m.queue_size ?? 10_000,
    lsn_commit_behaviour: m.lsn_commit_behaviour ?? 'After loading Data in the destination',
    heartbeat_action_query: m.heartbeat_action_query ?? '',
    invalid_cdc_cursor_position_behavior: m.invalid_cdc_cursor_position_behavior ?? 'Fail sync',
  }
}

/**
 * Validates what JSON Schema cannot say (CDC needs a slot and a publication name). Throws a
 * config error (HTTP 422 through the API, which calls this after spec validation).
 */
export function validateSourceConfig(config: PostgresSourceConfig): void {
  if (replicationMethodOf(config) === 'CDC') {
    const cdc = config.replication_method as Partial<CdcReplicationConfig> | string
    for (const key of ['replication_slot', 'publication'] as const) {
      const value = typeof cdc === 'object' ? cdc[key] : undefined
      if (typeof value === 'string' && value !== '') continue
      const message = `replication_method CDC needs ${key}: the name of the ${key === 'publication' ? 'publication' : 'logical replication slot (pgoutput)'} you created (see docs/connectors/postgres.md, CDC).`
      throw new SluiceError('SLUICE_ERR_INVALID_CONFIG', message, {
        validationErrors: [{ propertyPath: `connectionConfiguration.replication_method.${key}`, invalidValue: value ?? '', message }],
      })
    }
  }
  validateConnection(config)
}

/** Validates the connection keys shared by source and destination. */
export function validateConnection(config: PostgresConnectionConfig): void {
  if (typeof config.host !== 'string' || config.host === '') throw configError('host is required.')
  if (typeof config.database !== 'string' || config.database === '') throw configError('database is required.')
  if (typeof config.username !== 'string' || config.username === '') throw configError('username is required.')
}

/** Context for error messages (never the password). */
export function errorContext(config: PostgresConnectionConfig, action?: string): PgErrorContext {
  return { host: config.host, port: Number(config.port ?? 5432), database: config.database, username: config.username, action }
}

function tlsOptions(config: PostgresConnectionConfig): ClientConfig['ssl'] {
  const mode = config.ssl_mode?.mode ?? (config.ssl ? 'require' : 'disable')
  switch (mode) {
    // node-postgres has no opportunistic TLS: allow/prefer connect in clear text.
    case 'disable':
    case 'allow':
    case 'prefer':
      return false
    case 'require':
      return { rejectUnauthorized: false }
    case 'verify-ca':
    case 'verify-full': {
      const s = config.ssl_mode ?? { mode }
      const tls: ConnectionOptions = { rejectUnauthorized: true, ca: s.ca_certificate }
      if (s.client_certificate) tls.cert = s.client_certificate
      if (s.client_key) tls.key = s.client_key
      if (s.client_key_password) tls.passphrase = s.client_key_password
      // verify-ca checks the chain but not the host name.
      if (mode === 'verify-ca') tls.checkServerIdentity = () => undefined
      return tls
    }
    default:
      throw configError(`Unknown ssl_mode "${String(mode)}".`)
  }
}

/** Builds node-postgres client options from a connector config. */
export function toClientConfig(config: PostgresConnectionConfig, logger?: ConnectorLogger): ClientConfig {
  validateConnection(config)
  const params = parseJdbcUrlParams(config.jdbc_url_params, ['connectTimeout', 'socketTimeout', 'ApplicationName', 'applicationName', 'options'], logger)
  const connectTimeout = Number(params.get('connectTimeout'))
  const socketTimeout = Number(params.get('socketTimeout'))
  const out: ClientConfig = {
    host: config.host,
    port: Number(config.port ?? 5432),
    database: config.database,
    user: config.username,
    password: config.password ?? '',
    ssl: tlsOptions(config),
    connectionTimeoutMillis: connectTimeout > 0 ? connectTimeout * 1000 : DEFAULT_CONNECT_TIMEOUT_MS,
    application_name: params.get('ApplicationName') ?? params.get('applicationName') ?? 'sluice',
    keepAlive: true,
  }
  if (socketTimeout > 0) out.query_timeout = socketTimeout * 1000
  const options = params.get('options')
  if (options) out.options = options
  return out
}
