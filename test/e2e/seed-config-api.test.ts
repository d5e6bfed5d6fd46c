import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { pino } from 'pino'
import { startSluice, type RunningSluice } from '../../src/server.js'
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js'
import { MINIO_ACCESS_KEY, MINIO_SECRET_KEY, startS3Server, type S3TestServer } from '../helpers/s3-server.js'

type Json = Record<string, any>

/**
 * Walks the seed document's Config API calls (workspaces, definitions, sources, destinations,
 * discover, connections) against a real listening server with a real HTTP client (fetch), on
 * real PostgreSQL and an S3 server (s3rver), exactly as the seed's Python client sends them.
 */
describe('end to end: the seed\'s Config API calls over HTTP', () => {
  let sluice: RunningSluice
  let db: TestDatabase
  let s3: S3TestServer
  let dataDir: string
  let BASE_URL: string
  const headers = { 'Content-Type': 'application/json' }

  /** requests.post(url, headers=headers, json=payload) */
  const post = async (path: string, json: unknown = {}): Promise<{ status: number; body: Json }> => {
    const res = await fetch(`${BASE_URL}/${path}`, { method: 'POST', headers, body: JSON.stringify(json) })
    const text = await res.text()
    return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Json) }
  }

  before(async () => {
    db = await createTestDatabase('e2e_seed')
    await db.query(`CREATE TABLE public.customers (id serial PRIMARY KEY, name text NOT NULL, email text, updated_at timestamptz NOT NULL DEFAULT now())`)
    await db.query(`INSERT INTO public.customers (name, email) SELECT 'c' || g, 'c' || g || '@example.com' FROM generate_series(1, 50) g`)
    await db.query(`CREATE TABLE public.orders (id serial PRIMARY KEY, customer_id int, amount numeric(10,2), updated_at timestamptz NOT NULL DEFAULT now())`)
    s3 = await startS3Server('datalake')
    dataDir = await mkdtemp(join(tmpdir(), 'sluice-e2e-'))
    sluice = await startSluice({ port: 0, dataDir, logger: pino({ level: 'silent' }), worker: false, env: { SLUICE_DATA_DIR: dataDir } })
    BASE_URL = `${sluice.url}/api/v1`
  })
  after(async () => {
    await sluice?.close()
    await s3?.close()
    await db?.drop()
    await rm(dataDir, { recursive: true, force: true })
  })

  let workspaceId: string
  let pgDefinition: Json
  let sourceId: string
  let s3DestinationId: string
  let pgDestinationId: string
  let connectionId: string

  it('workspaces/list gives the default workspace', async () => {
    const res = await post('workspaces/list', {})
    assert.equal(res.status, 200)
    workspaceId = res.body.workspaces[0].workspaceId
    assert.match(workspaceId, /^[0-9a-f-]{36}$/)
  })

  it('source_definitions/list with {workspaceId}; Postgres found by name, with its destination twin', async () => {
    const res = await post('source_definitions/list', { workspaceId })
    assert.equal(res.status, 200)
    const definitions = res.body.sourceDefinitions as Json[]
    pgDefinition = definitions.find((d) => d.name.toLowerCase().includes('postgres'))!
    assert.equal(pgDefinition.sourceDefinitionId, 'decd338e-5647-4c0b-adf4-da0e75f5a750')
    assert.equal(pgDefinition.destinationDefinitionId, '25c5221d-dce2-4163-ade9-739ef790f503')
  })

  it('sources/create (PostgreSQL - Ecommerce), check_connection, list', async () => {
    const res = await post('sources/create', {
      sourceDefinitionId: pgDefinition.sourceDefinitionId,
      connectionConfiguration: { ...db.config, password: 'postgres', replication_method: { method: 'Standard' } },
      workspaceId,
      name: 'PostgreSQL - Ecommerce',
    })
    assert.equal(res.status, 200, JSON.stringify(res.body))
    sourceId = res.body.sourceId
    assert.equal(res.body.sourceDefinitionId, pgDefinition.sourceDefinitionId)
    assert.equal(res.body.workspaceId, workspaceId)
    assert.equal(res.body.name, 'PostgreSQL - Ecommerce')
    assert.equal(res.body.connectionConfiguration.password, '**********')

    const check = await post('sources/check_connection', { sourceId })
    assert.equal(check.status, 200)
    assert.equal(check.body.status, 'succeeded', check.body.message)

    const list = await post('sources/list', { workspaceId })
    const names = (list.body.sources as Json[]).map((s) => `${s.name}: ${s.sourceId}`)
    assert.deepEqual(names, [`PostgreSQL - Ecommerce: ${sourceId}`])
  })

  it('destinations/create (S3 found by name == "S3", MinIO - Bronze Layer) and check against S3', async () => {
    const defs = await post('destination_definitions/list', { workspaceId })
    const s3Def = (defs.body.destinationDefinitions as Json[]).find((d) => d.name === 'S3')!
    assert.equal(s3Def.destinationDefinitionId, '4816b78f-1489-44c1-9060-4b19d5fa9362')
    const res = await post('destinations/create', {
      destinationDefinitionId: s3Def.destinationDefinitionId,
      connectionConfiguration: {
        s3_bucket_name: 'datalake',
        s3_bucket_path: 'bronze/',
        s3_bucket_region: 'us-east-1',
        access_key_id: MINIO_ACCESS_KEY,
        secret_access_key: MINIO_SECRET_KEY,
        s3_endpoint: s3.endpoint,
        format: { format_type: 'Parquet', compression_codec: 'snappy' },
      },
      workspaceId,
      name: 'MinIO - Bronze Layer',
    })
    assert.equal(res.status, 200, JSON.stringify(res.body))
    s3DestinationId = res.body.destinationId
    assert.equal(res.body.connectionConfiguration.secret_access_key, '**********')
    const check = await post('destinations/check_connection', { destinationId: s3DestinationId })
    assert.equal(check.body.status, 'succeeded', check.body.message)
  })

  it('destinations/create (Postgres via the source definition\'s destinationDefinitionId) and test_destination', async () => {
    const res = await post('destinations/create', {
      destinationDefinitionId: pgDefinition.destinationDefinitionId,
      connectionConfiguration: { ...db.config, password: 'postgres', schema: 'raw', ssl: false },
      workspaceId,
      name: 'PostgreSQL - Staging',
    })
    assert.equal(res.status, 200, JSON.stringify(res.body))
    pgDestinationId = res.body.destinationId
    const check = await post('destinations/check_connection', { destinationId: pgDestinationId })
    assert.equal(check.body.status === 'succeeded', true, check.body.message)
  })

  it('sources/discover_schema lists public.customers with its cursor-capable schema', async () => {
    const res = await post('sources/discover_schema', { sourceId })
    assert.equal(res.status, 200)
    const customers = (res.body.catalog.streams as Json[]).find((s) => s.stream.name === 'customers')!
    assert.equal(customers.stream.namespace, 'public')
    assert.deepEqual(customers.stream.supportedSyncModes.sort(), ['full_refresh', 'incremental'])
    assert.ok(customers.stream.jsonSchema.properties.updated_at)
    assert.ok(res.body.catalogId)
  })

  it('connections/create with the seed\'s payload (incremental on updated_at, append, schedule every 24 hours)', async () => {
    const res = await post('connections/create', {
      sourceId,
      destinationId: s3DestinationId,
      syncCatalog: {
        streams: [
          {
            stream: { name: 'customers', namespace: 'public' },
            config: { syncMode: 'incremental', cursorField: ['updated_at'], destinationSyncMode: 'append', selected: true },
          },
        ],
      },
      schedule: { units: 24, timeUnit: 'hours' },
      name: 'PostgreSQL → MinIO',
      namespaceDefinition: 'source',
      status: 'active',
    })
    assert.equal(res.status, 200, JSON.stringify(res.body))
    connectionId = res.body.connectionId
    assert.equal(res.body.name, 'PostgreSQL → MinIO')
    assert.deepEqual(res.body.schedule, { units: 24, timeUnit: 'hours' })

    // The helper's second example: orders, every 6 hours, to the Postgres destination.
    const second = await post('connections/create', {
      sourceId,
      destinationId: pgDestinationId,
      syncCatalog: {
        streams: [{ stream: { name: 'orders', namespace: 'public' }, config: { syncMode: 'incremental', cursorField: ['updated_at'], destinationSyncMode: 'append', selected: true } }],
      },
      schedule: { units: 6, timeUnit: 'hours' },
      name: `Connection ${sourceId.slice(0, 8)} → ${pgDestinationId.slice(0, 8)}`,
      namespaceDefinition: 'source',
      status: 'active',
    })
    assert.equal(second.status, 200, JSON.stringify(second.body))
  })

  it('update_connection_schedule: get, change schedule.units, send the whole object back', async () => {
    const got = await post('connections/get/', { connectionId })
    assert.equal(got.status, 200)
    const connection = got.body
    connection.schedule.units = 12
    const res = await post('connections/update', connection)
    assert.equal(res.status, 200, JSON.stringify(res.body))
    assert.deepEqual(res.body.schedule, { timeUnit: 'hours', units: 12 })
    assert.deepEqual(res.body.scheduleData, { basicSchedule: { timeUnit: 'hours', units: 12 } })
    const reread = await post('connections/get', { connectionId })
    assert.equal(reread.body.schedule.units, 12)
    assert.equal(reread.body.status, 'active')
  })

  it('bad input gets a clear 4xx naming the field', async () => {
    const bad = await post('connections/create', {
      sourceId,
      destinationId: s3DestinationId,
      syncCatalog: { streams: [{ stream: { name: 'customers', namespace: 'public' }, config: { syncMode: 'incremental', cursorField: ['no_such_column'], destinationSyncMode: 'append' } }] },
      status: 'active',
    })
    assert.equal(bad.status, 422)
    assert.equal(bad.body.validationErrors[0].propertyPath, 'syncCatalog.streams[0].config.cursorField')
    assert.match(bad.body.message, /no_such_column/)
    const missing = await post('sources/get', { sourceId: '00000000-0000-4000-8000-000000000000' })
    assert.equal(missing.status, 404)
  })
})
