import type { SqliteMigration } from './migration.js'

/**
 * Finding a connection's non-terminal job (every connections/sync, every scheduler tick) must
 * not scan the connection's whole job history.
 */
export const jobIndexesMigration: SqliteMigration = {
  version: 3,
  name: 'job-indexes',
  sql: `
CREATE INDEX jobs_active ON jobs (config_id) WHERE status IN ('pending', 'running', 'incomplete');
`,
}
