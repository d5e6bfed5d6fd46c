import type { PostgresMigration } from './migration.js'

/** Configuration documents: the whole record as jsonb plus the columns lists filter on. */
export const migration: PostgresMigration = {
  version: 1,
  name: 'config',
  sql: `
CREATE TABLE sluice_workspaces (
  workspace_id text PRIMARY KEY,
  slug text NOT NULL,
  tombstone boolean NOT NULL,
  created_at bigint NOT NULL,
  doc jsonb NOT NULL
);
CREATE INDEX sluice_workspaces_slug ON sluice_workspaces (slug);

CREATE TABLE sluice_actors (
  id text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('source', 'destination')),
  workspace_id text NOT NULL,
  tombstone boolean NOT NULL,
  created_at bigint NOT NULL,
  doc jsonb NOT NULL
);
CREATE INDEX sluice_actors_workspace ON sluice_actors (kind, workspace_id);

CREATE TABLE sluice_connections (
  connection_id text PRIMARY KEY,
  workspace_id text NOT NULL,
  source_id text NOT NULL,
  destination_id text NOT NULL,
  status text NOT NULL,
  created_at bigint NOT NULL,
  doc jsonb NOT NULL
);
CREATE INDEX sluice_connections_workspace ON sluice_connections (workspace_id);
CREATE INDEX sluice_connections_source ON sluice_connections (source_id);
CREATE INDEX sluice_connections_destination ON sluice_connections (destination_id);

CREATE TABLE sluice_catalogs (
  catalog_id text PRIMARY KEY,
  source_id text NOT NULL,
  config_hash text NOT NULL,
  created_at bigint NOT NULL,
  seq bigserial NOT NULL,
  doc jsonb NOT NULL
);
CREATE INDEX sluice_catalogs_source ON sluice_catalogs (source_id, config_hash, created_at);

CREATE TABLE sluice_custom_definitions (
  definition_id text PRIMARY KEY,
  workspace_id text,
  created_at bigint NOT NULL,
  doc jsonb NOT NULL
);
`,
}
