import type { PostgresMigration } from './migration.js'

/** Refresh jobs remember their mode (truncate or merge). */
export const migration: PostgresMigration = {
  version: 4,
  name: 'refresh-mode',
  sql: `ALTER TABLE sluice_jobs ADD COLUMN refresh_mode text;`,
}
