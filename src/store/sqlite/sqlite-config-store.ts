import { AsyncLocalStorage } from 'node:async_hooks'
import { createHash } from 'node:crypto'
import { SluiceError } from '../../errors.js'
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
import type { SqliteDatabase } from './database.js'

interface DocRow {
  doc: string
}

function parse<T>(row: DocRow | undefined): T | undefined {
  return row ? (JSON.parse(row.doc) as T) : undefined
}

function parseAll<T>(rows: unknown[]): T[] {
  return (rows as DocRow[]).map((r) => JSON.parse(r.doc) as T)
}

/** Translates driver errors into SLUICE_ERR_STORE, in one place. */
function storeError(cause: unknown): SluiceError {
  if (cause instanceof SluiceError) return cause
  return new SluiceError('SLUICE_ERR_STORE', `Config store error: ${(cause as Error).message}`, { cause })
}

/**
 * ConfigStore on SQLite (better-sqlite3, synchronous under the hood). Records are stored as JSON
 * documents. `transaction()` serialises callers (one writer at a time in this process) and runs
 * the callback inside BEGIN IMMEDIATE ... COMMIT; store calls made inside it join it.
 */
export class SqliteConfigStore implements ConfigStore {
  readonly #db: SqliteDatabase
  readonly #inTransaction = new AsyncLocalStorage<true>()
  #queue: Promise<unknown> = Promise.resolve()

  constructor(db: SqliteDatabase) {
    this.#db = db
  }

