import type { JsonSchema } from '../../protocol/index.js'

/** A column as the source reads it. */
export interface PgColumn {
  name: string
  /** `format_type()` text, e.g. `numeric(10,2)`, `timestamp with time zone`, `integer[]`. */
  pgType: string
  /** `pg_type.typname` of the column (of the element for arrays), e.g. `int4`, `timestamptz`. */
  baseType: string
  isArray: boolean
  /** Numeric scale when declared (`numeric(p,s)`), else undefined. */
  numericScale?: number
}

function scalarSchema(baseType: string, numericScale: number | undefined): JsonSchema {
  switch (baseType) {
    case 'bool':
      return { type: 'boolean' }
    case 'int2':
    case 'int4':
    case 'int8':
    case 'oid':
      return { type: 'number', airbyte_type: 'integer' }
    case 'numeric':
      return numericScale === 0 ? { type: 'number', airbyte_type: 'integer' } : { type: 'number' }
    case 'float4':
    case 'float8':
    case 'money':
      return { type: 'number' }
    case 'date':
      return { type: 'string', format: 'date' }
    case 'time':
      return { type: 'string', format: 'time', airbyte_type: 'time_without_timezone' }
    case 'timetz':
      return { type: 'string', format: 'time', airbyte_type: 'time_with_timezone' }
    case 'timestamp':
      return { type: 'string', format: 'date-time', airbyte_type: 'timestamp_without_timezone' }
    case 'timestamptz':
      return { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' }
    default:
      return { type: 'string' }
  }
}

/** Column type to JSON Schema as Airbyte's source-postgres maps it (semantics §4.3). */
export function jsonSchemaOf(col: PgColumn): JsonSchema {
  const scalar = scalarSchema(col.baseType, col.numericScale)
  return col.isArray ? { type: 'array', items: scalar } : scalar
}

