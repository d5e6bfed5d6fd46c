import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { SluiceError } from '../errors.js'
import { installAuth } from './auth.js'
import type { ApiDeps } from './deps.js'
import { installErrorHandler } from './error-handler.js'
import { MAX_BODY_DEPTH, pathBeyondDepth } from './body-depth.js'
import { installMetricsEndpoint, METRICS_PATH } from './metrics-endpoint.js'
import { collectRoutes, openApiDocument } from './openapi.js'
import { registerPublicApi } from './public/public-api.js'
import { PUBLIC_API_PREFIXES } from './public/public-route.js'
import { API_PREFIX } from './route-helpers.js'
import { ROUTE_MODULES } from './routes/index.js'
import { sluiceVersion } from './version.js'
import { registerWebUi, webUiRoot } from './web-ui.js'

function isFormEncoded(contentType: string | undefined): boolean {
  return contentType?.toLowerCase().startsWith('application/x-www-form-urlencoded') ?? false
}

/**
 * Builds the Fastify app of the Config API and the Public API (not listening). Tests drive it
 * with `inject()`; src/server.ts listens on it.
 */
export async function createApp(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // One line per request is written by the onResponse hook below, without bodies.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { ignoreTrailingSlash: true },
    bodyLimit: 16 * 1024 * 1024,
  })
  const routes = collectRoutes(app)

  // Every body is read as JSON whatever its content type (curl -d sends form encoding), and an
  // empty body is no body: generated clients send nothing for no-argument calls. A form-encoded
  // body that is not JSON is read as a form: the SDKs' OAuth2 hook posts the token request so.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8')
    if (text.trim() === '') return done(null, undefined)
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (e) {
      if (isFormEncoded(request.headers['content-type'])) return done(null, Object.fromEntries(new URLSearchParams(text)))
      const reason = e instanceof RangeError ? `it nests deeper than ${MAX_BODY_DEPTH} levels` : (e as Error).message
      done(new SluiceError('SLUICE_ERR_INVALID_JSON', `Invalid json input: ${reason}`), undefined)
      return
    }
    const tooDeep = pathBeyondDepth(parsed, MAX_BODY_DEPTH)
    if (tooDeep !== undefined) {
      const message = `nests deeper than ${MAX_BODY_DEPTH} levels`
      done(new SluiceError('SLUICE_ERR_INVALID_INPUT', `${tooDeep} ${message}.`, { validationErrors: [{ propertyPath: tooDeep, invalidValue: '(too deep)', message }] }), undefined)
      return
    }
    done(null, parsed)
  })

  installErrorHandler(app)
  const metricsExposure = deps.metricsExposure ?? 'public'
  // `public` metrics are open like health; `auth` ones need the token like every other call.
  installAuth(app, deps.apiToken, deps.authLimits, metricsExposure === 'public' ? [METRICS_PATH] : [])
  if (metricsExposure !== 'off') installMetricsEndpoint(app, deps)
  const refreshDefinitions = deps.refreshDefinitions
  if (refreshDefinitions) {
    // Health and metrics use no definitions, and must answer (available: false, store_up 0)
    // when the store is down instead of failing on this refresh's query.
    const storeProbes = new Set([API_PREFIX, ...PUBLIC_API_PREFIXES].map((prefix) => `${prefix}/health`).concat(METRICS_PATH))
    // After auth: definitions another API process added are known before the route runs.
    app.addHook('preHandler', async (request) => {
      if (request.routeOptions.url !== undefined && storeProbes.has(request.routeOptions.url)) return
      await refreshDefinitions()
    })
  }
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      { method: request.method, url: request.url, statusCode: reply.statusCode, durationMs: Math.round(reply.elapsedTime * 10) / 10 },
      'request',
    )
  })

  for (const register of ROUTE_MODULES) register(app, deps)
  await registerPublicApi(app, deps)

  const version = sluiceVersion()
  app.get(`${API_PREFIX}/openapi.json`, { config: { openapi: { summary: 'This OpenAPI document.' } } }, async () =>
    // The Public API has its own document (/api/public/v1/openapi.json).
    openApiDocument(
      routes.filter((r) => r.url.startsWith(`${API_PREFIX}/`)),
      version,
    ),
  )
  await registerWebUi(app, webUiRoot())
  await app.ready()
  return app
}