  #run<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn())
    } catch (e) {
      return Promise.reject(storeError(e))
    }
  }

  listWorkspaces(opts: { includeTombstone?: boolean } = {}): Promise<WorkspaceRecord[]> {
    return this.#run(() =>
      parseAll<WorkspaceRecord>(
        this.#db.prepare(`SELECT doc FROM workspaces ${opts.includeTombstone ? '' : 'WHERE tombstone = 0'} ORDER BY created_at, workspace_id`).all(),
      ),
    )
  }

  getWorkspace(workspaceId: string): Promise<WorkspaceRecord | undefined> {
    return this.#run(() => parse<WorkspaceRecord>(this.#db.prepare('SELECT doc FROM workspaces WHERE workspace_id = ?').get(workspaceId) as DocRow | undefined))
  }

  getWorkspaceBySlug(slug: string): Promise<WorkspaceRecord | undefined> {
    return this.#run(() =>
      parse<WorkspaceRecord>(
        this.#db.prepare('SELECT doc FROM workspaces WHERE slug = ? AND tombstone = 0 ORDER BY created_at LIMIT 1').get(slug) as DocRow | undefined,
      ),
    )
  }

  putWorkspace(ws: WorkspaceRecord): Promise<void> {
    return this.#run(() => {
      this.#db
        .prepare(
          `INSERT INTO workspaces (workspace_id, slug, tombstone, created_at, doc) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (workspace_id) DO UPDATE SET slug = excluded.slug, tombstone = excluded.tombstone, doc = excluded.doc`,
        )
        .run(ws.workspaceId, ws.slug, ws.tombstone ? 1 : 0, ws.createdAt, JSON.stringify(ws))
    })
  }

  deleteWorkspace(workspaceId: string): Promise<void> {
    return this.#run(() => {
      // Catalogs cascade from actors, actors and connections from the workspace.
      this.#db.prepare('DELETE FROM workspaces WHERE workspace_id = ?').run(workspaceId)
    })
  }

  listActors(kind: ActorRecord['kind'], workspaceId?: string, opts: { includeTombstone?: boolean } = {}): Promise<ActorRecord[]> {
    return this.#run(() => {
      const where = ['kind = ?']
      const args: unknown[] = [kind]
      if (workspaceId !== undefined) {
        where.push('workspace_id = ?')
        args.push(workspaceId)
      }
      if (!opts.includeTombstone) where.push('tombstone = 0')
      return parseAll<ActorRecord>(this.#db.prepare(`SELECT doc FROM actors WHERE ${where.join(' AND ')} ORDER BY created_at, actor_id`).all(...args))
    })
  }

  getActor(kind: ActorRecord['kind'], id: string): Promise<ActorRecord | undefined> {
    return this.#run(() => parse<ActorRecord>(this.#db.prepare('SELECT doc FROM actors WHERE actor_id = ? AND kind = ?').get(id, kind) as DocRow | undefined))
  }

  putActor(actor: ActorRecord): Promise<ActorRecord> {
    return this.#run(() => {
      const expected = actor.version ?? 0
      const stored = { ...actor, version: expected + 1 }
      const { changes } = this.#db
        .prepare(
          `INSERT INTO actors (actor_id, kind, workspace_id, definition_id, tombstone, created_at, doc, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (actor_id) DO UPDATE SET workspace_id = excluded.workspace_id, definition_id = excluded.definition_id,
             tombstone = excluded.tombstone, doc = excluded.doc, version = excluded.version
           WHERE actors.version = ?`,
        )
        .run(actor.id, actor.kind, actor.workspaceId, actor.definitionId, actor.tombstone ? 1 : 0, actor.createdAt, JSON.stringify(stored), stored.version, expected)
      if (changes === 0) throw staleWriteError(actor.kind, actor.id)
      return stored
    })
  }

  listConnections(opts: { workspaceId?: string; includeDeprecated?: boolean; actorId?: string } = {}): Promise<ConnectionRecord[]> {
    return this.#run(() => {
      const where: string[] = []
      const args: unknown[] = []
      if (opts.workspaceId !== undefined) {
        where.push('workspace_id = ?')
        args.push(opts.workspaceId)
      }
      if (opts.actorId !== undefined) {
        where.push('(source_id = ? OR destination_id = ?)')
        args.push(opts.actorId, opts.actorId)
      }
      if (!opts.includeDeprecated) where.push("status <> 'deprecated'")
      const sql = `SELECT doc FROM connections ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, connection_id`
      return parseAll<ConnectionRecord>(this.#db.prepare(sql).all(...args))
    })
  }

  getConnection(connectionId: string): Promise<ConnectionRecord | undefined> {
    return this.#run(() => parse<ConnectionRecord>(this.#db.prepare('SELECT doc FROM connections WHERE connection_id = ?').get(connectionId) as DocRow | undefined))
  }

  putConnection(conn: ConnectionRecord): Promise<ConnectionRecord> {
    return this.#run(() => {
      const expected = conn.version ?? 0
      const stored = { ...conn, version: expected + 1 }
      const { changes } = this.#db
        .prepare(
          `INSERT INTO connections (connection_id, workspace_id, source_id, destination_id, status, created_at, doc, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (connection_id) DO UPDATE SET workspace_id = excluded.workspace_id, source_id = excluded.source_id,
             destination_id = excluded.destination_id, status = excluded.status, doc = excluded.doc, version = excluded.version
           WHERE connections.version = ?`,
        )
        .run(conn.connectionId, conn.workspaceId, conn.sourceId, conn.destinationId, conn.status, conn.createdAt, JSON.stringify(stored), stored.version, expected)
      if (changes === 0) throw staleWriteError('connection', conn.connectionId)
      return stored
    })
  }

  putCatalog(cat: CatalogRecord): Promise<void> {
    return this.#run(() => {
      this.#db
        .prepare(
          `INSERT INTO catalogs (catalog_id, source_id, config_hash, created_at, doc) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (catalog_id) DO UPDATE SET source_id = excluded.source_id, config_hash = excluded.config_hash, doc = excluded.doc`,
        )
        .run(cat.catalogId, cat.sourceId, cat.configHash, cat.createdAt, JSON.stringify(cat))
    })
  }

  getCatalog(catalogId: string): Promise<CatalogRecord | undefined> {
    return this.#run(() => parse<CatalogRecord>(this.#db.prepare('SELECT doc FROM catalogs WHERE catalog_id = ?').get(catalogId) as DocRow | undefined))
  }

  latestCatalog(sourceId: string, configHash?: string): Promise<CatalogRecord | undefined> {
    return this.#run(() => {
      const row =
        configHash === undefined
          ? this.#db.prepare('SELECT doc FROM catalogs WHERE source_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1').get(sourceId)
          : this.#db
              .prepare('SELECT doc FROM catalogs WHERE source_id = ? AND config_hash = ? ORDER BY created_at DESC, rowid DESC LIMIT 1')
              .get(sourceId, configHash)
      return parse<CatalogRecord>(row as DocRow | undefined)
    })
  }

  listCustomDefinitions(): Promise<CustomDefinitionRecord[]> {
    return this.#run(() => parseAll<CustomDefinitionRecord>(this.#db.prepare('SELECT doc FROM custom_definitions ORDER BY created_at, definition_id').all()))
  }

  putCustomDefinition(def: CustomDefinitionRecord): Promise<void> {
    return this.#run(() => {
      this.#db
        .prepare(
          `INSERT INTO custom_definitions (definition_id, kind, workspace_id, created_at, doc) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (definition_id) DO UPDATE SET kind = excluded.kind, workspace_id = excluded.workspace_id, doc = excluded.doc`,
        )
        .run(def.definitionId, def.kind, def.workspaceId ?? null, def.createdAt, JSON.stringify(def))
    })
  }

  customDefinitionsVersion(): Promise<string> {
    return this.#run(() => {
      const hash = createHash('sha1')
      for (const row of this.#db.prepare('SELECT definition_id, doc FROM custom_definitions ORDER BY definition_id').all() as Array<{ definition_id: string; doc: string }>) {
        hash.update(`${row.definition_id}\u0000${row.doc}\u0000`)
      }
      return hash.digest('hex')
    })
  }

  getSchemaCheck(connectionId: string): Promise<SchemaCheckRecord | undefined> {
    return this.#run(() => parse<SchemaCheckRecord>(this.#db.prepare('SELECT doc FROM schema_checks WHERE connection_id = ?').get(connectionId) as DocRow | undefined))
  }

  listSchemaChecks(workspaceId: string): Promise<SchemaCheckRecord[]> {
    return this.#run(() =>
      parseAll<SchemaCheckRecord>(
        this.#db
          .prepare('SELECT s.doc FROM schema_checks s JOIN connections c ON c.connection_id = s.connection_id WHERE c.workspace_id = ? ORDER BY s.connection_id')
          .all(workspaceId),
      ),
    )
  }

  putSchemaCheck(check: SchemaCheckRecord): Promise<void> {
    return this.#run(() => {
      this.#db
        .prepare(
          `INSERT INTO schema_checks (connection_id, checked_at, doc) VALUES (?, ?, ?)
           ON CONFLICT (connection_id) DO UPDATE SET checked_at = excluded.checked_at, doc = excluded.doc`,
        )
        .run(check.connectionId, check.checkedAt, JSON.stringify(check))
    })
  }

  listOperations(workspaceId: string, opts: { includeTombstone?: boolean } = {}): Promise<OperationRecord[]> {
    return this.#run(() =>
      parseAll<OperationRecord>(
        this.#db
          .prepare(`SELECT doc FROM operations WHERE workspace_id = ? ${opts.includeTombstone ? '' : 'AND tombstone = 0'} ORDER BY created_at, operation_id`)
          .all(workspaceId),
      ),
    )
  }

  getOperation(operationId: string): Promise<OperationRecord | undefined> {
    return this.#run(() => parse<OperationRecord>(this.#db.prepare('SELECT doc FROM operations WHERE operation_id = ?').get(operationId) as DocRow | undefined))
  }

  putOperation(op: OperationRecord): Promise<void> {
    return this.#run(() => {
      this.#db
        .prepare(
          `INSERT INTO operations (operation_id, workspace_id, tombstone, created_at, doc) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (operation_id) DO UPDATE SET workspace_id = excluded.workspace_id, tombstone = excluded.tombstone, doc = excluded.doc`,
        )
        .run(op.operationId, op.workspaceId, op.tombstone ? 1 : 0, op.createdAt, JSON.stringify(op))
    })
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    // A nested call joins the outer transaction.
    if (this.#inTransaction.getStore()) return fn()
    const previous = this.#queue
    let release!: () => void
    this.#queue = new Promise<void>((resolve) => {
      release = resolve
    })
    await previous
    try {
      this.#db.exec('BEGIN IMMEDIATE')
      try {
        const result = await this.#inTransaction.run(true, fn)
        this.#db.exec('COMMIT')
        return result
      } catch (e) {
        if (this.#db.inTransaction) this.#db.exec('ROLLBACK')
        throw e
      }
    } finally {
      release()
    }
  }
}
