import type { SqliteMigration } from './migration.js'

/**
 * Config tables. Records are JSON documents (`doc`); the columns beside them exist only to
 * filter and join.
 */
export const configMigration: SqliteMigration = {
  version: 1,
  name: 'config',
  sql: `
CREATE TABLE workspaces (
  workspace_id TEXT PRIMARY KEY,
  slug TEXT NOT NULL,
  tombstone INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX workspaces_slug ON workspaces (slug);

CREATE TABLE actors (
  actor_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('source', 'destination')),
  workspace_id TEXT NOT NULL REFERENCES workspaces (workspace_id) ON DELETE CASCADE,
  definition_id TEXT NOT NULL,
  tombstone INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX actors_workspace ON actors (kind, workspace_id);

CREATE TABLE connections (
  connection_id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL REFERENCES workspaces (workspace_id) ON DELETE CASCADE,
  source_id TEXT NOT NULL,
  destination_id TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX connections_workspace ON connections (workspace_id);
CREATE INDEX connections_source ON connections (source_id);
CREATE INDEX connections_destination ON connections (destination_id);

CREATE TABLE catalogs (
  catalog_id TEXT PRIMARY KEY,
  source_id TEXT NOT NULL REFERENCES actors (actor_id) ON DELETE CASCADE,
  config_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX catalogs_source ON catalogs (source_id, config_hash, created_at);

CREATE TABLE custom_definitions (
  definition_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('source', 'destination')),
  workspace_id TEXT,
  created_at INTEGER NOT NULL,
  doc TEXT NOT NULL
);
`,
}
