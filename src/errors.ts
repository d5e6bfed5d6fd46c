/** Airbyte's failure types: they drive retries (only transient errors are retried). */
export const FAILURE_TYPES = ['config_error', 'system_error', 'transient_error', 'manual_cancellation'] as const
export type FailureType = (typeof FAILURE_TYPES)[number]

/** The catalogue of error codes; each has a line in docs/errors.md. */
export const ERROR_CODES = {
  SLUICE_ERR_NOT_FOUND: 404,
  SLUICE_ERR_INVALID_INPUT: 422,
  SLUICE_ERR_INVALID_JSON: 422,
  SLUICE_ERR_INVALID_CONFIG: 422,
  SLUICE_ERR_INVALID_CATALOG: 422,
  SLUICE_ERR_INVALID_SCHEDULE: 422,
  SLUICE_ERR_UNAUTHORIZED: 401,
  SLUICE_ERR_SYNC_RUNNING: 409,
  SLUICE_ERR_CONFLICT: 409,
  SLUICE_ERR_CONNECTION_INACTIVE: 422,
  SLUICE_ERR_UNSUPPORTED: 422,
  SLUICE_ERR_CONNECTOR_CONFIG: 422,
  SLUICE_ERR_CONNECTOR_SYSTEM: 500,
  SLUICE_ERR_CONNECTOR_TRANSIENT: 503,
  SLUICE_ERR_CONNECTOR_PROTOCOL: 502,
  SLUICE_ERR_CONNECTOR_LAUNCH: 500,
  SLUICE_ERR_CANCELLED: 499,
  SLUICE_ERR_STORE: 500,
  SLUICE_ERR_STORE_UNAVAILABLE: 503,
  SLUICE_ERR_INTERNAL: 500,
  SLUICE_ERR_SECRET_DECRYPT: 500,
  SLUICE_ERR_DATA_DIR_LOCKED: 409,
  SLUICE_ERR_TOO_MANY_ATTEMPTS: 429,
} as const
export type ErrorCode = keyof typeof ERROR_CODES

/** One field-level problem, in Airbyte's `InvalidInputProperty` shape. */
export interface ValidationError {
  propertyPath: string
  invalidValue: string
  message: string
}

export interface SluiceErrorOptions extends ErrorOptions {
  failureType?: FailureType
  httpStatus?: number
  /** For 404s: the id that was not found. */
  id?: string | number
  validationErrors?: ValidationError[]
}

/**
 * The one error class of sluice. `code` is stable and greppable; `failureType` tells the worker
 * whether to retry; `httpStatus` tells the API how to answer.
 */
export class SluiceError extends Error {
  readonly code: ErrorCode
  readonly failureType: FailureType
  readonly httpStatus: number
  readonly id: string | number | undefined
  readonly validationErrors: ValidationError[] | undefined

  constructor(code: ErrorCode, message: string, options: SluiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'SluiceError'
    this.code = code
    this.httpStatus = options.httpStatus ?? ERROR_CODES[code]
    this.failureType = options.failureType ?? defaultFailureType(code)
    this.id = options.id
    this.validationErrors = options.validationErrors
  }
}

function defaultFailureType(code: ErrorCode): FailureType {
  switch (code) {
    case 'SLUICE_ERR_CONNECTOR_TRANSIENT':
    case 'SLUICE_ERR_STORE_UNAVAILABLE':
      return 'transient_error'
    case 'SLUICE_ERR_CANCELLED':
      return 'manual_cancellation'
    case 'SLUICE_ERR_CONNECTOR_SYSTEM':
    case 'SLUICE_ERR_CONNECTOR_PROTOCOL':
    case 'SLUICE_ERR_CONNECTOR_LAUNCH':
    case 'SLUICE_ERR_STORE':
    case 'SLUICE_ERR_INTERNAL':
    case 'SLUICE_ERR_SECRET_DECRYPT':
      return 'system_error'
    default:
      return 'config_error'
  }
}

export function isSluiceError(e: unknown): e is SluiceError {
  return e instanceof SluiceError
}

/** A connector error the user must fix (wrong password, missing table...): never retried. */
export function configError(message: string, cause?: unknown): SluiceError {
  return new SluiceError('SLUICE_ERR_CONNECTOR_CONFIG', message, { cause })
}

/** A connector error that may pass on retry (network blip, 5xx, deadlock...). */
export function transientError(message: string, cause?: unknown): SluiceError {
  return new SluiceError('SLUICE_ERR_CONNECTOR_TRANSIENT', message, { cause })
}

/** A connector error that is a bug or an unexpected state. */
export function systemError(message: string, cause?: unknown): SluiceError {
  return new SluiceError('SLUICE_ERR_CONNECTOR_SYSTEM', message, { cause })
}

export function notFound(type: string, id: string | number): SluiceError {
  return new SluiceError('SLUICE_ERR_NOT_FOUND', `Could not find configuration for ${type}: ${id}.`, { id })
}

export function cancelledError(): SluiceError {
  return new SluiceError('SLUICE_ERR_CANCELLED', 'The job was cancelled.')
}

/** Throws the cancellation error when the signal is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw cancelledError()
}
