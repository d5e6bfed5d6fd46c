import type { PublicRouteDoc } from './public-route.js'
import { PUBLIC_RESPONSE_SCHEMAS } from './public-schemas.js'

/** One served route of the Public API (path relative to the prefix, Fastify's `:param` syntax). */
export interface PublicRouteEntry {
  method: string
  path: string
  doc: PublicRouteDoc
}

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } })

/** OpenAPI 3 document of the Public API routes this server serves (under `prefix`). */
export function publicOpenApiDocument(routes: readonly PublicRouteEntry[], prefix: string, version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const r of [...routes].sort((a, b) => a.path.localeCompare(b.path))) {
    const openApiPath = r.path.replace(/:(\w+)/g, '{$1}')
    const parameters = [
      ...[...r.path.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: m[1] === 'jobId' ? { type: 'integer', format: 'int64' } : { type: 'string', format: 'uuid' } })),
      ...Object.entries(r.doc.query ?? {}).map(([name, schema]) => ({ name, in: 'query', required: false, schema })),
    ]
    const ok =
      r.doc.response === 'empty'
        ? { '204': { description: 'Done, no body.' } }
        : { '200': { description: r.doc.response, content: { 'application/json': { schema: { $ref: `#/components/schemas/${r.doc.response}` } } } } }
    const op: Record<string, unknown> = {
      summary: r.doc.summary,
      responses: { ...ok, '400': problem('Invalid request (the field is named)'), '401': problem('Missing or invalid credentials'), '404': problem('Unknown id'), '422': problem('Unprocessable (e.g. a configuration the connector refuses)') },
    }
    if (parameters.length > 0) op.parameters = parameters
    if (r.doc.body !== undefined) {
      const content: Record<string, unknown> = { 'application/json': { schema: r.doc.body } }
      if (r.path === '/applications/token') content['application/x-www-form-urlencoded'] = { schema: r.doc.body }
      op.requestBody = { required: true, content }
    }
    if (r.path === '/health' || r.path === '/applications/token') op.security = []
    paths[openApiPath] = { ...(paths[openApiPath] ?? {}), [r.method]: op }
  }
  return {
    openapi: '3.0.3',
    info: { title: 'sluice Public API (Airbyte-compatible)', version },
    servers: [{ url: prefix }],
    security: [{ bearer: [] }, { basic: [] }],
    components: {
      schemas: PUBLIC_RESPONSE_SCHEMAS,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, basic: { type: 'http', scheme: 'basic' } },
    },
    paths,
  }
}
