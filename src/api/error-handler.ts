import type { FastifyError, FastifyInstance } from 'fastify'
import { ERROR_CODES, isSluiceError, SluiceError, type ErrorCode } from '../errors.js'

/** Airbyte's exception class names, so clients that branch on them keep working. */
const EXCEPTION_CLASS: Partial<Record<ErrorCode, string>> = {
  SLUICE_ERR_NOT_FOUND: 'io.airbyte.commons.server.errors.IdNotFoundKnownException',
  SLUICE_ERR_INVALID_INPUT: 'io.airbyte.commons.server.errors.BadObjectSchemaKnownException',
  SLUICE_ERR_INVALID_JSON: 'io.airbyte.commons.server.errors.InvalidJsonException',
  SLUICE_ERR_INVALID_CONFIG: 'io.airbyte.commons.server.errors.BadObjectSchemaKnownException',
  SLUICE_ERR_INVALID_CATALOG: 'io.airbyte.commons.server.errors.BadObjectSchemaKnownException',
  SLUICE_ERR_INVALID_SCHEDULE: 'io.airbyte.commons.server.errors.BadObjectSchemaKnownException',
  SLUICE_ERR_UNAUTHORIZED: 'io.airbyte.commons.server.errors.UnauthorizedException',
  SLUICE_ERR_SYNC_RUNNING: 'io.airbyte.commons.server.errors.ValueConflictKnownException',
  SLUICE_ERR_CONFLICT: 'io.airbyte.commons.server.errors.ConflictException',
}

/** The Airbyte error body (`KnownExceptionInfo` / `NotFoundKnownExceptionInfo` / `InvalidInputExceptionInfo`). */
export function errorBody(err: SluiceError): Record<string, unknown> {
  const body: Record<string, unknown> = {
    message: err.message,
    exceptionClassName: EXCEPTION_CLASS[err.code] ?? 'io.airbyte.commons.server.errors.KnownException',
    exceptionStack: [],
    code: err.code,
  }
  if (err.id !== undefined) body.id = String(err.id)
  if (err.validationErrors) body.validationErrors = err.validationErrors
  else if (err.httpStatus === 422) body.validationErrors = []
  return body
}

/** Turns a Fastify framework error into a SluiceError; never exposes internals. */
function fromFastifyError(err: FastifyError): SluiceError {
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new SluiceError('SLUICE_ERR_INVALID_INPUT', 'The request body is too large.', { httpStatus: 413 })
  const status = err.statusCode ?? 500
  if (status >= 400 && status < 500) return new SluiceError('SLUICE_ERR_INVALID_INPUT', err.message, { httpStatus: status === 400 ? 422 : status })
  return new SluiceError('SLUICE_ERR_INTERNAL', 'Internal Server Error.', { cause: err })
}

/** Maps every error to Airbyte's bodies: never a stack trace, unknown ids as 404 with `id`. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler(async (error, request, reply) => {
    const err = isSluiceError(error) ? error : fromFastifyError(error as FastifyError)
    if (err.httpStatus >= 500) request.log.error({ err: error, code: err.code }, 'request failed')
    await reply.code(err.httpStatus).type('application/json').send(errorBody(err))
    return reply
  })
  app.setNotFoundHandler(async (request, reply) => {
    const err = new SluiceError('SLUICE_ERR_NOT_FOUND', `No such endpoint: ${request.method} ${request.url.split('?')[0]}.`)
    await reply.code(ERROR_CODES.SLUICE_ERR_NOT_FOUND).send(errorBody(err))
    return reply
  })
}
