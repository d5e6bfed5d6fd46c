import type { FastifyInstance, RouteOptions } from 'fastify'
import { RESPONSE_SCHEMAS } from './openapi-schemas.js'
import { API_PREFIX, type RouteDoc } from './route-helpers.js'

interface CollectedRoute {
  method: string
  url: string
  doc: RouteDoc | undefined
}

/**
 * Collects every route as it is registered (including other modules' routes) so that
 * `GET /api/v1/openapi.json` describes exactly what this server serves.
 */
export function collectRoutes(app: FastifyInstance): CollectedRoute[] {
  const routes: CollectedRoute[] = []
  app.addHook('onRoute', (route: RouteOptions) => {
    // The document describes the Config API; /metrics (Prometheus text) is outside it.
    if (!route.url.startsWith(API_PREFIX)) return
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    const doc = (route.config as { openapi?: RouteDoc } | undefined)?.openapi
    for (const method of methods) {
      if (method === 'HEAD' || method === 'OPTIONS') continue
      routes.push({ method: method.toLowerCase(), url: route.url, doc })
    }
  })
  return routes
}

const errorSchema = {
  type: 'object',
  properties: {
    message: { type: 'string' },
    exceptionClassName: { type: 'string' },
    id: { type: 'string' },
    code: { type: 'string' },
    validationErrors: {
      type: 'array',
      items: { type: 'object', properties: { propertyPath: { type: 'string' }, invalidValue: { type: 'string' }, message: { type: 'string' } } },
    },
  },
}

function responseSchema(name: string | undefined): Record<string, unknown> {
  return name !== undefined && RESPONSE_SCHEMAS[name] ? { $ref: `#/components/schemas/${name}` } : { type: 'object' }
}

/** Builds the OpenAPI 3 document from the collected routes. */
export function openApiDocument(routes: readonly CollectedRoute[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const r of [...routes].sort((a, b) => a.url.localeCompare(b.url))) {
    const doc = r.doc
    const op: Record<string, unknown> = {
      summary: doc?.summary ?? `${r.method.toUpperCase()} ${r.url}`,
      responses:
        doc?.response === 'empty'
          ? { '204': { description: 'Done, no body.' } }
          : { '200': { description: doc?.response ?? 'Success', content: { 'application/json': { schema: responseSchema(doc?.response) } } } },
    }
    const responses = op.responses as Record<string, unknown>
    if (r.method === 'post') {
      op.requestBody = { required: false, content: { 'application/json': { schema: doc?.requestSchema ?? { type: 'object' } } } }
      const error = { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } }
      responses['404'] = { description: 'Not found', content: error }
      responses['422'] = { description: 'Invalid input', content: error }
    }
    paths[r.url] = { ...(paths[r.url] ?? {}), [r.method]: op }
  }
  return {
    openapi: '3.0.3',
    info: { title: 'sluice Config API (Airbyte-compatible)', version },
    servers: [{ url: '/' }],
    components: {
      schemas: { ...RESPONSE_SCHEMAS, ErrorBody: errorSchema },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, basic: { type: 'http', scheme: 'basic' } },
    },
    paths,
  }
}
