import type { PostgresMigration } from './migration.js'

/**
 * Jobs, attempts, state, generations and logs. Two partial unique indexes carry the
 * cross-process invariants: one non-terminal job per connection, one job per schedule slot.
 */
export const migration: PostgresMigration = {
  version: 2,
  name: 'jobs',
  sql: `
CREATE TABLE sluice_jobs (
  id bigserial PRIMARY KEY,
  config_type text NOT NULL,
  config_id text NOT NULL,
  status text NOT NULL,
  streams jsonb NOT NULL,
  scheduled_for bigint,
  cancel_requested boolean NOT NULL DEFAULT false,
  run_after bigint NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  started_at bigint
);
CREATE UNIQUE INDEX sluice_jobs_one_active ON sluice_jobs (config_id)
  WHERE status NOT IN ('failed', 'succeeded', 'cancelled');
CREATE UNIQUE INDEX sluice_jobs_schedule_slot ON sluice_jobs (config_id, scheduled_for)
  WHERE scheduled_for IS NOT NULL;
CREATE INDEX sluice_jobs_runnable ON sluice_jobs (id) WHERE status IN ('pending', 'incomplete');
CREATE INDEX sluice_jobs_config ON sluice_jobs (config_id, created_at);

CREATE TABLE sluice_attempts (
  job_id bigint NOT NULL REFERENCES sluice_jobs (id) ON DELETE CASCADE,
  attempt_number integer NOT NULL,
  status text NOT NULL,
  worker_id text,
  lease_expires_at bigint,
  total_stats jsonb NOT NULL,
  stream_stats jsonb NOT NULL,
  failures jsonb NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  ended_at bigint,
  PRIMARY KEY (job_id, attempt_number)
);
CREATE INDEX sluice_attempts_running ON sluice_attempts (lease_expires_at) WHERE status = 'running';

-- A null namespace is stored as '' (the same stream, see streamKey).
CREATE TABLE sluice_stream_state (
  connection_id text NOT NULL,
  stream_namespace text NOT NULL,
  stream_name text NOT NULL,
  state jsonb,
  PRIMARY KEY (connection_id, stream_namespace, stream_name)
);

CREATE TABLE sluice_generations (
  connection_id text NOT NULL,
  stream_namespace text NOT NULL,
  stream_name text NOT NULL,
  generation bigint NOT NULL,
  PRIMARY KEY (connection_id, stream_namespace, stream_name)
);

CREATE TABLE sluice_attempt_logs (
  id bigserial PRIMARY KEY,
  job_id bigint NOT NULL,
  attempt_number integer NOT NULL,
  line text NOT NULL
);
CREATE INDEX sluice_attempt_logs_attempt ON sluice_attempt_logs (job_id, attempt_number, id);
`,
}
