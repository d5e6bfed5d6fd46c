import type { DestinationSyncMode, JsonSchema, SyncMode } from '../protocol/index.js'

/** A problem with a stream's field selection: the config key it is about, the value, a message. */
export interface FieldSelectionProblem {
  field: string
  value: unknown
  message: string
}

/** What a field selection is checked against: the stream's schema and the modes that force fields. */
export interface FieldSelectionContext {
  jsonSchema: JsonSchema
  syncMode: SyncMode
  destinationSyncMode: DestinationSyncMode
  cursorField: readonly string[]
  primaryKey: readonly (readonly string[])[]
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** The top-level properties a stream's schema lists, or undefined when it lists none. */
function schemaProperties(jsonSchema: JsonSchema): Record<string, unknown> | undefined {
  const props = jsonSchema.properties
  return isObject(props) && Object.keys(props).length > 0 ? props : undefined
}

/**
 * The fields a sync must keep whatever the selection says (Airbyte refuses to deselect them):
 * the cursor of an incremental stream and the primary key of a deduped one.
 */
export function forcedFields(ctx: Omit<FieldSelectionContext, 'jsonSchema'>): string[] {
  const out: string[] = []
  if (ctx.syncMode === 'incremental' && ctx.cursorField.length > 0) out.push(ctx.cursorField[0]!)
  if (ctx.destinationSyncMode === 'append_dedup' || ctx.destinationSyncMode === 'overwrite_dedup') {
    for (const path of ctx.primaryKey) if (path.length > 0) out.push(path[0]!)
  }
  return out
}

/**
 * The top-level field names a stream config selects (`fieldSelectionEnabled` with
 * `selectedFields: [{fieldPath: [name]}]`), or undefined when it syncs every field. Entries
 * that are not a one-element path are skipped here; `fieldSelectionProblems` refuses them.
 */
export function selectedFieldNames(config: Record<string, unknown>): string[] | undefined {
  if (config.fieldSelectionEnabled !== true) return undefined
  const list = Array.isArray(config.selectedFields) ? config.selectedFields : []
  const names: string[] = []
  for (const item of list) {
    const path: unknown = isObject(item) ? item.fieldPath : undefined
    if (Array.isArray(path) && path.length === 1 && typeof path[0] === 'string' && !names.includes(path[0])) names.push(path[0])
  }
  return names
}

/**
 * Checks a stream config's field selection against the stream (Airbyte's rules): only
 * top-level fields, each one a property of the stream's schema, and never without the cursor
 * of an incremental sync nor the primary key of a deduped one. Empty when the config syncs
 * every field.
 */
export function fieldSelectionProblems(config: Record<string, unknown>, ctx: FieldSelectionContext): FieldSelectionProblem[] {
  if (config.fieldSelectionEnabled === undefined || config.fieldSelectionEnabled === null || config.fieldSelectionEnabled === false) return []
  if (config.fieldSelectionEnabled !== true) return [{ field: 'fieldSelectionEnabled', value: config.fieldSelectionEnabled, message: 'fieldSelectionEnabled must be a boolean' }]
  if (!Array.isArray(config.selectedFields)) {
    return [{ field: 'selectedFields', value: config.selectedFields, message: 'selectedFields must be a list of {fieldPath: [name]} when fieldSelectionEnabled is true' }]
  }
  const props = schemaProperties(ctx.jsonSchema)
  if (props === undefined) {
    return [{ field: 'fieldSelectionEnabled', value: true, message: 'the stream\'s schema lists no fields to select from; set fieldSelectionEnabled to false' }]
  }
  const problems: FieldSelectionProblem[] = []
  config.selectedFields.forEach((item: unknown, j) => {
    const path: unknown = isObject(item) ? item.fieldPath : undefined
    const field = `selectedFields[${j}].fieldPath`
    if (!Array.isArray(path) || path.length === 0 || !path.every((p) => typeof p === 'string')) {
      problems.push({ field, value: path, message: 'fieldPath must be a non-empty list of strings' })
    } else if (path.length > 1) {
      problems.push({ field, value: path, message: `only top-level fields can be selected, not '${path.join('.')}'` })
    } else if (!Object.prototype.hasOwnProperty.call(props, path[0] as string)) {
      problems.push({ field, value: path, message: `selected field '${String(path[0])}' is not a field of the stream` })
    }
  })
  const selected = new Set(selectedFieldNames(config))
  if (ctx.syncMode === 'incremental' && ctx.cursorField.length > 0 && !selected.has(ctx.cursorField[0]!)) {
    problems.push({ field: 'selectedFields', value: ctx.cursorField, message: `the cursor field '${ctx.cursorField.join('.')}' of an incremental sync cannot be deselected` })
  }
  if (ctx.destinationSyncMode === 'append_dedup' || ctx.destinationSyncMode === 'overwrite_dedup') {
    for (const path of ctx.primaryKey) {
      if (path.length > 0 && !selected.has(path[0]!)) {
        problems.push({ field: 'selectedFields', value: path, message: `the primary key field '${path.join('.')}' cannot be deselected: ${ctx.destinationSyncMode} needs it` })
      }
    }
  }
  return problems
}

/** The stream's schema with only the given top-level properties (and `required` trimmed to match). */
export function projectJsonSchema(jsonSchema: JsonSchema, fields: readonly string[]): JsonSchema {
  const props = isObject(jsonSchema.properties) ? jsonSchema.properties : {}
  const keep = new Set(fields)
  const properties: Record<string, unknown> = {}
  for (const [name, schema] of Object.entries(props)) if (keep.has(name)) properties[name] = schema
  const projected: JsonSchema = { ...jsonSchema, properties }
  if (Array.isArray(jsonSchema.required)) projected.required = jsonSchema.required.filter((r) => typeof r === 'string' && keep.has(r))
  return projected
}
