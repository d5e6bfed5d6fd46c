import type { SqliteMigration } from './migration.js'

/**
 * The retention sweep finds ended attempts and finished jobs by time: without these indexes each
 * hourly sweep scans both tables whole.
 */
export const retentionIndexesMigration: SqliteMigration = {
  version: 9,
  name: 'retention-indexes',
  sql: `
CREATE INDEX attempts_ended ON attempts (ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX jobs_updated ON jobs (updated_at);
`,
}
