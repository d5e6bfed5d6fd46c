/** One numbered schema change. Never edit a shipped migration: add the next number. */
export interface SqliteMigration {
  version: number
  name: string
  /** SQL run inside the migration's transaction. */
  sql: string
}
