import type { FastifyInstance } from 'fastify'
import { SluiceError } from '../../errors.js'
import { sameSecret } from '../auth.js'
import type { ApiDeps } from '../deps.js'
import { objectSchema, postRoute, str } from '../route-helpers.js'

/** Lifetime announced for tokens (the token itself does not expire: it is SLUICE_API_TOKEN). */
const EXPIRES_IN_SECONDS = 24 * 3600

/** Airbyte's `AccessToken` / `PublicAccessTokenResponse`. */
export interface AccessToken {
  access_token: string
  token_type: 'Bearer'
  expires_in: number
}

/**
 * The client-credentials exchange both APIs serve: with SLUICE_API_TOKEN set, the secret must be
 * that token and the token is returned; without auth any caller gets a placeholder token that
 * the server does not check. The client id is not checked (one user).
 */
export function exchangeClientCredentials(deps: Pick<ApiDeps, 'apiToken'>, clientSecret: string): AccessToken {
  if (deps.apiToken === undefined) return { access_token: 'sluice-auth-disabled', token_type: 'Bearer', expires_in: EXPIRES_IN_SECONDS }
  if (!sameSecret(clientSecret, deps.apiToken)) {
    throw new SluiceError('SLUICE_ERR_UNAUTHORIZED', 'Invalid client credentials: client_secret must be the server token.')
  }
  return { access_token: deps.apiToken, token_type: 'Bearer', expires_in: EXPIRES_IN_SECONDS }
}

/** The token request: JSON, or the form the SDKs' OAuth2 hook posts (`grant_type=client_credentials&client_id&client_secret`). */
export const tokenRequestSchema = objectSchema(
  { client_id: str, client_secret: str, grant_type: { type: 'string', enum: ['client_credentials'] } },
  ['client_id', 'client_secret'],
)

/** `applications/token` (Kestra, Airflow, PyAirbyte): exchanges `{client_id, client_secret}` for a bearer token. */
export function registerApplicationRoutes(app: FastifyInstance, deps: ApiDeps): void {
  postRoute<{ client_id: string; client_secret: string }>(
    app,
    'applications/token',
    { summary: 'Exchange client credentials for a bearer token (open route; JSON or form-encoded).', requestSchema: tokenRequestSchema, response: 'AccessToken' },
    async (body) => exchangeClientCredentials(deps, body.client_secret),
  )
}
