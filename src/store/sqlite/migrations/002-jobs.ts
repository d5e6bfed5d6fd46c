import type { SqliteMigration } from './migration.js'

/**
 * Jobs, attempts, per-stream state, generations and attempt logs (SQLite).
 * One non-terminal job per connection is enforced by the store inside BEGIN IMMEDIATE; one job
 * per schedule slot by a unique index (NULL slots, i.e. manual jobs, never collide).
 */
export const jobsMigration: SqliteMigration = {
  version: 2,
  name: 'jobs',
  sql: `
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  config_type TEXT NOT NULL,
  config_id TEXT NOT NULL,
  status TEXT NOT NULL,
  streams TEXT NOT NULL,
  scheduled_for INTEGER,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  run_after INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  started_at INTEGER
);
CREATE UNIQUE INDEX jobs_schedule_slot ON jobs (config_id, scheduled_for) WHERE scheduled_for IS NOT NULL;
CREATE INDEX jobs_runnable ON jobs (id) WHERE status IN ('pending', 'incomplete');
CREATE INDEX jobs_config ON jobs (config_id, created_at);
CREATE INDEX jobs_created ON jobs (created_at);

CREATE TABLE attempts (
  job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  attempt_number INTEGER NOT NULL,
  status TEXT NOT NULL,
  worker_id TEXT,
  lease_expires_at INTEGER,
  total_stats TEXT NOT NULL,
  stream_stats TEXT NOT NULL,
  failures TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  ended_at INTEGER,
  PRIMARY KEY (job_id, attempt_number)
);
CREATE INDEX attempts_running ON attempts (lease_expires_at) WHERE status = 'running';

CREATE TABLE stream_state (
  connection_id TEXT NOT NULL,
  stream_key TEXT NOT NULL,
  stream TEXT NOT NULL,
  state TEXT,
  PRIMARY KEY (connection_id, stream_key)
);

CREATE TABLE stream_generations (
  connection_id TEXT NOT NULL,
  stream_key TEXT NOT NULL,
  generation INTEGER NOT NULL,
  PRIMARY KEY (connection_id, stream_key)
);

CREATE TABLE attempt_logs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id INTEGER NOT NULL,
  attempt_number INTEGER NOT NULL,
  line TEXT NOT NULL
);
CREATE INDEX attempt_logs_attempt ON attempt_logs (job_id, attempt_number, id);
`,
}
