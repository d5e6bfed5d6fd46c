import { createPrivateKey, createSecretKey, type KeyObject } from 'node:crypto'
import { SignJWT } from 'jose'
import { configError } from '../../../errors.js'
import { evaluate, evaluateCondition, type TemplateContext } from '../interpolation/interpolator.js'
import { pyStr } from '../interpolation/py-values.js'
import type { ManifestNode } from '../manifest-loader.js'
import type { RequestParts } from './request-parts.js'
import type { Authenticator } from './authenticator.js'

const RESERVED_HEADERS = ['kid', 'alg', 'typ', 'cty']
const RESERVED_CLAIMS = ['iss', 'sub', 'aud', 'iat', 'exp', 'nbf']

function text(v: unknown, ctx: TemplateContext): string | undefined {
  if (v === undefined || v === null || v === '') return undefined
  const out = evaluate(v, ctx, { literal: false })
  return out === undefined || out === null || out === '' ? undefined : pyStr(out)
}

function mapping(v: unknown, ctx: TemplateContext): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) out[k] = evaluate(x, ctx)
  return out
}

/**
 * JwtAuthenticator: signs a JWT for every request and sends it in `Authorization`, as the CDK
 * does: claims `iss`/`sub`/`aud` plus `additional_jwt_payload`, `iat` = `nbf` = now, `exp` = now +
 * `token_duration`; headers `kid`/`typ`/`cty` plus `additional_jwt_headers`; HMAC keys are the
 * secret text (or its base64 text with `base64_encode_secret_key`), other algorithms read a PEM
 * private key (with `passphrase` when encrypted).
 */
export class JwtAuthenticator implements Authenticator {
  constructor(private readonly node: ManifestNode, private readonly ctx: TemplateContext, private readonly now: () => number = Date.now) {}

  async apply(parts: RequestParts): Promise<void> {
    const token = await this.#token()
    const prefix = text(this.node.header_prefix, this.ctx)
    parts.set('header', 'Authorization', prefix ? `${prefix} ${token}` : token, 'authenticator')
  }

  async #token(): Promise<string> {
    const n = this.node
    const alg = String(n.algorithm ?? '')
    const jwtHeaders = (n.jwt_headers ?? {}) as ManifestNode
    const jwtPayload = (n.jwt_payload ?? {}) as ManifestNode
    const headers = mapping(n.additional_jwt_headers, this.ctx)
    if (RESERVED_HEADERS.some((h) => h in headers)) throw configError(`JwtAuthenticator: ${RESERVED_HEADERS.join(', ')} are reserved and cannot be set in additional_jwt_headers`)
    for (const h of ['kid', 'typ', 'cty']) {
      const v = text(jwtHeaders[h] ?? n[h], this.ctx)
      if (v !== undefined) headers[h] = v
    }
    const payload = mapping(n.additional_jwt_payload, this.ctx)
    if (RESERVED_CLAIMS.some((c) => c in payload)) throw configError(`JwtAuthenticator: ${RESERVED_CLAIMS.join(', ')} are reserved and cannot be set in additional_jwt_payload`)
    for (const c of ['iss', 'sub', 'aud']) {
      const v = text(jwtPayload[c] ?? n[c], this.ctx)
      if (v !== undefined) payload[c] = v
    }
    const now = Math.floor(this.now() / 1000)
    const duration = Number(jwtPayload.token_duration ?? n.token_duration)
    payload.iat = now
    payload.exp = Number.isInteger(duration) ? now + duration : now
    payload.nbf = now
    try {
      return await new SignJWT(payload).setProtectedHeader({ ...headers, alg }).sign(this.#key(alg))
    } catch (e) {
      throw configError(`JwtAuthenticator: failed to sign the token: ${(e as Error).message}`, e)
    }
  }

  #key(alg: string): KeyObject {
    const secret = text(this.node.secret_key, this.ctx) ?? ''
    if (alg.startsWith('HS')) {
      const b64 = this.node.base64_encode_secret_key !== undefined && evaluateCondition(this.node.base64_encode_secret_key, this.ctx)
      return createSecretKey(Buffer.from(b64 ? Buffer.from(secret, 'utf8').toString('base64') : secret, 'utf8'))
    }
    const passphrase = text(this.node.passphrase, this.ctx)
    return createPrivateKey(passphrase ? { key: secret, passphrase } : { key: secret })
  }
}
