import type {
  ActorRecord,
  CatalogRecord,
  ConfigStore,
  ConnectionRecord,
  CustomDefinitionRecord,
  OperationRecord,
  SchemaCheckRecord,
  WorkspaceRecord,
} from '../config-store.js'
import { staleWriteError } from '../config-store.js'
import type { PostgresDatabase } from './postgres-database.js'

/** Advisory lock key serialising config transactions across processes ("sluice" + 2). */
const CONFIG_TX_LOCK_KEY = 0x736c75696367

interface DocRow<T> {
  doc: T
}

/**
 * ConfigStore on a shared PostgreSQL database. Each record is kept whole as jsonb (the store
 * never interprets connector configs) next to the few columns that lists filter and sort on.
 * Lists are ordered by creation time, then id, so every process sees the same order.
 */
export class PostgresConfigStore implements ConfigStore {
  readonly #db: PostgresDatabase
  #queue: Promise<void> = Promise.resolve()

  constructor(db: PostgresDatabase) {
    this.#db = db
  }

  async listWorkspaces(opts: { includeTombstone?: boolean } = {}): Promise<WorkspaceRecord[]> {
    const rows = await this.#db.query<DocRow<WorkspaceRecord>>(
      `SELECT doc FROM sluice_workspaces WHERE ($1 OR NOT tombstone) ORDER BY created_at, workspace_id`,
      [opts.includeTombstone === true],
    )
    return rows.map((r) => r.doc)
  }

  async getWorkspace(workspaceId: string): Promise<WorkspaceRecord | undefined> {
    const rows = await this.#db.query<DocRow<WorkspaceRecord>>(`SELECT doc FROM sluice_workspaces WHERE workspace_id = $1`, [workspaceId])
    return rows[0]?.doc
  }

  async getWorkspaceBySlug(slug: string): Promise<WorkspaceRecord | undefined> {
    const rows = await this.#db.query<DocRow<WorkspaceRecord>>(
      `SELECT doc FROM sluice_workspaces WHERE slug = $1 AND NOT tombstone ORDER BY created_at, workspace_id LIMIT 1`,
      [slug],
    )
    return rows[0]?.doc
  }

  async putWorkspace(ws: WorkspaceRecord): Promise<void> {
    await this.#db.query(
      `INSERT INTO sluice_workspaces (workspace_id, slug, tombstone, created_at, doc) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (workspace_id) DO UPDATE SET slug = EXCLUDED.slug, tombstone = EXCLUDED.tombstone,
         created_at = EXCLUDED.created_at, doc = EXCLUDED.doc`,
      [ws.workspaceId, ws.slug, ws.tombstone, ws.createdAt, JSON.stringify(ws)],
    )
  }

  async deleteWorkspace(workspaceId: string): Promise<void> {
    await this.#db.transaction(async () => {
      await this.#db.query(
        `DELETE FROM sluice_catalogs WHERE source_id IN (SELECT id FROM sluice_actors WHERE workspace_id = $1)`,
        [workspaceId],
      )
      await this.#db.query(`DELETE FROM sluice_schema_checks WHERE connection_id IN (SELECT connection_id FROM sluice_connections WHERE workspace_id = $1)`, [workspaceId])
      await this.#db.query(`DELETE FROM sluice_connections WHERE workspace_id = $1`, [workspaceId])
      await this.#db.query(`DELETE FROM sluice_actors WHERE workspace_id = $1`, [workspaceId])
      await this.#db.query(`DELETE FROM sluice_custom_definitions WHERE workspace_id = $1`, [workspaceId])
      await this.#db.query(`DELETE FROM sluice_operations WHERE workspace_id = $1`, [workspaceId])
      await this.#db.query(`DELETE FROM sluice_workspaces WHERE workspace_id = $1`, [workspaceId])
    })
  }

  async listActors(
    kind: ActorRecord['kind'],
    workspaceId?: string,
    opts: { includeTombstone?: boolean } = {},
  ): Promise<ActorRecord[]> {
    const rows = await this.#db.query<DocRow<ActorRecord>>(
      `SELECT doc FROM sluice_actors
       WHERE kind = $1 AND ($2::text IS NULL OR workspace_id = $2) AND ($3 OR NOT tombstone)
       ORDER BY created_at, id`,
      [kind, workspaceId ?? null, opts.includeTombstone === true],
    )
    return rows.map((r) => r.doc)
  }

  async getActor(kind: ActorRecord['kind'], id: string): Promise<ActorRecord | undefined> {
    const rows = await this.#db.query<DocRow<ActorRecord>>(`SELECT doc FROM sluice_actors WHERE kind = $1 AND id = $2`, [kind, id])
    return rows[0]?.doc
  }

  async putActor(actor: ActorRecord): Promise<ActorRecord> {
    const expected = actor.version ?? 0
    const stored = { ...actor, version: expected + 1 }
    const rows = await this.#db.query(
      `INSERT INTO sluice_actors (id, kind, workspace_id, tombstone, created_at, doc, version) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, workspace_id = EXCLUDED.workspace_id,
         tombstone = EXCLUDED.tombstone, created_at = EXCLUDED.created_at, doc = EXCLUDED.doc, version = EXCLUDED.version
       WHERE sluice_actors.version = $8
       RETURNING id`,
      [actor.id, actor.kind, actor.workspaceId, actor.tombstone, actor.createdAt, JSON.stringify(stored), stored.version, expected],
    )
    if (rows.length === 0) throw staleWriteError(actor.kind, actor.id)
    return stored
  }

  async listConnections(
    opts: { workspaceId?: string; includeDeprecated?: boolean; actorId?: string } = {},
  ): Promise<ConnectionRecord[]> {
    const rows = await this.#db.query<DocRow<ConnectionRecord>>(
      `SELECT doc FROM sluice_connections
       WHERE ($1::text IS NULL OR workspace_id = $1)
         AND ($2 OR status <> 'deprecated')
         AND ($3::text IS NULL OR source_id = $3 OR destination_id = $3)
       ORDER BY created_at, connection_id`,
      [opts.workspaceId ?? null, opts.includeDeprecated === true, opts.actorId ?? null],
    )
    return rows.map((r) => r.doc)
  }

  async getConnection(connectionId: string): Promise<ConnectionRecord | undefined> {
    const rows = await this.#db.query<DocRow<ConnectionRecord>>(`SELECT doc FROM sluice_connections WHERE connection_id = $1`, [connectionId])
    return rows[0]?.doc
  }

  async putConnection(conn: ConnectionRecord): Promise<ConnectionRecord> {
    const expected = conn.version ?? 0
    const stored = { ...conn, version: expected + 1 }
    const rows = await this.#db.query(
      `INSERT INTO sluice_connections (connection_id, workspace_id, source_id, destination_id, status, created_at, doc, version)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (connection_id) DO UPDATE SET workspace_id = EXCLUDED.workspace_id, source_id = EXCLUDED.source_id,
         destination_id = EXCLUDED.destination_id, status = EXCLUDED.status, created_at = EXCLUDED.created_at, doc = EXCLUDED.doc,
         version = EXCLUDED.version
       WHERE sluice_connections.version = $9
       RETURNING connection_id`,
      [conn.connectionId, conn.workspaceId, conn.sourceId, conn.destinationId, conn.status, conn.createdAt, JSON.stringify(stored), stored.version, expected],
    )
    if (rows.length === 0) throw staleWriteError('connection', conn.connectionId)
    return stored
  }

  async putCatalog(cat: CatalogRecord): Promise<void> {
    await this.#db.query(
      `INSERT INTO sluice_catalogs (catalog_id, source_id, config_hash, created_at, doc) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (catalog_id) DO UPDATE SET source_id = EXCLUDED.source_id, config_hash = EXCLUDED.config_hash,
         created_at = EXCLUDED.created_at, doc = EXCLUDED.doc`,
      [cat.catalogId, cat.sourceId, cat.configHash, cat.createdAt, JSON.stringify(cat)],
    )
  }

  async getCatalog(catalogId: string): Promise<CatalogRecord | undefined> {
    const rows = await this.#db.query<DocRow<CatalogRecord>>(`SELECT doc FROM sluice_catalogs WHERE catalog_id = $1`, [catalogId])
    return rows[0]?.doc
  }

  async latestCatalog(sourceId: string, configHash?: string): Promise<CatalogRecord | undefined> {
    // seq breaks ties between catalogs discovered in the same millisecond: the last written wins.
    const rows = await this.#db.query<DocRow<CatalogRecord>>(
      `SELECT doc FROM sluice_catalogs WHERE source_id = $1 AND ($2::text IS NULL OR config_hash = $2)
       ORDER BY created_at DESC, seq DESC LIMIT 1`,
      [sourceId, configHash ?? null],
    )
    return rows[0]?.doc
  }

  async listCustomDefinitions(): Promise<CustomDefinitionRecord[]> {
    const rows = await this.#db.query<DocRow<CustomDefinitionRecord>>(
      `SELECT doc FROM sluice_custom_definitions ORDER BY created_at, definition_id`,
    )
    return rows.map((r) => r.doc)
  }

  async putCustomDefinition(def: CustomDefinitionRecord): Promise<void> {
    await this.#db.query(
      `INSERT INTO sluice_custom_definitions (definition_id, workspace_id, created_at, doc) VALUES ($1, $2, $3, $4)
       ON CONFLICT (definition_id) DO UPDATE SET workspace_id = EXCLUDED.workspace_id, created_at = EXCLUDED.created_at, doc = EXCLUDED.doc`,
      [def.definitionId, def.workspaceId ?? null, def.createdAt, JSON.stringify(def)],
    )
  }

  async customDefinitionsVersion(): Promise<string> {
    const rows = await this.#db.query<{ v: string }>(
      `SELECT md5(coalesce(string_agg(definition_id || ':' || md5(doc::text), ',' ORDER BY definition_id), '')) AS v FROM sluice_custom_definitions`,
    )
    return rows[0]?.v ?? ''
  }

  async getSchemaCheck(connectionId: string): Promise<SchemaCheckRecord | undefined> {
    const rows = await this.#db.query<DocRow<SchemaCheckRecord>>(`SELECT doc FROM sluice_schema_checks WHERE connection_id = $1`, [connectionId])
    return rows[0]?.doc
  }

  async listSchemaChecks(workspaceId: string): Promise<SchemaCheckRecord[]> {
    const rows = await this.#db.query<DocRow<SchemaCheckRecord>>(
      `SELECT s.doc FROM sluice_schema_checks s JOIN sluice_connections c ON c.connection_id = s.connection_id WHERE c.workspace_id = $1 ORDER BY s.connection_id`,
      [workspaceId],
    )
    return rows.map((r) => r.doc)
  }

  async putSchemaCheck(check: SchemaCheckRecord): Promise<void> {
    await this.#db.query(
      `INSERT INTO sluice_schema_checks (connection_id, checked_at, doc) VALUES ($1, $2, $3)
       ON CONFLICT (connection_id) DO UPDATE SET checked_at = EXCLUDED.checked_at, doc = EXCLUDED.doc`,
      [check.connectionId, check.checkedAt, JSON.stringify(check)],
    )
  }

  async listOperations(workspaceId: string, opts: { includeTombstone?: boolean } = {}): Promise<OperationRecord[]> {
    const rows = await this.#db.query<DocRow<OperationRecord>>(
      `SELECT doc FROM sluice_operations WHERE workspace_id = $1 ${opts.includeTombstone ? '' : 'AND NOT tombstone'} ORDER BY created_at, operation_id`,
      [workspaceId],
    )
    return rows.map((r) => r.doc)
  }

  async getOperation(operationId: string): Promise<OperationRecord | undefined> {
    const rows = await this.#db.query<DocRow<OperationRecord>>(`SELECT doc FROM sluice_operations WHERE operation_id = $1`, [operationId])
    return rows[0]?.doc
  }

  async putOperation(op: OperationRecord): Promise<void> {
    await this.#db.query(
      `INSERT INTO sluice_operations (operation_id, workspace_id, tombstone, created_at, doc) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (operation_id) DO UPDATE SET workspace_id = EXCLUDED.workspace_id, tombstone = EXCLUDED.tombstone, doc = EXCLUDED.doc`,
      [op.operationId, op.workspaceId, op.tombstone, op.createdAt, JSON.stringify(op)],
    )
  }

  /**
   * Config transactions are serialised, like SQLite's BEGIN IMMEDIATE: in this process by a FIFO
   * queue, across processes by a transaction-level advisory lock. Callers can then read, decide
   * and write without another API process interleaving. Config writes are rare, so one lock is cheap.
   */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#db.inTransaction) return fn()
    const previous = this.#queue
    let release!: () => void
    this.#queue = new Promise<void>((resolve) => {
      release = resolve
    })
    await previous
    try {
      return await this.#db.transaction(async () => {
        await this.#db.query('SELECT pg_advisory_xact_lock($1)', [CONFIG_TX_LOCK_KEY])
        return fn()
      })
    } finally {
      release()
    }
  }
}
