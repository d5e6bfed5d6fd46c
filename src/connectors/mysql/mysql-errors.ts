import { SluiceError, configError, isSluiceError, systemError, transientError } from '../../errors.js'

/** What the failing operation was about, so messages name the server and object without secrets. */
export interface MysqlErrorContext {
  host?: string
  port?: number
  database?: string
  username?: string
  /** A short description of the operation, e.g. ``reading `shop`.`users` ``. */
  action?: string
}

interface MysqlLikeError {
  code?: string
  errno?: number
  sqlMessage?: string
  message?: string
  fatal?: boolean
}

// Server errors a user fixes in the configuration or the grants.
const CONFIG_CODES = new Set([
  'ER_TABLEACCESS_DENIED_ERROR',
  'ER_COLUMNACCESS_DENIED_ERROR',
  'ER_SPECIFIC_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_NO_SUCH_TABLE',
  'ER_BAD_FIELD_ERROR',
  'ER_PARSE_ERROR',
  'ER_MASTER_FATAL_ERROR_READING_BINLOG',
])
// Server errors that go away on retry: lock waits, deadlocks, a server going down or busy.
const TRANSIENT_CODES = new Set([
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_QUERY_INTERRUPTED',
  'ER_CONNECTION_KILLED',
  'ER_NET_READ_ERROR',
  'ER_NET_READ_INTERRUPTED',
  'ER_NET_WRITE_INTERRUPTED',
  'ER_NET_ERROR_ON_WRITE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
])

/**
 * Translates anything mysql2 or the binlog client throws into a SluiceError: the one place
 * that decides config vs transient vs system (house style §8). Messages name host, database
 * and user, never the password.
 */
export function fromMysqlError(err: unknown, ctx: MysqlErrorContext = {}): SluiceError {
  if (isSluiceError(err)) return err
  const e = (err ?? {}) as MysqlLikeError
  const code = typeof e.code === 'string' ? e.code : ''
  const where = ctx.host === undefined ? '' : ` (server ${ctx.host}:${ctx.port ?? 3306})`
  const prefix = ctx.action ? `MySQL error while ${ctx.action}${where}: ` : `MySQL error${where}: `
  const raw = String(e.sqlMessage ?? e.message ?? err)
  switch (code) {
    case 'ER_ACCESS_DENIED_ERROR':
    case 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR':
      return configError(`Authentication failed for user "${ctx.username ?? ''}"${where}: check the username and password.`, err)
    case 'ER_BAD_DB_ERROR':
      return configError(`Database "${ctx.database ?? ''}" does not exist${where}.`, err)
    case 'ENOTFOUND':
      return configError(`Cannot resolve host "${ctx.host ?? ''}": check the host name.`, err)
    case 'ECONNREFUSED':
      return transientError(`Connection refused${where}: is the server running and is the port right?`, err)
    case 'HANDSHAKE_NO_SSL_SUPPORT':
      return configError(`${prefix}the server does not support SSL: set ssl_mode to "preferred".`, err)
    default:
  }
  if (CONFIG_CODES.has(code)) return configError(`${prefix}${raw}. Check the grants of user "${ctx.username ?? ''}" and refresh the source schema.`, err)
  if (TRANSIENT_CODES.has(code)) return transientError(`${prefix}connection or server interrupted (${raw}).`, err)
  if (/connect ETIMEDOUT|timeout/i.test(raw) && /connect/i.test(raw + (ctx.action ?? ''))) {
    return transientError(`Timed out connecting${where}: check the host, port and firewall.`, err)
  }
  if (/does not support secure connection/i.test(raw)) {
    return configError(`${prefix}the server does not support SSL: set ssl_mode to "preferred".`, err)
  }
  if (e.fatal) return transientError(`${prefix}connection lost (${raw}).`, err)
  return systemError(`${prefix}${raw}${code ? ` [${code}]` : ''}`, err)
}
