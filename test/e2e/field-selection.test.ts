import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import { pino } from 'pino'
import { PostgresDestination } from '../../src/connectors/postgres/postgres-destination.js'
import { runAttempt } from '../../src/engine/index.js'
import { rowBatch, type ConfiguredCatalog, type Source, type SourceMessage, type StateMessage } from '../../src/protocol/index.js'
import { startSluice, type RunningSluice } from '../../src/server.js'
import { readJsonl, readParquet } from '../formats/fixtures.js'
import { createTestDatabase, runOptions, type TestDatabase } from '../helpers/pg.js'

type Json = Record<string, any>

const FAKER_ID = 'dfd88b22-b603-4c3d-aad7-3701784586b1'
const LOCAL_FILES_ID = '862a88fc-f263-4a45-aed8-2a53987631c1'
const POSTGRES_SOURCE_ID = 'decd338e-5647-4c0b-adf4-da0e75f5a750'
const POSTGRES_DESTINATION_ID = '25c5221d-dce2-4163-ade9-739ef790f503'

const fields = (...names: string[]): Json => ({ fieldSelectionEnabled: true, selectedFields: names.map((n) => ({ fieldPath: [n] })) })

/** Syncs with deselected fields through a running server (worker included): only the selected columns land. */
describe('field selection: deselected fields never reach the destination', () => {
  let sluice: RunningSluice
  let db: TestDatabase
  let dataDir: string
  let workspaceId: string

  const post = async (path: string, json: unknown): Promise<Json> => {
    const res = await fetch(`${sluice.url}/api/v1/${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(json) })
    const body = (await res.json()) as Json
    assert.equal(res.status, 200, `${path}: ${JSON.stringify(body)}`)
    return body
  }

  /** Starts a sync and polls until the job ends (the test runner's timeout bounds it). */
  const sync = async (connectionId: string): Promise<Json> => {
    const { job } = await post('connections/sync', { connectionId })
    for (;;) {
      const got = await post('jobs/get', { id: job.id })
      if (['succeeded', 'failed', 'cancelled'].includes(got.job.status)) return got
      await sleep(100)
    }
  }

  before(async () => {
    db = await createTestDatabase('field_sel')
    await db.query(`CREATE TABLE public.customers (id serial PRIMARY KEY, name text NOT NULL, email text, secret text, updated_at timestamptz NOT NULL DEFAULT now())`)
    await db.query(`INSERT INTO public.customers (name, email, secret) SELECT 'c' || g, 'c' || g || '@example.com', 'pw' || g FROM generate_series(1, 30) g`)
    dataDir = await mkdtemp(join(tmpdir(), 'sluice-field-selection-'))
    sluice = await startSluice({ port: 0, dataDir, logger: pino({ level: 'silent' }), env: { SLUICE_DATA_DIR: dataDir } })
    workspaceId = (await post('workspaces/list', {})).workspaces[0].workspaceId
  })
  after(async () => {
    await sluice?.close()
    await db?.drop()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('Postgres -> Postgres (incremental, deduped): the table has only the selected columns and the rows only their values', async () => {
    const { sourceId } = await post('sources/create', {
      workspaceId,
      sourceDefinitionId: POSTGRES_SOURCE_ID,
      name: 'pg',
      connectionConfiguration: { ...db.config, password: 'postgres', replication_method: { method: 'Standard' } },
    })
    const { destinationId } = await post('destinations/create', {
      workspaceId,
      destinationDefinitionId: POSTGRES_DESTINATION_ID,
      name: 'pg out',
      connectionConfiguration: { ...db.config, password: 'postgres', schema: 'selected_out' },
    })
    const { connectionId } = await post('connections/create', {
      sourceId,
      destinationId,
      status: 'active',
      namespaceDefinition: 'destination',
      syncCatalog: {
        streams: [
          {
            stream: { name: 'customers', namespace: 'public' },
            config: { syncMode: 'incremental', cursorField: ['updated_at'], destinationSyncMode: 'append_dedup', selected: true, ...fields('id', 'name', 'updated_at') },
          },
        ],
      },
    })
    const stored = await post('connections/get', { connectionId })
    assert.deepEqual(stored.syncCatalog.streams[0].config.selectedFields, [{ fieldPath: ['id'] }, { fieldPath: ['name'] }, { fieldPath: ['updated_at'] }])

    const done = await sync(connectionId)
    assert.equal(done.job.status, 'succeeded', JSON.stringify(done.attempts.at(-1)?.attempt.failureSummary))
    const columns = await db.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = 'selected_out' AND table_name = 'customers' ORDER BY column_name`,
    )
    const names = columns.rows.map((r) => r.column_name)
    assert.deepEqual(names.filter((n) => !n.startsWith('_airbyte')), ['id', 'name', 'updated_at'])
    const rows = await db.query(`SELECT id::int AS id, name FROM selected_out.customers ORDER BY id`)
    assert.equal(rows.rowCount, 30)
    assert.deepEqual(rows.rows[4], { id: 5, name: 'c5' })
  })

  it('Faker -> Local Files (Parquet, columnar batches): the files have only the selected columns', async () => {
    const { sourceId } = await post('sources/create', { workspaceId, sourceDefinitionId: FAKER_ID, name: 'faker', connectionConfiguration: { count: 25, seed: 7 } })
    const { destinationId } = await post('destinations/create', {
      workspaceId,
      destinationDefinitionId: LOCAL_FILES_ID,
      name: 'files',
      connectionConfiguration: { destination_path: 'selected', format: { format_type: 'Parquet', compression_codec: 'SNAPPY' } },
    })
    const { connectionId } = await post('connections/create', {
      sourceId,
      destinationId,
      status: 'active',
      namespaceDefinition: 'source',
      syncCatalog: {
        streams: [{ stream: { name: 'users' }, config: { syncMode: 'full_refresh', destinationSyncMode: 'overwrite', selected: true, ...fields('id', 'email', 'address') } }],
      },
    })
    const done = await sync(connectionId)
    assert.equal(done.job.status, 'succeeded', JSON.stringify(done.attempts.at(-1)?.attempt.failureSummary))
    const dir = join(dataDir, 'files', 'selected', 'users')
    const files = (await readdir(dir)).filter((f) => f.endsWith('.parquet'))
    assert.ok(files.length > 0, `no Parquet file in ${dir}`)
    const rows = (await Promise.all(files.map(async (f) => readParquet(await readFile(join(dir, f)))))).flat()
    assert.equal(rows.length, 25)
    for (const row of rows) {
      assert.deepEqual(Object.keys(row).filter((k) => !k.startsWith('_airbyte')).sort(), ['address', 'email', 'id'])
    }
    assert.ok(rows.some((r) => typeof r.email === 'string' && r.email.includes('@')))
  })

  it('Faker -> Local Files (JSONL, row objects): each record has only the selected fields', async () => {
    const { sourceId } = await post('sources/create', { workspaceId, sourceDefinitionId: FAKER_ID, name: 'faker rows', connectionConfiguration: { count: 12, seed: 3 } })
    const { destinationId } = await post('destinations/create', {
      workspaceId,
      destinationDefinitionId: LOCAL_FILES_ID,
      name: 'jsonl files',
      connectionConfiguration: { destination_path: 'selected_jsonl', format: { format_type: 'JSONL' } },
    })
    const { connectionId } = await post('connections/create', {
      sourceId,
      destinationId,
      status: 'active',
      namespaceDefinition: 'source',
      syncCatalog: {
        streams: [{ stream: { name: 'users' }, config: { syncMode: 'full_refresh', destinationSyncMode: 'append', selected: true, ...fields('id', 'name') } }],
      },
    })
    const done = await sync(connectionId)
    assert.equal(done.job.status, 'succeeded', JSON.stringify(done.attempts.at(-1)?.attempt.failureSummary))
    const dir = join(dataDir, 'files', 'selected_jsonl', 'users')
    const files = (await readdir(dir)).filter((f) => f.endsWith('.jsonl') || f.endsWith('.jsonl.gz'))
    assert.ok(files.length > 0, `no JSONL file in ${dir}`)
    const records = (await Promise.all(files.map(async (f) => readJsonl(await readFile(join(dir, f)), f.endsWith('.gz'))))).flat()
    assert.equal(records.length, 12)
    for (const record of records) assert.deepEqual(Object.keys(record._airbyte_data as object).sort(), ['id', 'name'])
  })
})

