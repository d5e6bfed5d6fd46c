import type { PostgresSourceConfig } from './postgres-config.js'
import type { PgClient } from './pg-client.js'
import type { PgColumn } from './pg-source-types.js'
import { streamKey } from '../../protocol/index.js'
import { quoteIdent } from './pg-identifiers.js'

/** A readable table, view or foreign table with its columns and primary key, as discover sees it. */
export interface RelationInfo {
  schema: string
  name: string
  /** `pg_class.relkind`: `r` table, `p` partitioned table, `v` view, `m` materialized view, `f` foreign table. */
  relkind: string
  columns: PgColumn[]
  primaryKey: string[]
}

/** How a column is selected: `expr` is its value expression, `sql` the select-list item. */
export interface SelectedColumn {
  expr: string
  sql: string
  /** The column as read (money is read as numeric). */
  column: PgColumn
}

const COLUMNS_SQL = `
SELECT n.nspname AS schema, c.relname AS name, c.relkind AS relkind, a.attname AS column,
       format_type(a.atttypid, a.atttypmod) AS pg_type,
       COALESCE(et.typname, bt.typname, t.typname) AS base_type,
       (t.typcategory = 'A') AS is_array,
       CASE WHEN COALESCE(et.typname, t.typname) = 'numeric' AND a.atttypmod > 4
            THEN (a.atttypmod - 4) & 65535 END AS numeric_scale
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type et ON t.typcategory = 'A' AND et.oid = t.typelem
LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
WHERE n.nspname = ANY($1::text[])
  AND ($2::text IS NULL OR c.relname = $2)
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND NOT c.relispartition
  AND has_table_privilege(c.oid, 'SELECT')
ORDER BY n.nspname, c.relname, a.attnum`

const PK_SQL = `
SELECT n.nspname AS schema, c.relname AS name, a.attname AS column
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey)
WHERE i.indisprimary AND n.nspname = ANY($1::text[]) AND ($2::text IS NULL OR c.relname = $2)
ORDER BY n.nspname, c.relname, array_position(i.indkey::int2[], a.attnum)`

/** The readable relations of `schemas` (or the one named `table`), columns in attribute order. */
export async function loadRelations(client: PgClient, schemas: string[], table?: string): Promise<RelationInfo[]> {
  const cols = await client.query<{
    schema: string
    name: string
    relkind: string
    column: string
    pg_type: string
    base_type: string
    is_array: boolean
    numeric_scale: number | null
  }>(COLUMNS_SQL, [schemas, table ?? null])
  const pks = await client.query<{ schema: string; name: string; column: string }>(PK_SQL, [schemas, table ?? null])
  const byKey = new Map<string, RelationInfo>()
  for (const r of cols.rows) {
    const key = streamKey({ namespace: r.schema, name: r.name })
    let rel = byKey.get(key)
    if (!rel) {
      rel = { schema: r.schema, name: r.name, relkind: r.relkind, columns: [], primaryKey: [] }
      byKey.set(key, rel)
    }
    const col: PgColumn = { name: r.column, pgType: r.pg_type, baseType: r.base_type, isArray: r.is_array }
    if (r.numeric_scale !== null) col.numericScale = r.numeric_scale
    rel.columns.push(col)
  }
  for (const r of pks.rows) byKey.get(streamKey({ namespace: r.schema, name: r.name }))?.primaryKey.push(r.column)
  return [...byKey.values()]
}

/** The schemas the source reads (`public` when none are configured). */
export function schemasOf(config: PostgresSourceConfig): string[] {
  const s = config.schemas
  return Array.isArray(s) && s.length > 0 ? s : ['public']
}

/**
 * How a column is selected. Money is read as numeric so its text does not depend on the
 * server's lc_monetary.
 */
export function selectExpression(col: PgColumn): SelectedColumn {
  if (col.baseType === 'money') {
    const pgType = col.isArray ? 'numeric[]' : 'numeric'
    const expr = `${quoteIdent(col.name)}::${pgType}`
    return { expr, sql: `${expr} AS ${quoteIdent(col.name)}`, column: { ...col, pgType, baseType: 'numeric' } }
  }
  return { expr: quoteIdent(col.name), sql: quoteIdent(col.name), column: col }
}
