import { SluiceError, configError, isSluiceError, systemError, transientError } from '../../errors.js'

/** What the failing operation was about, so messages name the server and object without secrets. */
export interface PgErrorContext {
  host?: string
  port?: number
  database?: string
  username?: string
  /** A short description of the operation, e.g. `reading "public"."users"`. */
  action?: string
}

interface PgLikeError {
  code?: string
  message?: string
  detail?: string
  hint?: string
}

const TRANSIENT_SQLSTATES = new Set(['57P01', '57P02', '57P03', '40001', '40P01', '53300', '53400', '55P03'])
// 42883: e.g. a cursor column of a type without ordering (json): the user must pick another.
const CONFIG_SQLSTATES = new Set(['28P01', '28000', '3D000', '42501', '42P01', '42703', '3F000', '42704', '42883'])
const NETWORK_TRANSIENT = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'])

/**
 * Translates anything the pg driver throws into a SluiceError: the one place that decides
 * config vs transient vs system (house style §8). Messages name host/database/user, never the
 * password (pg's own messages do not contain it either).
 */
export function fromPgError(err: unknown, ctx: PgErrorContext = {}): SluiceError {
  if (isSluiceError(err)) return err
  const e = (err ?? {}) as PgLikeError
  const code = typeof e.code === 'string' ? e.code : ''
  const where = ctx.host === undefined ? '' : ` (server ${ctx.host}:${ctx.port ?? 5432})`
  const prefix = ctx.action ? `Postgres error while ${ctx.action}${where}: ` : `Postgres error${where}: `
  const raw = String(e.message ?? err)
  if (code === '28P01' || code === '28000') {
    return configError(`Authentication failed for user "${ctx.username ?? ''}"${where}: check the username and password.`, err)
  }
  if (code === '3D000') {
    return configError(`Database "${ctx.database ?? ''}" does not exist${where}.`, err)
  }
  if (code === '42501') {
    return configError(`${prefix}permission denied (${raw}). Grant the user the needed privileges.`, err)
  }
  if (CONFIG_SQLSTATES.has(code)) return configError(`${prefix}${raw}`, err)
  // P0001: a RAISE EXCEPTION in a trigger or function; 53100: the server's disk is full. The
  // same statement fails the same way on retry: someone must change the database first.
  if (code === 'P0001') return configError(`${prefix}the database refused the write: ${raw}. Change the trigger or function that raises it.`, err)
  if (code === '53100') return configError(`${prefix}the database server's disk is full (${raw}).`, err)
  if (code.startsWith('08') || TRANSIENT_SQLSTATES.has(code)) return transientError(`${prefix}${raw}`, err)
  if (code === 'ENOTFOUND') {
    return configError(`Cannot resolve host "${ctx.host ?? ''}": check the host name.`, err)
  }
  if (code === 'ECONNREFUSED') {
    return transientError(`Connection refused${where}: is the server running and is the port right?`, err)
  }
  if (NETWORK_TRANSIENT.has(code)) return transientError(`${prefix}network error (${raw}).`, err)
  if (/timeout/i.test(raw) && (ctx.action === 'connecting' || /connect/i.test(raw))) {
    return transientError(`Timed out connecting${where}: check the host, port and firewall.`, err)
  }
  if (/Connection terminated|Client has encountered a connection error/i.test(raw)) {
    return transientError(`${prefix}connection lost (${raw}).`, err)
  }
  if (/server does not support SSL/i.test(raw)) {
    return configError(`${prefix}the server does not support SSL: set ssl to false or ssl_mode to disable.`, err)
  }
  return systemError(`${prefix}${raw}${code ? ` [SQLSTATE ${code}]` : ''}`, err)
}

/** True for SQLSTATE class 22 (data exception) and 23 (constraint): a cast or value problem. */
export function isDataException(err: unknown): boolean {
  const code = (err as PgLikeError | undefined)?.code
  return typeof code === 'string' && (code.startsWith('22') || code === '23502')
}
