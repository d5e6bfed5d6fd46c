import type { PostgresMigration } from './migration.js'

/**
 * Job and attempt timestamps become epoch ms like run_after, leases and schedule slots (they were
 * epoch seconds); the API converts back to the seconds Airbyte's responses carry.
 */
export const migration: PostgresMigration = {
  version: 6,
  name: 'job-times-in-ms',
  sql: `
UPDATE sluice_jobs SET created_at = created_at * 1000, updated_at = updated_at * 1000, started_at = started_at * 1000;
UPDATE sluice_attempts SET created_at = created_at * 1000, updated_at = updated_at * 1000, ended_at = ended_at * 1000;
`,
}
