/** One numbered schema change; applied once, in its own transaction, never edited once shipped. */
export interface PostgresMigration {
  version: number
  name: string
  sql: string
}
