import type { SqliteMigration } from './migration.js'

/** The refresh mode (truncate / merge) of `connections/refresh` jobs. */
export const refreshModeMigration: SqliteMigration = {
  version: 4,
  name: 'refresh-mode',
  sql: `
ALTER TABLE jobs ADD COLUMN refresh_mode TEXT;
`,
}
