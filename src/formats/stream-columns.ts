import type { JsonSchema } from '../protocol/index.js'

/** The typed column kinds of the file formats (Airbyte's JSON schema -> Avro/Parquet mapping). */
export const COLUMN_KINDS = ['integer', 'number', 'decimal', 'boolean', 'string', 'date', 'timestamp_tz', 'timestamp', 'time', 'json'] as const
export type ColumnKind = (typeof COLUMN_KINDS)[number]

/** One top-level property of a stream's schema, as a typed file column. */
export interface DataColumn {
  name: string
  kind: ColumnKind
  /** For decimals. */
  precision?: number
  scale?: number
}

/** The Airbyte metadata columns of every file, in Airbyte's code order (semantics §5.4). */
export const AIRBYTE_COLUMNS = ['_airbyte_raw_id', '_airbyte_extracted_at', '_airbyte_meta', '_airbyte_generation_id'] as const

/** The non-null JSON types of a property (`type` may be a list including "null"). */
function jsonTypes(schema: Record<string, unknown>): string[] {
  const t = schema.type
  if (typeof t === 'string') return t === 'null' ? [] : [t]
  if (Array.isArray(t)) return t.filter((x): x is string => typeof x === 'string' && x !== 'null')
  for (const key of ['oneOf', 'anyOf'] as const) {
    const options = schema[key]
    if (Array.isArray(options)) {
      const types = options.flatMap((o) => (o && typeof o === 'object' ? jsonTypes(o as Record<string, unknown>) : []))
      if (types.length === 1) return types
      if (types.length > 1) return ['union']
    }
  }
  return []
}

/** Maps one property schema to a column kind; anything nested or ambiguous is JSON text. */
export function columnKind(schema: unknown): Pick<DataColumn, 'kind' | 'precision' | 'scale'> {
  if (!schema || typeof schema !== 'object') return { kind: 'json' }
  const s = schema as Record<string, unknown>
  const types = jsonTypes(s)
  if (types.length !== 1) return { kind: 'json' }
  const airbyteType = typeof s.airbyte_type === 'string' ? s.airbyte_type : undefined
  switch (types[0]) {
    case 'boolean':
      return { kind: 'boolean' }
    case 'integer':
      return { kind: 'integer' }
    case 'number': {
      if (airbyteType === 'integer') return { kind: 'integer' }
      const precision = typeof s.precision === 'number' ? s.precision : undefined
      const scale = typeof s.scale === 'number' ? s.scale : undefined
      // A decimal only when the schema states both precision and scale within Decimal128's range.
      if (precision !== undefined && scale !== undefined && precision >= 1 && precision <= 38 && scale >= 0 && scale <= precision) {
        return { kind: 'decimal', precision, scale }
      }
      return { kind: 'number' }
    }
    case 'string': {
      if (s.format === 'date') return { kind: 'date' }
      if (s.format === 'time' || airbyteType === 'time_with_timezone' || airbyteType === 'time_without_timezone') return { kind: 'time' }
      if (s.format === 'date-time' || airbyteType?.startsWith('timestamp')) {
        return { kind: airbyteType === 'timestamp_without_timezone' ? 'timestamp' : 'timestamp_tz' }
      }
      return { kind: 'string' }
    }
    default:
      return { kind: 'json' }
  }
}

/** Top-level properties of a stream schema as typed columns, in schema order. */
export function dataColumns(schema: JsonSchema): DataColumn[] {
  const properties = schema.properties
  if (!properties || typeof properties !== 'object') return []
  return Object.entries(properties as Record<string, unknown>).map(([name, p]) => ({ name, ...columnKind(p) }))
}
