import type { PostgresMigration } from './migration.js'

/** A version per source, destination and connection: writes compare and set it (no lost updates). */
export const migration: PostgresMigration = {
  version: 7,
  name: 'record-versions',
  sql: `
ALTER TABLE sluice_actors ADD COLUMN version integer NOT NULL DEFAULT 0;
ALTER TABLE sluice_connections ADD COLUMN version integer NOT NULL DEFAULT 0;
`,
}
