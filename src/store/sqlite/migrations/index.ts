import type { SqliteMigration } from './migration.js'
import { configMigration } from './001-config.js'
import { jobsMigration } from './002-jobs.js'
import { jobIndexesMigration } from './003-job-indexes.js'
import { refreshModeMigration } from './004-refresh-mode.js'
import { operationsMigration } from './005-operations.js'
import { jobTimesInMsMigration } from './006-job-times-in-ms.js'
import { recordVersionsMigration } from './007-record-versions.js'
import { schemaChecksMigration } from './008-schema-checks.js'
import { retentionIndexesMigration } from './009-retention-indexes.js'

/** Every SQLite migration, by version. Add yours with one import and one entry. */
export const SQLITE_MIGRATIONS: SqliteMigration[] = [
  configMigration,
  jobsMigration,
  jobIndexesMigration,
  refreshModeMigration,
  operationsMigration,
  jobTimesInMsMigration,
  recordVersionsMigration,
  schemaChecksMigration,
  retentionIndexesMigration,
]
