import type { PostgresMigration } from './migration.js'

/** Connection operations (webhooks run after a sync), one document each. */
export const migration: PostgresMigration = {
  version: 5,
  name: 'operations',
  sql: `
CREATE TABLE sluice_operations (
  operation_id text PRIMARY KEY,
  workspace_id text NOT NULL,
  tombstone boolean NOT NULL,
  created_at bigint NOT NULL,
  doc jsonb NOT NULL
);
CREATE INDEX sluice_operations_workspace ON sluice_operations (workspace_id);
`,
}
