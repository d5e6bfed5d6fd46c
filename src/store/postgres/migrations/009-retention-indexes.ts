import type { PostgresMigration } from './migration.js'

/**
 * The retention sweep finds ended attempts and finished jobs by time: without these indexes each
 * hourly sweep scans both tables whole.
 */
export const migration: PostgresMigration = {
  version: 9,
  name: 'retention-indexes',
  sql: `
CREATE INDEX sluice_attempts_ended ON sluice_attempts (ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX sluice_jobs_updated ON sluice_jobs (updated_at);
`,
}
