import type { FastifyError, FastifyInstance } from 'fastify'
import { isSluiceError, SluiceError } from '../../errors.js'

/** The problem types Airbyte's Public API answers with (RFC 9457 documents, `type` + `title`). */
const PROBLEM_TYPES: Record<number, string> = {
  400: 'bad-request',
  401: 'invalid-api-key',
  403: 'forbidden',
  404: 'resource-not-found',
  409: 'state-conflict',
  413: 'bad-request',
  422: 'unprocessable-entity',
  423: 'try-again-later',
  429: 'try-again-later',
  503: 'try-again-later',
}

const PROBLEM_BASE = 'https://reference.airbyte.com/reference/errors'

/** An RFC 9457 problem document in Airbyte's shape. */
export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  data?: Record<string, unknown>
}

/**
 * The HTTP status of an error on the Public API: malformed requests (bad JSON, a body or query
 * parameter of the wrong shape) are 400 there, where the Config API answers 422.
 */
export function problemStatus(err: SluiceError): number {
  return err.code === 'SLUICE_ERR_INVALID_INPUT' || err.code === 'SLUICE_ERR_INVALID_JSON' ? (err.httpStatus === 413 ? 413 : 400) : err.httpStatus
}

/** The problem document of an error: never a stack trace; the fields at fault in `detail` and `data.validationErrors`. */
export function toProblem(err: SluiceError): Problem {
  const status = problemStatus(err)
  const title = PROBLEM_TYPES[status] ?? (status >= 500 ? 'unexpected-problem' : 'bad-request')
  const data: Record<string, unknown> = { code: err.code }
  if (err.id !== undefined) data.id = String(err.id)
  if (err.validationErrors && err.validationErrors.length > 0) data.validationErrors = err.validationErrors
  return { type: `${PROBLEM_BASE}#${title}`, title, status, detail: err.message, data }
}

function fromFastifyError(err: FastifyError): SluiceError {
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new SluiceError('SLUICE_ERR_INVALID_INPUT', 'The request body is too large.', { httpStatus: 413 })
  const status = err.statusCode ?? 500
  if (status >= 400 && status < 500) return new SluiceError('SLUICE_ERR_INVALID_INPUT', err.message)
  return new SluiceError('SLUICE_ERR_INTERNAL', 'Internal Server Error.', { cause: err })
}

/**
 * Scoped to the Public API's plugin: every error (auth, validation, unknown ids, unknown paths
 * under the prefix) is answered as `application/problem+json`.
 */
export function installProblemHandler(scope: FastifyInstance): void {
  scope.setErrorHandler(async (error, request, reply) => {
    const err = isSluiceError(error) ? error : fromFastifyError(error as FastifyError)
    if (err.httpStatus >= 500) request.log.error({ err: error, code: err.code }, 'request failed')
    const problem = toProblem(err)
    await reply.code(problem.status).type('application/problem+json').send(JSON.stringify(problem))
    return reply
  })
  scope.setNotFoundHandler(async (request, reply) => {
    const problem = toProblem(new SluiceError('SLUICE_ERR_NOT_FOUND', `No such endpoint: ${request.method} ${request.url.split('?')[0]}.`))
    await reply.code(404).type('application/problem+json').send(JSON.stringify(problem))
    return reply
  })
}
