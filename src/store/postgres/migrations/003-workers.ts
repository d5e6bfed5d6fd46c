import type { PostgresMigration } from './migration.js'

/** Live worker processes: each row is refreshed by its worker's heartbeat. */
export const migration: PostgresMigration = {
  version: 3,
  name: 'workers',
  sql: `
CREATE TABLE sluice_workers (
  worker_id text PRIMARY KEY,
  hostname text NOT NULL,
  pid integer NOT NULL,
  concurrency integer NOT NULL,
  status text NOT NULL,
  started_at bigint NOT NULL,
  heartbeat_at bigint NOT NULL
);
`,
}
