import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'
import type { JsonSchema } from '../protocol/index.js'
import { SluiceError, type ValidationError } from '../errors.js'

// ajv-formats is CommonJS: under NodeNext its default import is the module object.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv

/** One Ajv for request bodies (our schemas, strict) ... */
const requestAjv = addFormats(new Ajv({ allErrors: true, strict: false }))
/** ... and one for connector specs, which carry Airbyte keywords (airbyte_secret, order, ...). */
// logger: false: a spec's unknown format must not print to the console (logs are JSON on stderr).
const specAjv = addFormats(new Ajv({ allErrors: true, strict: false, validateSchema: false, logger: false }))

const requestValidators = new WeakMap<object, ValidateFunction>()
const specValidators = new WeakMap<object, ValidateFunction>()

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * Rewrites enum values to their canonical spelling when they match case-insensitively (the
 * Airbyte server accepts `FULL_REFRESH` for `full_refresh`). Walks the schema and data together.
 */
export function normalizeEnums(schema: JsonSchema, data: unknown): unknown {
  if (typeof data === 'string' && Array.isArray(schema.enum)) {
    const hit = schema.enum.find((e): e is string => typeof e === 'string' && e.toLowerCase() === data.toLowerCase())
    return hit ?? data
  }
  if (Array.isArray(data) && isObject(schema.items)) {
    const items = schema.items
    return data.map((d) => normalizeEnums(items, d))
  }
  if (isObject(data)) {
    const out: Record<string, unknown> = { ...data }
    const props = isObject(schema.properties) ? schema.properties : {}
    for (const [key, sub] of Object.entries(props)) {
      if (key in out && isObject(sub)) out[key] = normalizeEnums(sub, out[key])
    }
    for (const key of ['oneOf', 'anyOf', 'allOf'] as const) {
      const branches = schema[key]
      if (!Array.isArray(branches)) continue
      for (const b of branches) if (isObject(b)) Object.assign(out, normalizeEnums(b, out) as object)
    }
    return out
  }
  return data
}

/** Airbyte's `InvalidInputProperty` items from Ajv errors: the path names the field. */
export function toValidationErrors(errors: readonly ErrorObject[], data: unknown, prefix = ''): ValidationError[] {
  return errors.map((e) => {
    const segments = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    if (e.keyword === 'required') segments.push(String((e.params as { missingProperty: string }).missingProperty))
    if (e.keyword === 'additionalProperties') segments.push(String((e.params as { additionalProperty: string }).additionalProperty))
    const propertyPath = [prefix, ...segments].filter((s) => s !== '').join('.')
    const value = e.keyword === 'required' ? undefined : valueAtPointer(data, e.instancePath)
    return { propertyPath, invalidValue: value === undefined ? 'null' : displayValue(value), message: e.message ?? 'is invalid' }
  })
}

function displayValue(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return text.length > 200 ? `${text.slice(0, 200)}...` : text
}

function valueAtPointer(data: unknown, pointer: string): unknown {
  let cur = data
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    if (!isObject(cur) && !Array.isArray(cur)) return undefined
    cur = (cur as Record<string, unknown>)[key]
  }
  return cur
}

/**
 * Validates a request body against its schema (after case-insensitive enum normalisation).
 * A missing body counts as `{}`. Unknown fields are kept and ignored by the handlers.
 * Throws SLUICE_ERR_INVALID_INPUT (422) with `validationErrors`.
 */
export function validateRequest<T>(schema: JsonSchema, body: unknown): T {
  const data = normalizeEnums(schema, body ?? {})
  let validate = requestValidators.get(schema)
  if (!validate) {
    validate = requestAjv.compile(schema)
    requestValidators.set(schema, validate)
  }
  if (!validate(data)) {
    const validationErrors = toValidationErrors(validate.errors ?? [], data)
    throw new SluiceError('SLUICE_ERR_INVALID_INPUT', `Some properties contained invalid input: ${validationErrors.map((v) => `${v.propertyPath || '(body)'} ${v.message}`).join('; ')}.`, {
      validationErrors,
    })
  }
  return data as T
}

/**
 * Validates a connector configuration against the connector's spec (Ajv, allErrors, formats).
 * Throws SLUICE_ERR_INVALID_CONFIG (422) naming each bad field; values of invalid secret fields
 * are never echoed (invalidValue is left as "null" for them by the caller's masking).
 */
export function validateConnectorConfig(spec: JsonSchema, config: unknown, secretFieldPaths: ReadonlySet<string> = new Set()): void {
  let validate = specValidators.get(spec)
  if (!validate) {
    validate = specAjv.compile(spec)
    specValidators.set(spec, validate)
  }
  if (validate(config)) return
  const validationErrors = toValidationErrors(validate.errors ?? [], config, 'connectionConfiguration').map((v) =>
    secretFieldPaths.has(v.propertyPath) ? { ...v, invalidValue: '**********' } : v,
  )
  const fields = validationErrors.map((v) => `${v.propertyPath.replace(/^connectionConfiguration\.?/, '') || '(root)'} ${v.message}`)
  throw new SluiceError('SLUICE_ERR_INVALID_CONFIG', `The provided configuration does not fulfill the specification. Errors: ${fields.join('; ')}.`, {
    validationErrors,
  })
}
