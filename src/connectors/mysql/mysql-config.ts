import type { ConnectionOptions } from 'mysql2'
import { SluiceError, configError } from '../../errors.js'
import type { ConnectorLogger } from '../../protocol/index.js'
import { parseJdbcUrlParams } from '../../formats/jdbc-url-params.js'
import type { MysqlErrorContext } from './mysql-errors.js'

/** Configuration of the MySQL source (Airbyte's source-mysql keys). */
export interface MysqlSourceConfig {
  host: string
  port?: number
  database: string
  username: string
  password?: string
  jdbc_url_params?: string
  ssl?: boolean
  ssl_mode?: {
    mode: 'preferred' | 'required' | 'verify_ca' | 'verify_identity'
    ca_certificate?: string
    client_certificate?: string
    client_key?: string
    client_key_password?: string
  }
  replication_method?: {
    method: 'STANDARD' | 'CDC'
    initial_waiting_seconds?: number
    server_time_zone?: string
    invalid_cdc_cursor_position_behavior?: 'Fail sync' | 'Re-sync data'
    initial_load_timeout_hours?: number
  }
  tunnel_method?: { tunnel_method: string }
}

/** The two replication methods of Airbyte's MySQL source. */
export type MysqlReplicationMethod = 'STANDARD' | 'CDC'

/** Default connect timeout: check must answer within a few seconds, never hang. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000

/** The replication method, STANDARD when absent. */
export function replicationMethodOf(config: MysqlSourceConfig): MysqlReplicationMethod {
  const method = config.replication_method?.method ?? 'STANDARD'
  if (method === 'STANDARD' || method === 'CDC') return method
  throw configError(`Unknown replication_method "${String(method)}": use STANDARD or CDC.`)
}

function invalid(path: string, value: string | undefined, message: string): SluiceError {
  return new SluiceError('SLUICE_ERR_INVALID_CONFIG', message, {
    validationErrors: [{ propertyPath: `connectionConfiguration.${path}`, invalidValue: value ?? "", message }],
  })
}

/**
 * Validates what JSON Schema cannot say: SSH tunnels are not built (a 422 naming the field),
 * and host, database and username must not be empty.
 */
export function validateSourceConfig(config: MysqlSourceConfig): void {
  const tunnel = config.tunnel_method?.tunnel_method
  if (tunnel !== undefined && tunnel !== 'NO_TUNNEL') {
    throw invalid('tunnel_method.tunnel_method', tunnel, `tunnel_method ${tunnel} is not supported by sluice: connect directly (NO_TUNNEL) or run an SSH tunnel outside sluice.`)
  }
  if (typeof config.host !== 'string' || config.host === '') throw invalid('host', String(config.host ?? ''), 'host is required.')
  if (typeof config.database !== 'string' || config.database === '') throw invalid('database', String(config.database ?? ''), 'database is required.')
  if (typeof config.username !== 'string' || config.username === '') throw invalid('username', String(config.username ?? ''), 'username is required.')
  replicationMethodOf(config)
}

/** Context for error messages (never the password). */
export function errorContext(config: MysqlSourceConfig, action?: string): MysqlErrorContext {
  return { host: config.host, port: Number(config.port ?? 3306), database: config.database, username: config.username, action }
}

function tlsOptions(config: MysqlSourceConfig): ConnectionOptions['ssl'] {
  // Airbyte's default is "required"; `ssl: false` without ssl_mode means no TLS.
  const mode = config.ssl_mode?.mode ?? (config.ssl === false ? undefined : 'required')
  switch (mode) {
    case undefined:
      return undefined
    // mysql2 has no opportunistic TLS: "preferred" connects in clear text.
    case 'preferred':
      return undefined
    case 'required':
      return { rejectUnauthorized: false }
    case 'verify_ca':
    case 'verify_identity': {
      const s = config.ssl_mode ?? { mode }
      const tls: NonNullable<Exclude<ConnectionOptions['ssl'], string>> = { rejectUnauthorized: true }
      if (s.ca_certificate) tls.ca = s.ca_certificate
      if (s.client_certificate) tls.cert = s.client_certificate
      if (s.client_key) tls.key = s.client_key
      if (s.client_key_password) tls.passphrase = s.client_key_password
      if (mode === 'verify_ca') tls.verifyIdentity = false
      else tls.verifyIdentity = true
      return tls
    }
    default:
      throw configError(`Unknown ssl_mode "${String(mode)}".`)
  }
}

/**
 * mysql2 connection options from a connector config. Values come back as the source needs
 * them: dates, JSON and 64-bit integers as exact text, rows as arrays.
 */
export function toConnectionOptions(config: MysqlSourceConfig, logger?: ConnectorLogger): ConnectionOptions {
  const params = parseJdbcUrlParams(config.jdbc_url_params, ['connectTimeout'], logger)
  const connectTimeout = Number(params.get('connectTimeout'))
  const out: ConnectionOptions = {
    host: config.host,
    port: Number(config.port ?? 3306),
    database: config.database,
    user: config.username,
    password: config.password ?? '',
    connectTimeout: connectTimeout > 0 ? connectTimeout : DEFAULT_CONNECT_TIMEOUT_MS,
    charset: 'utf8mb4_unicode_ci',
    timezone: 'Z',
    dateStrings: true,
    jsonStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    enableKeepAlive: true,
  }
  const ssl = tlsOptions(config)
  if (ssl !== undefined) out.ssl = ssl
  return out
}
