import { queryRows, type MysqlConnection } from './mysql-client.js'
import { valueKindOf, type MysqlColumn } from './mysql-types.js'

/** A table or view of the configured database. */
export interface MysqlRelation {
  name: string
  isView: boolean
  columns: MysqlColumn[]
  /** Primary key column names in key order; empty for views and tables without one. */
  primaryKey: string[]
  /** information_schema's row estimate (InnoDB statistics), 0 when unknown. */
  rowEstimate: number
  byteEstimate: number
}

interface ColumnRow {
  table_name: string
  column_name: string
  data_type: string
  column_type: string
  numeric_scale: number | string | null
}

/**
 * The tables and views of `database` the user can see, with columns and primary keys (one
 * table when `only` is given). information_schema lists only what the user has privileges on.
 */
export async function loadRelations(conn: MysqlConnection, database: string, only?: string): Promise<MysqlRelation[]> {
  const filter = only === undefined ? '' : ' AND TABLE_NAME = ?'
  const params = only === undefined ? [database] : [database, only]
  const tables = await queryRows<{ table_name: string; table_type: string; table_rows: number | string | null; data_length: number | string | null }>(
    conn,
    `SELECT TABLE_NAME AS table_name, TABLE_TYPE AS table_type, TABLE_ROWS AS table_rows, DATA_LENGTH AS data_length
     FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?${filter} ORDER BY TABLE_NAME`,
    params,
  )
  const columns = await queryRows<ColumnRow>(
    conn,
    `SELECT TABLE_NAME AS table_name, COLUMN_NAME AS column_name, DATA_TYPE AS data_type, COLUMN_TYPE AS column_type, NUMERIC_SCALE AS numeric_scale
     FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ?${filter} ORDER BY TABLE_NAME, ORDINAL_POSITION`,
    params,
  )
  const keys = await queryRows<{ table_name: string; column_name: string }>(
    conn,
    `SELECT TABLE_NAME AS table_name, COLUMN_NAME AS column_name FROM information_schema.KEY_COLUMN_USAGE
     WHERE TABLE_SCHEMA = ? AND CONSTRAINT_NAME = 'PRIMARY'${filter} ORDER BY TABLE_NAME, ORDINAL_POSITION`,
    params,
  )
  const byTable = new Map<string, MysqlRelation>()
  for (const t of tables) {
    byTable.set(t.table_name, {
      name: t.table_name,
      isView: t.table_type === 'VIEW',
      columns: [],
      primaryKey: [],
      rowEstimate: Number(t.table_rows ?? 0),
      byteEstimate: Number(t.data_length ?? 0),
    })
  }
  for (const c of columns) {
    const scale = c.numeric_scale === null ? null : Number(c.numeric_scale)
    byTable.get(c.table_name)?.columns.push({
      name: c.column_name,
      dataType: c.data_type,
      columnType: c.column_type,
      numericScale: scale,
      kind: valueKindOf(c.data_type, c.column_type, scale),
    })
  }
  for (const k of keys) byTable.get(k.table_name)?.primaryKey.push(k.column_name)
  return [...byTable.values()]
}

/** Quotes a MySQL identifier (backticks doubled), safe for any name including unicode. */
export function quoteIdent(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``
}
