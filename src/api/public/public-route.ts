import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { SluiceError, type ValidationError } from '../../errors.js'
import type { JsonSchema } from '../../protocol/index.js'
import { validateRequest } from '../request-validation.js'

/** Where the Public API is served: Airbyte OSS's path and the SDKs' default path shape. */
export const PUBLIC_API_PREFIXES = ['/api/public/v1', '/v1'] as const

export type PublicMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/** Documentation of a Public API route (route `config.publicApi`); read by its OpenAPI document. */
export interface PublicRouteDoc {
  summary: string
  /** JSON Schema of the request body (validated; 400 naming the field). */
  body?: JsonSchema
  /** Query parameters: name -> JSON Schema (documentation; parsed by the handler with public-query.ts). */
  query?: Record<string, JsonSchema>
  /** Name of the response schema (public-schemas.ts), or 'empty' for 204. */
  response: string
}

/** What a handler gets. */
export interface PublicCall<B> {
  body: B
  params: Record<string, string>
  query: Record<string, unknown>
  request: FastifyRequest
  reply: FastifyReply
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** A path parameter that must be a UUID: 400 naming it otherwise. */
export function uuidParam(call: PublicCall<unknown>, name: string): string {
  const value = call.params[name] ?? ''
  if (!UUID.test(value)) throw invalidParam(name, value, 'must be a UUID')
  return value
}

/** A 400 naming one request field. */
export function invalidParam(propertyPath: string, invalidValue: string, message: string): SluiceError {
  const validationErrors: ValidationError[] = [{ propertyPath, invalidValue, message }]
  return new SluiceError('SLUICE_ERR_INVALID_INPUT', `${propertyPath} ${message} (got '${invalidValue}').`, { validationErrors })
}

/**
 * Registers one Public API route in the plugin scope. The body (JSON or form) is validated
 * against `doc.body`; a handler that returns undefined answers 204 with no body.
 */
export function publicRoute<B = Record<string, unknown>>(
  scope: FastifyInstance,
  method: PublicMethod,
  path: string,
  doc: PublicRouteDoc,
  handler: (call: PublicCall<B>) => Promise<unknown>,
): void {
  scope.route({
    method,
    url: path,
    config: { publicApi: doc },
    handler: async (request, reply) => {
      const body = doc.body ? validateRequest<B>(doc.body, request.body) : ((request.body ?? {}) as B)
      const result = await handler({
        body,
        params: (request.params ?? {}) as Record<string, string>,
        query: (request.query ?? {}) as Record<string, unknown>,
        request,
        reply,
      })
      if (result === undefined) {
        await reply.code(204).send()
        return reply
      }
      return result
    },
  })
}
