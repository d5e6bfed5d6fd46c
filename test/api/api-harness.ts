import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { pino } from 'pino'
import { createApp } from '../../src/api/app.js'
import type { ApiDeps } from '../../src/api/deps.js'
import type { ConnectorDefinition } from '../../src/protocol/index.js'
import { ConnectorRegistry } from '../../src/connectors/registry.js'
import { builtinDefinitions } from '../../src/connectors/builtin-definitions.js'
import { SecretService } from '../../src/secrets/secret-service.js'
import { ensureDefaultWorkspace } from '../../src/server.js'
import { openSqliteDatabase, type SqliteDatabase } from '../../src/store/sqlite/database.js'
import { SqliteConfigStore } from '../../src/store/sqlite/sqlite-config-store.js'
import { SqliteJobStore } from '../../src/store/sqlite/sqlite-job-store.js'

export interface ApiHarness {
  app: FastifyInstance
  deps: ApiDeps
  db: SqliteDatabase
  dataDir: string
  /** POST /api/v1/<path> with a JSON body. */
  post(path: string, body?: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>
  /** The default workspace id. */
  workspaceId: string
  close(): Promise<void>
}

export interface HarnessOptions {
  definitions?: ConnectorDefinition[]
  apiToken?: string
  authLimits?: ApiDeps['authLimits']
  timeouts?: ApiDeps['timeouts']
  /** The job store's clock (epoch ms); defaults to Date.now. */
  now?: () => number
}

/** An app on a fresh SQLite file in a temp data dir, driven with inject(). */
export async function createHarness(options: HarnessOptions = {}): Promise<ApiHarness> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-api-'))
  const db = openSqliteDatabase(join(dataDir, 'sluice.db'))
  const deps: ApiDeps = {
    configStore: new SqliteConfigStore(db),
    jobStore: new SqliteJobStore(db, options.now === undefined ? {} : { now: options.now }),
    registry: new ConnectorRegistry([...builtinDefinitions(), ...(options.definitions ?? [])]),
    secrets: new SecretService(randomBytes(32)),
    context: { dataDir, localFilesRoot: join(dataDir, 'files') },
    logger: pino({ level: 'silent' }),
    apiToken: options.apiToken,
    authLimits: options.authLimits,
    timeouts: options.timeouts,
  }
  await ensureDefaultWorkspace(deps)
  const app = await createApp(deps)
  const ws = await deps.configStore.getWorkspaceBySlug('default')
  return {
    app,
    deps,
    db,
    dataDir,
    workspaceId: ws!.workspaceId,
    post: (path, body, headers = {}) =>
      app.inject({
        method: 'POST',
        url: `/api/v1/${path}`,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
      }),
    close: async () => {
      await app.close()
      db.close()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}
