import type { PostgresMigration } from './migration.js'

/** The last schema check of each connection (when it ran, what it left pending). */
export const migration: PostgresMigration = {
  version: 8,
  name: 'schema-checks',
  sql: `
CREATE TABLE sluice_schema_checks (
  connection_id text PRIMARY KEY,
  checked_at bigint NOT NULL,
  doc jsonb NOT NULL
);
`,
}
