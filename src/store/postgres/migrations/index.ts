import type { PostgresMigration } from './migration.js'
import { migration as m001 } from './001-config.js'
import { migration as m002 } from './002-jobs.js'
import { migration as m003 } from './003-workers.js'
import { migration as m004 } from './004-refresh-mode.js'
import { migration as m005 } from './005-operations.js'
import { migration as m006 } from './006-job-times-in-ms.js'
import { migration as m007 } from './007-record-versions.js'
import { migration as m008 } from './008-schema-checks.js'
import { migration as m009 } from './009-retention-indexes.js'

/** Every PostgreSQL migration in order. Append new files; never edit a shipped one. */
export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [m001, m002, m003, m004, m005, m006, m007, m008, m009]
