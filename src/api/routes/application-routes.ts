import type { FastifyInstance } from 'fastify'
import { SluiceError } from '../../errors.js'
import { sameSecret } from '../auth.js'
import type { ApiDeps } from '../deps.js'
import { objectSchema, postRoute, str } from '../route-helpers.js'

/** Lifetime announced for tokens (the token itself does not expire: it is SLUICE_API_TOKEN). */
const EXPIRES_IN_SECONDS = 24 * 3600

/**
 * `applications/token` (Kestra, Airflow): exchanges `{client_id, client_secret}` for a bearer
 * token. With SLUICE_API_TOKEN set, the secret must be that token and the token is returned;
 * without auth any caller gets a placeholder token that the server does not check.
 */
export function registerApplicationRoutes(app: FastifyInstance, deps: ApiDeps): void {
  postRoute<{ client_id: string; client_secret: string }>(
    app,
    'applications/token',
    {
      summary: 'Exchange client credentials for a bearer token (open route).',
      requestSchema: objectSchema({ client_id: str, client_secret: str }, ['client_id', 'client_secret']),
      response: 'AccessToken',
    },
    async (body) => {
      if (deps.apiToken === undefined) return { access_token: 'sluice-auth-disabled', token_type: 'Bearer', expires_in: EXPIRES_IN_SECONDS }
      if (!sameSecret(body.client_secret, deps.apiToken)) {
        throw new SluiceError('SLUICE_ERR_UNAUTHORIZED', 'Invalid client credentials: client_secret must be the server token.')
      }
      return { access_token: deps.apiToken, token_type: 'Bearer', expires_in: EXPIRES_IN_SECONDS }
    },
  )
}
