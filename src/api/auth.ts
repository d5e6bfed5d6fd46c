import { timingSafeEqual } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { SluiceError } from '../errors.js'
import { isWebUiAsset } from './web-ui.js'
import { FailedAuthLimiter, type FailedAuthLimits } from './failed-auth-limiter.js'
import { PUBLIC_API_PREFIXES } from './public/public-route.js'
import { API_PREFIX } from './route-helpers.js'

/** Constant-time comparison of two secrets. */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** True when the Authorization header carries the token (Bearer <token>, or Basic with any user and the token as password). */
export function isAuthorized(header: string | undefined, token: string): boolean {
  if (!header) return false
  const [scheme, value = ''] = header.split(/\s+/, 2)
  if (scheme?.toLowerCase() === 'bearer') return sameSecret(value, token)
  if (scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    return colon >= 0 && sameSecret(decoded.slice(colon + 1), token)
  }
  return false
}

const PREFIXES = [API_PREFIX, ...PUBLIC_API_PREFIXES]
/** Health is open in both APIs, never throttled. */
const HEALTH_PATHS = PREFIXES.map((prefix) => `${prefix}/health`)
/** The token exchange is open in both APIs (its failures count like a bad token). */
const TOKEN_PATHS = new Set(PREFIXES.map((prefix) => `${prefix}/applications/token`))

/**
 * With a token configured, every call except health, the token exchange and `openPaths` needs
 * it; 401 otherwise. Every 401 (a bad token here, a bad client secret at `applications/token`)
 * counts against the client address; past the limit the address gets 429 with Retry-After until
 * its window ends. Health, `openPaths` and the web UI's files (src/api/web-ui.ts) are never
 * limited. Errors are thrown, so each API's error handler answers in its shape (Airbyte's body
 * on the Config API, a problem document on the Public API).
 */
export function installAuth(app: FastifyInstance, token: string | undefined, limits: FailedAuthLimits = {}, openPaths: readonly string[] = []): void {
  if (!token) return
  const open = new Set([...HEALTH_PATHS, ...openPaths])
  const limiter = new FailedAuthLimiter(limits)
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0]?.replace(/\/+$/, '') ?? ''
    if (open.has(path)) return
    // The web UI's files are open too (no data in them): told by the matched route's tag, so
    // an encoded path cannot dodge it and no other route outside /api opens by accident.
    if (isWebUiAsset(request.routeOptions.config)) return
    const waitMs = limiter.retryAfterMs(request.ip)
    if (waitMs > 0) {
      reply.header('retry-after', String(Math.ceil(waitMs / 1000)))
      throw new SluiceError('SLUICE_ERR_TOO_MANY_ATTEMPTS', 'Too many failed authentications from this address: try again later.')
    }
    if (TOKEN_PATHS.has(path)) return
    if (isAuthorized(request.headers.authorization, token)) return
    reply.header('www-authenticate', 'Basic realm="sluice", Bearer')
    throw new SluiceError('SLUICE_ERR_UNAUTHORIZED', 'Missing or invalid credentials: send Authorization: Bearer <SLUICE_API_TOKEN> or Basic auth with the token as password.')
  })
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode === 401) limiter.recordFailure(request.ip)
  })
}
