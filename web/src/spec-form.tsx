import Form from '@rjsf/core'
import type { ErrorSchema, RJSFSchema, UiSchema } from '@rjsf/utils'
import validator from '@rjsf/validator-ajv8'
import type { ReactNode } from 'react'
import type { FieldError } from './api.js'

type Schema = Record<string, any>

/** The position of a property: its group (Airbyte's `group`, in `groups` order), then `order`. */
function sortKey(prop: Schema, index: number, groups: string[]): [number, number, number] {
  const g = typeof prop.group === 'string' ? groups.indexOf(prop.group) : -1
  return [g < 0 ? groups.length : g, typeof prop.order === 'number' ? prop.order : Number.MAX_SAFE_INTEGER, index]
}

function mergeUi(into: UiSchema, from: UiSchema): void {
  for (const [k, v] of Object.entries(from)) {
    if (k === 'ui:order') {
      const order = (into['ui:order'] as string[] | undefined) ?? []
      into['ui:order'] = [...order.filter((p) => p !== '*'), ...(v as string[]).filter((p) => p !== '*' && !order.includes(p)), '*']
    } else if (typeof v === 'object' && v !== null && typeof into[k] === 'object' && into[k] !== null) {
      mergeUi(into[k] as UiSchema, v as UiSchema)
    } else {
      into[k] = v
    }
  }
}

/**
 * rjsf's uiSchema for an Airbyte connector spec: `order` and `group` become `ui:order`,
 * `airbyte_secret` a password input, `airbyte_hidden` and `const` discriminators hidden,
 * `multiline` a text area. The options of a oneOf share one uiSchema node in rjsf, so theirs
 * are merged.
 */
export function airbyteUiSchema(schema: Schema, groups: string[] = []): UiSchema {
  const ui: UiSchema = {}
  if (schema.airbyte_secret === true) ui['ui:widget'] = 'password'
  if (schema.airbyte_hidden === true || schema.const !== undefined) ui['ui:widget'] = 'hidden'
  if (schema.multiline === true) ui['ui:widget'] = 'textarea'
  // Extra keys a spec allows (additionalProperties) are kept as they are, not offered as fields to add.
  if (schema.type === 'object' || schema.properties) ui['ui:options'] = { expandable: false }
  if (schema.properties && typeof schema.properties === 'object') {
    const entries = Object.entries(schema.properties as Record<string, Schema>)
    for (const [name, prop] of entries) ui[name] = airbyteUiSchema(prop)
    const keyed = entries.map(([name, prop], i) => ({ name, key: sortKey(prop, i, groups) }))
    keyed.sort((a, b) => a.key[0] - b.key[0] || a.key[1] - b.key[1] || a.key[2] - b.key[2])
    ui['ui:order'] = [...keyed.map((k) => k.name), '*']
  }
  for (const key of ['oneOf', 'anyOf'] as const) {
    if (Array.isArray(schema[key])) for (const option of schema[key] as Schema[]) mergeUi(ui, airbyteUiSchema(option))
  }
  if (schema.items && typeof schema.items === 'object' && !Array.isArray(schema.items)) ui.items = airbyteUiSchema(schema.items as Schema)
  return ui
}

/**
 * The server's 422 `validationErrors` as rjsf's error tree: `connectionConfiguration.format.codec`
 * puts the message under the `codec` field of `format`. Errors that name no field of the form
 * are returned apart, to show above it.
 */
export function serverErrorSchema(errors: FieldError[], prefix = 'connectionConfiguration'): { tree: ErrorSchema; other: string[] } {
  const tree: Record<string, any> = {}
  const other: string[] = []
  for (const e of errors) {
    if (!e.propertyPath.startsWith(`${prefix}.`)) {
      other.push(`${e.propertyPath || 'request'}: ${e.message}`)
      continue
    }
    let node = tree
    for (const part of e.propertyPath.slice(prefix.length + 1).split('.')) node = node[part] ??= {}
    ;(node.__errors ??= []).push(e.message)
  }
  return { tree: tree as ErrorSchema, other }
}

export interface SpecFormProps {
  /** The connector's connectionSpecification. */
  spec: Schema
  formData: Record<string, unknown>
  onChange(data: Record<string, unknown>): void
  onSubmit(data: Record<string, unknown>): void
  /** Field errors from the server's last 422. */
  serverErrors: ErrorSchema | undefined
  disabled?: boolean
  /** The buttons (rjsf renders them inside the <form>; a submit button submits). */
  children: ReactNode
}

/**
 * A connector configuration form generated from its spec. Validation is the server's (the
 * same Ajv rules and the connector's own checks), shown at each field; the browser's built-in
 * validation is off so that every message comes from one place.
 */
export function SpecForm({ spec, formData, onChange, onSubmit, serverErrors, disabled, children }: SpecFormProps) {
  const groups = Array.isArray(spec.groups) ? (spec.groups as Array<{ id: string }>).map((g) => g.id) : []
  const { $schema: _ignored, title: _title, description: _description, ...schema } = spec
  return (
    <Form
      schema={schema as RJSFSchema}
      uiSchema={{ ...airbyteUiSchema(schema, groups), 'ui:submitButtonOptions': { norender: true } }}
      validator={validator}
      formData={formData}
      onChange={(e) => onChange((e.formData ?? {}) as Record<string, unknown>)}
      onSubmit={(e) => onSubmit((e.formData ?? {}) as Record<string, unknown>)}
      {...(serverErrors ? { extraErrors: serverErrors } : {})}
      noValidate
      noHtml5Validate
      showErrorList={false}
      disabled={disabled ?? false}
      experimental_defaultFormStateBehavior={{ constAsDefaults: 'always', emptyObjectFields: 'populateAllDefaults' }}
    >
      {children}
    </Form>
  )
}
