import type { JsonSchema, PgCopyText } from '../../protocol/index.js'

/** Airbyte's internal column types (semantics §3.3). */
export type InternalType =
  | 'STRING'
  | 'NUMBER'
  | 'INTEGER'
  | 'BOOLEAN'
  | 'DATE'
  | 'TIME_WITHOUT_TIMEZONE'
  | 'TIME_WITH_TIMEZONE'
  | 'TIMESTAMP_WITHOUT_TIMEZONE'
  | 'TIMESTAMP_WITH_TIMEZONE'
  | 'STRUCT'
  | 'ARRAY'
  | 'UNKNOWN'

const UNION_ORDER: InternalType[] = [
  'STRING',
  'DATE',
  'TIME_WITHOUT_TIMEZONE',
  'TIME_WITH_TIMEZONE',
  'TIMESTAMP_WITHOUT_TIMEZONE',
  'TIMESTAMP_WITH_TIMEZONE',
  'NUMBER',
  'INTEGER',
  'BOOLEAN',
  'UNKNOWN',
]

function fromSingle(type: string, schema: JsonSchema): InternalType {
  switch (type) {
    case 'boolean':
      return 'BOOLEAN'
    case 'integer':
      return 'INTEGER'
    case 'number':
      return schema.airbyte_type === 'integer' ? 'INTEGER' : 'NUMBER'
    case 'string':
      switch (schema.format) {
        case 'date':
          return 'DATE'
        case 'time':
          if (schema.airbyte_type === 'time_without_timezone') return 'TIME_WITHOUT_TIMEZONE'
          if (schema.airbyte_type === 'time_with_timezone') return 'TIME_WITH_TIMEZONE'
          return 'UNKNOWN'
        case 'date-time':
          return schema.airbyte_type === 'timestamp_without_timezone' ? 'TIMESTAMP_WITHOUT_TIMEZONE' : 'TIMESTAMP_WITH_TIMEZONE'
        default:
          return 'STRING'
      }
    case 'object':
      return 'STRUCT'
    case 'array':
      return 'ARRAY'
    default:
      return 'UNKNOWN'
  }
}

/** A property's JSON schema to Airbyte's internal type, unions resolved as Airbyte does. */
export function internalTypeOf(schema: JsonSchema | undefined): InternalType {
  if (!schema || typeof schema !== 'object') return 'UNKNOWN'
  const t = schema.type
  if (typeof t === 'string') return fromSingle(t, schema)
  let options: InternalType[] = []
  if (Array.isArray(t)) options = t.filter((x) => x !== 'null').map((x) => fromSingle(String(x), schema))
  else if (Array.isArray(schema.oneOf) || Array.isArray(schema.anyOf)) {
    const subs = (schema.oneOf ?? schema.anyOf) as JsonSchema[]
    options = subs.filter((s) => s.type !== 'null').map((s) => internalTypeOf(s))
  } else if (schema.properties) return 'STRUCT'
  else if (schema.items) return 'ARRAY'
  if (options.length === 0) return 'UNKNOWN'
  if (options.length === 1) return options[0]!
  if (options.includes('ARRAY')) return 'ARRAY'
  if (options.includes('STRUCT')) return 'STRUCT'
  return UNION_ORDER.find((u) => options.includes(u)) ?? 'UNKNOWN'
}

/** Postgres column type of an internal type, spelled as `format_type()` prints it. */
export function pgTypeOf(type: InternalType, unconstrainedNumber: boolean): string {
  switch (type) {
    case 'STRING':
      return 'character varying'
    case 'NUMBER':
      return unconstrainedNumber ? 'numeric' : 'numeric(38,9)'
    case 'INTEGER':
      return 'bigint'
    case 'BOOLEAN':
      return 'boolean'
    case 'DATE':
      return 'date'
    case 'TIME_WITHOUT_TIMEZONE':
      return 'time without time zone'
    case 'TIME_WITH_TIMEZONE':
      return 'time with time zone'
    case 'TIMESTAMP_WITHOUT_TIMEZONE':
      return 'timestamp without time zone'
    case 'TIMESTAMP_WITH_TIMEZONE':
      return 'timestamp with time zone'
    case 'STRUCT':
    case 'ARRAY':
    case 'UNKNOWN':
      return 'jsonb'
  }
}

const BUILTIN_ELEMENT_TYPES = new Set([
  'smallint',
  'integer',
  'bigint',
  'numeric',
  'real',
  'double precision',
  'boolean',
  'text',
  'character varying',
  'character',
  'date',
  'time without time zone',
  'time with time zone',
  'timestamp without time zone',
  'timestamp with time zone',
  'interval',
  'uuid',
  'json',
  'jsonb',
  'bytea',
  'inet',
  'cidr',
  'macaddr',
  'oid',
])

/**
 * The array type to parse a source array's text with in the destination: the source's own
 * type when it is built in, else `text[]` (user types such as enums may not exist here).
 */
export function arrayCastType(sourcePgType: string): string {
  const base = sourcePgType.replace(/(\[\])+$/, '').replace(/\(.*\)/, '').trim()
  const dims = sourcePgType.match(/(\[\])+$/)?.[0] ?? '[]'
  return BUILTIN_ELEMENT_TYPES.has(base) ? `${sourcePgType.replace(/(\[\])+$/, '')}${dims}` : `text${dims}`
}

/** Target types whose input function accepts the COPY text of these source types unchanged. */
const DIRECT_SOURCES: Record<string, ReadonlySet<string>> = {
  bigint: new Set(['smallint', 'integer', 'bigint']),
  numeric: new Set(['smallint', 'integer', 'bigint', 'numeric', 'real', 'double precision']),
  boolean: new Set(['boolean']),
  date: new Set(['date']),
  'time without time zone': new Set(['time without time zone']),
  'time with time zone': new Set(['time with time zone']),
  'timestamp without time zone': new Set(['timestamp without time zone']),
  'timestamp with time zone': new Set(['timestamp with time zone']),
}

/** `numeric(10,2)` -> `numeric`, `timestamp(3) with time zone` -> `timestamp with time zone`. */
export function baseTypeName(pgType: string): string {
  return pgType.replace(/\([^)]*\)/g, '').replace(/\s+/g, ' ').trim()
}

/** True when every column of the batch can be COPYed into its final column as is. */
export function directCopyAllowed(copyText: Pick<PgCopyText, 'columns' | 'pgTypes'>, known: ReadonlyMap<string, { pgType: string; internal: InternalType }>): boolean {
  if (copyText.columns.length === 0) return false
  return copyText.columns.every((name, i) => {
    const col = known.get(name)
    const source = copyText.pgTypes[i]
    if (!col || source === undefined || source.endsWith('[]')) return false
    const target = baseTypeName(col.pgType)
    if (target === 'character varying') return true
    if (target === 'jsonb') return col.internal === 'UNKNOWN' && (source === 'json' || source === 'jsonb')
    return DIRECT_SOURCES[target]?.has(baseTypeName(source)) ?? false
  })
}
