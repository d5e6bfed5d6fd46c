import { configError, transientError } from '../../../errors.js'
import { evaluate, type TemplateContext } from '../interpolation/interpolator.js'
import { parseIsoDateTime, parseIsoDuration, strptime } from '../interpolation/py-datetime.js'
import { pyStr } from '../interpolation/py-values.js'
import type { ManifestNode } from '../manifest-loader.js'
import { injectOption, RequestParts } from './request-parts.js'
import type { Authenticator } from './authenticator.js'
import { JwtAuthenticator } from './jwt-authenticator.js'

/**
 * LegacySessionTokenAuthenticator: the session token goes in `header`. A `session_token` from the
 * config is used when `GET api_url + validate_session_url` accepts it (a 401 means invalid); else
 * `POST api_url + login_url` with `{username, password}` returns it under
 * `session_token_response_key`. The CDK does this before every request; sluice once per run
 * (shared by its streams) and again after a 401.
 */
class LegacySessionTokenAuthenticator implements Authenticator {
  readonly #key: string

  constructor(private readonly node: ManifestNode, private readonly ctx: TemplateContext, private readonly deps: AuthDeps) {
    this.#key = `legacy-session:${JSON.stringify(node)}`
  }

  #text(v: unknown): string {
    return str(evaluate(v ?? '', this.ctx, { literal: false }))
  }

  async #obtain(signal: AbortSignal, allowConfigToken: boolean): Promise<string> {
    const header = this.#text(this.node.header)
    const api = this.#text(this.node.api_url)
    const configured = this.#text(this.node.session_token)
    if (configured && allowConfigToken) {
      const res = await this.deps.tokenFetch(`${api}${this.#text(this.node.validate_session_url)}`, { method: 'GET', headers: { [header]: configured } }, signal)
      if (res.status >= 200 && res.status < 300) return configured
      if (res.status !== 401) throw configError(`validating the session token failed: HTTP ${res.status}`)
    }
    const username = this.#text(this.node.username)
    const password = this.#text(this.node.password)
    if (!username || !password) throw configError('Invalid credentials: the session token is not valid and no username and password are given')
    const res = await this.deps.tokenFetch(`${api}${this.#text(this.node.login_url)}`, { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) }, signal)
    if (res.status < 200 || res.status >= 300) throw configError(`the session login failed: HTTP ${res.status}`)
    let token: unknown
    try {
      token = (JSON.parse(res.text) as Record<string, unknown>)[this.#text(this.node.session_token_response_key)]
    } catch {
      token = undefined
    }
    if (token === undefined || token === null || token === '') throw configError(`the session login response has no ${this.#text(this.node.session_token_response_key)}`)
    return str(token)
  }

  async apply(parts: RequestParts, signal: AbortSignal): Promise<void> {
    let pending = this.deps.shared.get(this.#key) as Promise<string> | undefined
    if (!pending) {
      pending = this.#obtain(signal, true)
      this.deps.shared.set(this.#key, pending)
      pending.catch(() => this.deps.shared.delete(this.#key))
    }
    parts.set('header', this.#text(this.node.header), await pending, 'authenticator')
  }

  async onUnauthorized(signal: AbortSignal): Promise<boolean> {
    const pending = this.#obtain(signal, false)
    this.deps.shared.set(this.#key, pending)
    await pending
    return true
  }
}

/** Token state shared by the streams of one run. */
interface OAuthState {
  token: string | undefined
  expiresAt: number
  refreshToken: string | undefined
  refreshing: Promise<void> | undefined
  /** The config with rotated tokens written back (what onConfigUpdate last received). */
  config: Record<string, unknown>
}

/** Sends a form POST for the OAuth refresh; provided by the HTTP layer (rate limits, rewrites). */
export type TokenFetch = (url: string, init: { method?: 'GET' | 'POST'; headers: Record<string, string>; body?: string }, signal: AbortSignal) => Promise<{ status: number; text: string }>

const noAuth: Authenticator = { apply: async () => undefined }

function str(v: unknown): string {
  return v === undefined || v === null ? '' : pyStr(v)
}

class HeaderAuthenticator implements Authenticator {
  constructor(private readonly header: string, private readonly value: () => string) {}
  async apply(parts: RequestParts): Promise<void> {
    parts.set('header', this.header, this.value(), 'authenticator')
  }
}

class OptionAuthenticator implements Authenticator {
  constructor(private readonly option: ManifestNode, private readonly value: () => string, private readonly ctx: TemplateContext) {}
  async apply(parts: RequestParts): Promise<void> {
    injectOption(parts, this.option, this.value(), this.ctx, 'authenticator')
  }
}

/**
 * OAuthAuthenticator: refresh-token and client-credentials grants. The access token is cached
 * until shortly before it expires, refreshed again on a 401, and a rotated refresh token is kept
 * for the rest of the run (sluice does not write it back into the stored config yet).
 */
class OAuthAuthenticator implements Authenticator {
  readonly #s: OAuthState

  constructor(private readonly node: ManifestNode, private readonly ctx: TemplateContext, private readonly deps: AuthDeps) {
    // Every stream of a run shares one token (and one rotated refresh token) per authenticator.
    const key = `oauth:${JSON.stringify(node)}`
    const shared = deps.shared
    let state = shared.get(key) as OAuthState | undefined
    if (!state) {
      state = { token: undefined, expiresAt: 0, refreshToken: undefined, refreshing: undefined, config: (ctx.config ?? {}) as Record<string, unknown> }
      const fixed = node.access_token_value === undefined ? '' : str(evaluate(node.access_token_value, ctx))
      if (fixed) {
        state.token = fixed
        state.expiresAt = Number.POSITIVE_INFINITY
      }
      state.refreshToken = node.refresh_token === undefined ? undefined : str(evaluate(node.refresh_token, ctx))
      shared.set(key, state)
    }
    this.#s = state
  }

  async apply(parts: RequestParts, signal: AbortSignal): Promise<void> {
    if (!this.#s.token || Date.now() >= this.#s.expiresAt) await this.#refresh(signal)
    parts.set('header', 'Authorization', `Bearer ${this.#s.token}`, 'authenticator')
  }

  async onUnauthorized(signal: AbortSignal): Promise<boolean> {
    if (this.#s.expiresAt === Number.POSITIVE_INFINITY && this.node.access_token_value !== undefined && !this.node.token_refresh_endpoint) return false
    this.#s.token = undefined
    await this.#refresh(signal)
    return true
  }

  #refresh(signal: AbortSignal): Promise<void> {
    this.#s.refreshing ??= this.#doRefresh(signal).finally(() => {
      this.#s.refreshing = undefined
    })
    return this.#s.refreshing
  }

  async #doRefresh(signal: AbortSignal): Promise<void> {
    const n = this.node
    const endpoint = str(evaluate(n.token_refresh_endpoint, this.ctx))
    if (!endpoint) throw configError('OAuthAuthenticator has no token_refresh_endpoint')
    const grant = str(evaluate(n.grant_type ?? 'refresh_token', this.ctx)) || 'refresh_token'
    const form = new URLSearchParams()
    form.set('grant_type', grant)
    const clientId = str(evaluate(n.client_id, this.ctx))
    const clientSecret = str(evaluate(n.client_secret, this.ctx))
    if (clientId) form.set('client_id', clientId)
    if (clientSecret) form.set('client_secret', clientSecret)
    if (grant === 'refresh_token' && this.#s.refreshToken) form.set('refresh_token', this.#s.refreshToken)
    if (Array.isArray(n.scopes) && n.scopes.length) form.set('scope', n.scopes.map(str).join(' '))
    const extra = n.refresh_request_body && typeof n.refresh_request_body === 'object' ? (n.refresh_request_body as Record<string, unknown>) : {}
    for (const [k, v] of Object.entries(extra)) {
      const ev = evaluate(v, this.ctx)
      if (ev !== undefined && ev !== null && ev !== '') form.set(k, typeof ev === 'object' ? JSON.stringify(ev) : str(ev))
    }
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }
    const extraHeaders = n.refresh_request_headers && typeof n.refresh_request_headers === 'object' ? (n.refresh_request_headers as Record<string, unknown>) : {}
    for (const [k, v] of Object.entries(extraHeaders)) headers[k.toLowerCase()] = str(evaluate(v, this.ctx))
    const res = await this.deps.tokenFetch(endpoint, { headers, body: form.toString() }, signal)
    if (res.status === 401 || res.status === 400 || res.status === 403) {
      throw configError(`OAuth token refresh was rejected (HTTP ${res.status}); check the client id, secret and refresh token`)
    }
    if (res.status < 200 || res.status >= 300) throw transientError(`OAuth token refresh failed with HTTP ${res.status}`)
    let body: Record<string, unknown>
    try {
      body = JSON.parse(res.text) as Record<string, unknown>
    } catch {
      throw transientError('OAuth token refresh returned a body that is not JSON')
    }
    const tokenName = str(n.access_token_name ?? 'access_token') || 'access_token'
    const token = body[tokenName]
    if (typeof token !== 'string' || !token) throw configError(`OAuth token response has no ${tokenName}`)
    this.#s.token = token
    const expiresName = str(n.expires_in_name ?? 'expires_in') || 'expires_in'
    const exp = body[expiresName]
    this.#s.expiresAt = this.#expiry(exp)
    const updater = n.refresh_token_updater as ManifestNode | undefined
    const rotated = body[str(updater?.refresh_token_name ?? 'refresh_token')]
    if (updater && typeof rotated === 'string' && rotated) {
      this.#s.refreshToken = rotated
      await this.#persist(updater, rotated)
    }
  }

  /** Writes rotated tokens into the config at the updater's paths and hands it to the caller. */
  async #persist(updater: ManifestNode, refreshToken: string): Promise<void> {
    const path = (v: unknown, dflt: string[]): string[] => (Array.isArray(v) ? v.map((x) => str(x)) : dflt)
    const config = structuredClone(this.#s.config)
    const put = (keys: string[], value: unknown): void => {
      let cur = config
      for (const k of keys.slice(0, -1)) {
        const next = cur[k]
        cur = (next && typeof next === 'object' ? next : (cur[k] = {})) as Record<string, unknown>
      }
      cur[keys[keys.length - 1] as string] = value
    }
    put(path(updater.refresh_token_config_path, ['credentials', 'refresh_token']), refreshToken)
    put(path(updater.access_token_config_path, ['credentials', 'access_token']), this.#s.token)
    if (Number.isFinite(this.#s.expiresAt)) put(path(updater.token_expiry_date_config_path, ['credentials', 'token_expiry_date']), new Date(this.#s.expiresAt).toISOString())
    this.#s.config = config
    await this.deps.onConfigUpdate?.(config)
  }

  #expiry(exp: unknown): number {
    // Refresh a little early so a request never goes out with a token about to lapse.
    const margin = 5_000
    if (exp === undefined || exp === null || exp === '') return Date.now() + 3600_000 - margin
    if (this.node.token_expiry_date_format) {
      const dt = strptime(str(exp), str(this.node.token_expiry_date_format))
      if (dt) return dt.us / 1000 - margin
    }
    if (typeof exp === 'number' || /^\d+$/.test(str(exp))) return Date.now() + Number(exp) * 1000 - margin
    const dt = parseIsoDateTime(str(exp))
    if (dt) return dt.us / 1000 - margin
    const d = parseIsoDuration(str(exp))
    return d ? Date.now() + d.us / 1000 - margin : Date.now() + 3600_000 - margin
  }
}

/** What authenticators need from the HTTP layer. */
export interface AuthDeps {
  tokenFetch: TokenFetch
  /** State shared by the streams of one run (tokens). */
  shared: Map<string, unknown>
  /** Builds authenticators that need a full requester (SessionTokenAuthenticator). */
  extra?: (node: ManifestNode) => Authenticator | undefined
  /** Persists a config changed by the run (rotated OAuth tokens). */
  onConfigUpdate?: (config: Record<string, unknown>) => Promise<void>
}

/** Builds the authenticator of a requester (component already validated). */
export function createAuthenticator(node: ManifestNode | undefined, ctx: TemplateContext, deps: AuthDeps): Authenticator {
  if (!node) return noAuth
  switch (node.type) {
    case 'NoAuth':
      return noAuth
    case 'BearerAuthenticator':
      return new HeaderAuthenticator('Authorization', () => `Bearer ${str(evaluate(node.api_token, ctx))}`)
    case 'ApiKeyAuthenticator': {
      const value = (): string => str(evaluate(node.api_token, ctx))
      if (node.inject_into && typeof node.inject_into === 'object') return new OptionAuthenticator(node.inject_into as ManifestNode, value, ctx)
      return new HeaderAuthenticator(str(evaluate(node.header ?? 'X-API-Key', ctx, { literal: false })), value)
    }
    case 'BasicHttpAuthenticator':
      return new HeaderAuthenticator('Authorization', () => {
        const user = str(evaluate(node.username, ctx, { literal: false }))
        const pass = str(evaluate(node.password ?? '', ctx, { literal: false }))
        return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`
      })
    case 'OAuthAuthenticator':
      return new OAuthAuthenticator(node, ctx, deps)
    case 'JwtAuthenticator':
      return new JwtAuthenticator(node, ctx)
    case 'LegacySessionTokenAuthenticator':
      return new LegacySessionTokenAuthenticator(node, ctx, deps)
    case 'SelectiveAuthenticator': {
      const path = Array.isArray(node.authenticator_selection_path) ? node.authenticator_selection_path.map(String) : []
      let cur: unknown = ctx.config
      for (const p of path) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[p] : undefined
      const options = (node.authenticators ?? {}) as Record<string, ManifestNode>
      const chosen = options[str(cur)]
      if (!chosen) throw configError(`no authenticator for ${path.join('.')} = ${JSON.stringify(str(cur))}; expected one of ${Object.keys(options).join(', ')}`)
      return createAuthenticator(chosen, ctx, deps)
    }
    default: {
      const built = deps.extra?.(node)
      if (built) return built
      throw configError(`unsupported authenticator ${String(node.type)}`)
    }
  }
}
