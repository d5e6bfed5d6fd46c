import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { JsonSchema } from '../protocol/index.js'
import { validateRequest } from './request-validation.js'

/** Documentation attached to a route (route `config.openapi`); read by the OpenAPI document. */
export interface RouteDoc {
  summary: string
  /** JSON Schema of the request body. */
  requestSchema?: JsonSchema
  /** Name of the response schema in Airbyte's spec (e.g. `SourceRead`), or 'empty' for 204. */
  response?: string
}

/** The API's base path. */
export const API_PREFIX = '/api/v1'

/**
 * Registers `POST /api/v1/<path>`. Trailing slashes are accepted app-wide
 * (routerOptions.ignoreTrailingSlash); a missing or empty body counts as `{}`; the body is
 * validated against `doc.requestSchema` (422 with validationErrors) with case-insensitive
 * enums. A handler that returns undefined answers 204 with no body.
 */
export function postRoute<B = Record<string, unknown>>(
  app: FastifyInstance,
  path: string,
  doc: RouteDoc,
  handler: (body: B, request: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
): void {
  app.post(`${API_PREFIX}/${path}`, { config: { openapi: doc } }, async (request, reply) => {
    const body = doc.requestSchema ? validateRequest<B>(doc.requestSchema, request.body) : ((request.body ?? {}) as B)
    const result = await handler(body, request, reply)
    if (result === undefined) {
      await reply.code(204).send()
      return reply
    }
    return result
  })
}

/** Schema helpers for request bodies. */
export const uuid = { type: 'string', format: 'uuid' } as const
export const str = { type: 'string' } as const
export const bool = { type: 'boolean' } as const
/** A display name: not blank, at most 256 characters (Airbyte's UI limit), so lists stay small. */
export const MAX_NAME_LENGTH = 256
export const nameField = { type: 'string', minLength: 1, maxLength: MAX_NAME_LENGTH, pattern: '\\S' } as const
/** A name that may be omitted or empty (a default is derived), still at most 256 characters. */
export const optionalNameField = { type: 'string', maxLength: MAX_NAME_LENGTH } as const

/** An object schema whose listed properties are required; other properties are allowed. */
export function objectSchema(properties: Record<string, JsonSchema>, required: string[] = []): JsonSchema {
  return { type: 'object', properties, required }
}
