import type { SqliteMigration } from './migration.js'

/** The last schema check of each connection (when it ran, what it left pending); gone with the connection. */
export const schemaChecksMigration: SqliteMigration = {
  version: 8,
  name: 'schema-checks',
  sql: `
CREATE TABLE schema_checks (
  connection_id TEXT PRIMARY KEY REFERENCES connections (connection_id) ON DELETE CASCADE,
  checked_at INTEGER NOT NULL,
  doc TEXT NOT NULL
);
`,
}
