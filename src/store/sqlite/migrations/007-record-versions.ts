import type { SqliteMigration } from './migration.js'

/** A version per source, destination and connection: writes compare and set it (no lost updates). */
export const recordVersionsMigration: SqliteMigration = {
  version: 7,
  name: 'record-versions',
  sql: `
ALTER TABLE actors ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE connections ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
`,
}
