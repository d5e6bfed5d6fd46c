import type { SqliteMigration } from './migration.js'

/** Connection operations (webhooks run after a sync), one document each. */
export const operationsMigration: SqliteMigration = {
  version: 5,
  name: 'operations',
  sql: `
CREATE TABLE operations (
  operation_id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL REFERENCES workspaces (workspace_id) ON DELETE CASCADE,
  tombstone INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX operations_workspace ON operations (workspace_id);
`,
}