/**
 * A source that ignores the projected schema and hands COPY text with a column that was not
 * selected: the Postgres destination still COPYs the bytes (rows() is never called), cut to the
 * selected columns by the engine.
 */
describe('field selection: COPY text pass-through into PostgreSQL', () => {
  let db: TestDatabase
  before(async () => {
    db = await createTestDatabase('field_sel_copy')
  })
  after(async () => {
    await db?.drop()
  })

  it('COPYs only the selected columns of COPY text that carries more', async () => {
    const stream = { name: 'people', namespace: null }
    const source: Source = {
      spec: { connectionSpecification: {} },
      async check() {
        return { status: 'succeeded', message: 'ok' }
      },
      async discover() {
        return { streams: [] }
      },
      async *read(): AsyncGenerator<SourceMessage> {
        yield {
          ...rowBatch(stream, []),
          count: 3,
          rows: () => assert.fail('the COPY text is used, not rows'),
          pgCopyText: { columns: ['id', 'secret', 'name'], pgTypes: ['integer', 'text', 'text'], data: Buffer.from('1\tpw1\tAda\n2\tpw\\t2\tB\\tob\n3\t\\N\t\\N\n') },
        }
        yield { type: 'STATE', stream, data: { id: 3 } }
      },
    }
    // As the worker builds it: the schema already lists only the selected fields.
    const catalog: ConfiguredCatalog = {
      streams: [
        {
          stream: { name: 'people', namespace: null, jsonSchema: { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' } } }, supportedSyncModes: ['full_refresh'] },
          syncMode: 'full_refresh',
          destinationSyncMode: 'append',
          cursorField: [],
          primaryKey: [],
          syncId: 1,
          generationId: 1,
          minimumGenerationId: 0,
        },
      ],
    }
    const committed: StateMessage[] = []
    const result = await runAttempt({
      source,
      sourceConfig: {},
      destination: new PostgresDestination(),
      destinationConfig: { ...db.config, schema: 'copy_out' },
      catalog,
      mapping: { namespaceDefinition: 'destination' },
      fieldSelection: new Map([['\u0000people', new Set(['id', 'name'])]]),
      state: [],
      options: runOptions(),
      onStateCommitted: async (states) => {
        committed.push(...states)
      },
    })
    assert.equal(result.totalStats.recordsCommitted, 3)
    assert.deepEqual(committed.map((s) => s.data), [{ id: 3 }])
    const columns = await db.query<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'copy_out' AND table_name = 'people'`)
    assert.deepEqual(columns.rows.map((r) => r.column_name).filter((n) => !n.startsWith('_airbyte')).sort(), ['id', 'name'])
    const rows = await db.query(`SELECT id::int AS id, name FROM copy_out.people ORDER BY id`)
    assert.deepEqual(rows.rows, [{ id: 1, name: 'Ada' }, { id: 2, name: 'B\tob' }, { id: 3, name: null }])
  })
})
