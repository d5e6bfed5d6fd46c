import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { catalogEntries } from '../../src/domain/catalog-entries.js'
import { createHarness, type ApiHarness } from './api-harness.js'
import { cursorSourceDefinition, discoverCalls, looseSchemaSourceDefinition, secretDestinationDefinition, secretSourceDefinition } from './secret-test-connectors.js'

const LOCAL_FILES_ID = '862a88fc-f263-4a45-aed8-2a53987631c1'

type Json = Record<string, any>

describe('connections', () => {
  let h: ApiHarness
  let sourceId: string
  let destinationId: string
  let localFilesId: string

  const customers = (config: Json = {}): Json => ({
    stream: { name: 'customers', namespace: 'public' },
    config: { syncMode: 'incremental', cursorField: ['updated_at'], destinationSyncMode: 'append', selected: true, ...config },
  })

  const create = async (body: Json = {}) =>
    h.post('connections/create', {
      sourceId,
      destinationId,
      syncCatalog: { streams: [customers()] },
      schedule: { units: 24, timeUnit: 'hours' },
      name: 'PostgreSQL → MinIO',
      namespaceDefinition: 'source',
      status: 'active',
      ...body,
    })

  before(async () => {
    h = await createHarness({ definitions: [secretSourceDefinition, secretDestinationDefinition, looseSchemaSourceDefinition, cursorSourceDefinition] })
    const config = { host: 'db', port: 5432, password: 'pw-secret' }
    sourceId = (await h.post('sources/create', { sourceDefinitionId: secretSourceDefinition.definitionId, workspaceId: h.workspaceId, name: 'src', connectionConfiguration: config })).json().sourceId
    destinationId = (await h.post('destinations/create', { destinationDefinitionId: secretDestinationDefinition.definitionId, workspaceId: h.workspaceId, name: 'dst', connectionConfiguration: config })).json().destinationId
    localFilesId = (await h.post('destinations/create', { destinationDefinitionId: LOCAL_FILES_ID, workspaceId: h.workspaceId, name: 'files', connectionConfiguration: { destination_path: 'out' } })).json().destinationId
  })
  after(async () => {
    await h.close()
  })

  it("creates a connection the seed's way (legacy schedule, partial stream) and reads it back in full", async () => {
    const calls = discoverCalls.count
    const res = await create()
    assert.equal(res.statusCode, 200, res.body)
    const conn = res.json()
    assert.equal(discoverCalls.count, calls + 1, 'discovered once to validate the catalog')
    assert.equal(conn.name, 'PostgreSQL → MinIO')
    assert.equal(conn.status, 'active')
    assert.equal(conn.namespaceDefinition, 'source')
    assert.deepEqual(conn.operationIds, [])
    assert.equal(conn.breakingChange, false)
    assert.equal(conn.workspaceId, h.workspaceId)
    assert.equal(typeof conn.created_at, 'number')
    assert.equal(conn.scheduleType, 'basic')
    assert.deepEqual(conn.schedule, { timeUnit: 'hours', units: 24 })
    assert.deepEqual(conn.scheduleData, { basicSchedule: { timeUnit: 'hours', units: 24 } })
    assert.match(conn.sourceCatalogId, /^[0-9a-f-]{36}$/)
    const [entry] = conn.syncCatalog.streams
    assert.deepEqual(Object.keys(entry).sort(), ['config', 'stream'])
    assert.equal(entry.stream.name, 'customers')
    assert.deepEqual(entry.stream.supportedSyncModes, ['full_refresh', 'incremental'], 'the stream is completed from the discovered catalog')
    assert.ok(entry.stream.jsonSchema.properties.id)
    assert.deepEqual(entry.config, {
      syncMode: 'incremental',
      cursorField: ['updated_at'],
      destinationSyncMode: 'append',
      primaryKey: [['id']],
      aliasName: 'customers',
      selected: true,
      suggested: false,
      fieldSelectionEnabled: false,
    })

    const got = (await h.post('connections/get', { connectionId: conn.connectionId })).json()
    assert.deepEqual(got, conn)

    // What the worker decodes from the stored syncCatalog.
    const stored = await h.deps.configStore.getConnection(conn.connectionId)
    const streams = catalogEntries(stored!)
    assert.equal(streams.length, 1)
    assert.equal(streams[0]!.selected, true)
    assert.equal(streams[0]!.stream.name, 'customers')
    assert.equal(streams[0]!.stream.namespace, 'public')
    assert.deepEqual(streams[0]!.cursorField, ['updated_at'])
    assert.deepEqual(streams[0]!.primaryKey, [['id']])
    assert.equal(streams[0]!.syncMode, 'incremental')
  })

  it('defaults: manual schedule, name "<source> <> <destination>", empty catalog without discovering', async () => {
    const calls = discoverCalls.count
    const res = await h.post('connections/create', { sourceId, destinationId, status: 'inactive' })
    assert.equal(res.statusCode, 200, res.body)
    const conn = res.json()
    assert.equal(conn.name, 'src <> dst')
    assert.equal(conn.scheduleType, 'manual')
    assert.equal(conn.schedule, undefined)
    assert.equal(conn.scheduleData, undefined)
    assert.deepEqual(conn.syncCatalog, { streams: [] })
    assert.equal(discoverCalls.count, calls)
  })

  it('accepts enums in any case and ignores unknown fields', async () => {
    const res = await create({
      status: 'ACTIVE',
      namespaceDefinition: 'Source',
      schedule: undefined,
      scheduleType: 'CRON',
      scheduleData: { cron: { cronExpression: '0 0 12 * * ?', cronTimeZone: 'Europe/Paris' } },
      syncCatalog: { streams: [customers({ syncMode: 'FULL_REFRESH', destinationSyncMode: 'OVERWRITE', cursorField: [] })] },
      somethingNew: { a: 1 },
    })
    assert.equal(res.statusCode, 200, res.body)
    const conn = res.json()
    assert.equal(conn.status, 'active')
    assert.equal(conn.namespaceDefinition, 'source')
    assert.equal(conn.scheduleType, 'cron')
    assert.deepEqual(conn.scheduleData, { cron: { cronExpression: '0 0 12 * * ?', cronTimeZone: 'Europe/Paris' } })
    assert.equal(conn.schedule, undefined)
    assert.equal(conn.syncCatalog.streams[0].config.syncMode, 'full_refresh')
    assert.equal(conn.somethingNew, undefined)
  })

  it('rejects a bad syncCatalog with 422 naming each stream and field', async () => {
    const res = await create({
      syncCatalog: {
        streams: [
          { stream: { name: 'nope' }, config: { syncMode: 'full_refresh', destinationSyncMode: 'overwrite' } },
          { stream: { name: 'events', namespace: 'public' }, config: { syncMode: 'incremental', cursorField: ['at'], destinationSyncMode: 'append' } },
          customers({ cursorField: ['missing_col'] }),
          customers({ syncMode: 'full_refresh', destinationSyncMode: 'append_dedup', primaryKey: [] }),
        ],
      },
    })
    assert.equal(res.statusCode, 422)
    const body = res.json()
    assert.equal(body.code, 'SLUICE_ERR_INVALID_CATALOG')
    const byPath = Object.fromEntries(body.validationErrors.map((v: Json) => [v.propertyPath, v.message]))
    assert.match(byPath['syncCatalog.streams[0].stream.name'], /'nope' is not in the source's catalog \(streams: public.customers, public.events\)/)
    assert.match(byPath['syncCatalog.streams[1].config.syncMode'], /'public.events' does not support sync mode 'incremental'/)
    assert.match(byPath['syncCatalog.streams[2].config.cursorField'], /cursor 'missing_col' is not a column/)
    assert.match(byPath['syncCatalog.streams[3].stream.name'], /listed twice/)
    const list = (await h.post('connections/list_all', { workspaceId: h.workspaceId })).json().connections
    assert.ok(!list.some((c: Json) => c.syncCatalog.streams.some((s: Json) => s.stream.name === 'nope')), 'nothing stored')
  })

  it('rejects append_dedup without a primary key, a bad PK column, incremental without cursor', async () => {
    const events = (config: Json): Json => ({ stream: { name: 'events', namespace: 'public' }, config: { syncMode: 'full_refresh', destinationSyncMode: 'overwrite', ...config } })
    const noPk = await create({ syncCatalog: { streams: [events({ destinationSyncMode: 'append_dedup', primaryKey: [] })] } })
    assert.equal(noPk.statusCode, 422)
    assert.deepEqual(noPk.json().validationErrors.map((v: Json) => v.propertyPath), ['syncCatalog.streams[0].config.primaryKey'])
    assert.match(noPk.json().message, /append_dedup needs a primary key/)

    const badPk = await create({ syncCatalog: { streams: [events({ primaryKey: [['nope']] })] } })
    assert.equal(badPk.statusCode, 422)
    assert.equal(badPk.json().validationErrors[0].propertyPath, 'syncCatalog.streams[0].config.primaryKey[0]')

    const noCursor = await create({ syncCatalog: { streams: [customers({ cursorField: [] })] } })
    assert.equal(noCursor.statusCode, 422)
    assert.match(noCursor.json().message, /incremental sync needs a cursorField/)
  })

  it('accepts a primary key or cursor missing from a loose schema; refuses it against a closed one', async () => {
    const config = { host: 'db', port: 5432, password: 'pw-secret' }
    const loose = (await h.post('sources/create', { sourceDefinitionId: looseSchemaSourceDefinition.definitionId, workspaceId: h.workspaceId, name: 'loose', connectionConfiguration: config })).json().sourceId
    const stream = (name: string, cfg: Json = {}): Json => ({ stream: { name }, config: { syncMode: 'full_refresh', destinationSyncMode: 'overwrite', primaryKey: [], selected: true, ...cfg } })
    for (const name of ['empty_properties', 'no_properties', 'open']) {
      const res = await create({ sourceId: loose, syncCatalog: { streams: [stream(name), stream(name === 'open' ? 'empty_properties' : 'open', { syncMode: 'incremental', cursorField: ['updated_at'], destinationSyncMode: 'append_dedup' })] } })
      assert.equal(res.statusCode, 200, `${name}: ${res.body}`)
      assert.deepEqual(res.json().syncCatalog.streams[0].config.primaryKey, [['id']])
    }
    const closed = await create({ sourceId: loose, syncCatalog: { streams: [stream('closed')] } })
    assert.equal(closed.statusCode, 422)
    assert.equal(closed.json().validationErrors[0].propertyPath, 'syncCatalog.streams[0].config.primaryKey[0]')
    assert.match(closed.json().message, /primary key 'id' is not a column/)
  })

  it('field selection: stores top-level fields of the stream; refuses an unknown or nested field and a deselected cursor or key', async () => {
    const fields = (...names: string[][]): Json => ({ fieldSelectionEnabled: true, selectedFields: names.map((fieldPath) => ({ fieldPath })) })
    const ok = await create({ syncCatalog: { streams: [customers(fields(['id'], ['updated_at']))] } })
    assert.equal(ok.statusCode, 200, ok.body)
    assert.deepEqual(ok.json().syncCatalog.streams[0].config.selectedFields, [{ fieldPath: ['id'] }, { fieldPath: ['updated_at'] }])

    const bad = await create({ syncCatalog: { streams: [customers(fields(['id'], ['updated_at'], ['emial'], ['name', 'first']))] } })
    assert.equal(bad.statusCode, 422)
    const byPath = Object.fromEntries(bad.json().validationErrors.map((v: Json) => [v.propertyPath, v.message]))
    assert.match(byPath['syncCatalog.streams[0].config.selectedFields[2].fieldPath'], /selected field 'emial' is not a field of the stream/)
    assert.match(byPath['syncCatalog.streams[0].config.selectedFields[3].fieldPath'], /only top-level fields can be selected, not 'name.first'/)

    const noCursor = await create({ syncCatalog: { streams: [customers(fields(['id']))] } })
    assert.equal(noCursor.statusCode, 422)
    assert.equal(noCursor.json().validationErrors[0].propertyPath, 'syncCatalog.streams[0].config.selectedFields')
    assert.match(noCursor.json().message, /cursor field 'updated_at' of an incremental sync cannot be deselected/)

    const noKey = await create({ syncCatalog: { streams: [customers({ ...fields(['updated_at']), destinationSyncMode: 'append_dedup' })] } })
    assert.equal(noKey.statusCode, 422)
    assert.match(noKey.json().message, /primary key field 'id' cannot be deselected: append_dedup needs it/)

    const notStored = (await h.post('connections/list_all', { workspaceId: h.workspaceId })).json().connections
    assert.ok(!notStored.some((c: Json) => c.syncCatalog.streams.some((s: Json) => (s.config.selectedFields ?? []).length === 1)), 'nothing stored')
  })

  it("stores the source-defined primary key over the caller's (Airbyte's rule)", async () => {
    const res = await create({ syncCatalog: { streams: [customers({ destinationSyncMode: 'append_dedup', primaryKey: [['name']] })] } })
    assert.equal(res.statusCode, 200, res.body)
    assert.deepEqual(res.json().syncCatalog.streams[0].config.primaryKey, [['id']])
  })

  it('rejects a destination sync mode the destination does not support', async () => {
    const res = await create({ destinationId: localFilesId, syncCatalog: { streams: [customers({ destinationSyncMode: 'append_dedup' })] } })
    assert.equal(res.statusCode, 422)
    assert.equal(res.json().validationErrors[0].propertyPath, 'syncCatalog.streams[0].config.destinationSyncMode')
    assert.match(res.json().message, /does not support 'append_dedup'/)
  })

  it('a stream named alone gets sync modes the destination supports (Local Files cannot dedup), in Airbyte\'s order', async () => {
    const config = { host: 'db', port: 5432, password: 'pw-secret' }
    const cursorSourceId = (await h.post('sources/create', { sourceDefinitionId: cursorSourceDefinition.definitionId, workspaceId: h.workspaceId, name: 'cursor', connectionConfiguration: config })).json().sourceId
    const modes = async (destination: string, streams: Json[]): Promise<Array<[string, string]>> => {
      const res = await create({ sourceId: cursorSourceId, destinationId: destination, syncCatalog: { streams } })
      assert.equal(res.statusCode, 200, res.body)
      return res.json().syncCatalog.streams.map((s: Json) => [s.config.syncMode, s.config.destinationSyncMode])
    }
    const named = [{ stream: { name: 'orders' } }, { stream: { name: 'ledger' } }]
    // Airbyte's order (as the Public API): incremental dedup, else full refresh overwrite, ..., else incremental append.
    assert.deepEqual(await modes(localFilesId, named), [['full_refresh', 'overwrite'], ['incremental', 'append']])
    assert.deepEqual(await modes(destinationId, named), [['incremental', 'append_dedup'], ['incremental', 'append']])
    // A sync mode named alone gets the destination mode that fits it.
    assert.deepEqual(await modes(localFilesId, [{ stream: { name: 'orders' }, config: { syncMode: 'incremental' } }]), [['incremental', 'append']])
    assert.deepEqual(await modes(destinationId, [{ stream: { name: 'orders' }, config: { syncMode: 'incremental' } }]), [['incremental', 'append_dedup']])
    assert.deepEqual(await modes(destinationId, [{ stream: { name: 'orders' }, config: { syncMode: 'full_refresh' } }]), [['full_refresh', 'overwrite']])
    // A mode the caller names is never replaced: the destination's refusal names it.
    const refused = await create({ sourceId: cursorSourceId, destinationId: localFilesId, syncCatalog: { streams: [{ stream: { name: 'orders' }, config: { destinationSyncMode: 'append_dedup' } }] } })
    assert.equal(refused.statusCode, 422)
    assert.equal(refused.json().validationErrors[0].propertyPath, 'syncCatalog.streams[0].config.destinationSyncMode')
  })

  it('validates schedules: units, timeUnit, cron expression and time zone, both forms disagreeing', async () => {
    const cases: Array<[Json, string]> = [
      [{ schedule: { units: 0, timeUnit: 'hours' } }, 'schedule.units'],
      [{ schedule: { units: 1.5, timeUnit: 'hours' } }, 'schedule.units'],
      [{ schedule: { units: 2, timeUnit: 'fortnights' } }, 'schedule.timeUnit'],
      [{ schedule: undefined, scheduleType: 'basic' }, 'scheduleData.basicSchedule'],
      [{ schedule: undefined, scheduleType: 'cron', scheduleData: { cron: { cronExpression: 'not a cron', cronTimeZone: 'UTC' } } }, 'scheduleData.cron.cronExpression'],
      [{ schedule: undefined, scheduleType: 'cron', scheduleData: { cron: { cronExpression: '0 0 * * * ?', cronTimeZone: 'Mars/Olympus' } } }, 'scheduleData.cron.cronTimeZone'],
      [{ scheduleType: 'basic', scheduleData: { basicSchedule: { units: 1, timeUnit: 'days' } } }, 'schedule'],
    ]
    for (const [body, path] of cases) {
      const res = await create(body)
      assert.equal(res.statusCode, 422, JSON.stringify(body))
      assert.ok(
        res.json().validationErrors.some((v: Json) => v.propertyPath === path),
        `${JSON.stringify(body)} -> ${JSON.stringify(res.json().validationErrors)}`,
      )
    }
  })

  it("updates with the whole object from get and schedule.units changed (the seed's update)", async () => {
    const conn = (await create()).json()
    const got = (await h.post('connections/get', { connectionId: conn.connectionId })).json()
    got.schedule.units = 6
    const res = await h.post('connections/update', got)
    assert.equal(res.statusCode, 200, res.body)
    const updated = res.json()
    assert.deepEqual(updated.schedule, { timeUnit: 'hours', units: 6 })
    assert.deepEqual(updated.scheduleData, { basicSchedule: { timeUnit: 'hours', units: 6 } })
    assert.equal(updated.scheduleType, 'basic')
    assert.deepEqual(updated.syncCatalog, conn.syncCatalog)
    assert.equal(updated.sourceCatalogId, conn.sourceCatalogId)

    // scheduleData edited instead: it wins.
    const again = (await h.post('connections/get', { connectionId: conn.connectionId })).json()
    again.scheduleData.basicSchedule.units = 3
    const r2 = (await h.post('connections/update', again)).json()
    assert.deepEqual(r2.schedule, { timeUnit: 'hours', units: 3 })

    // Legacy schedule alone switches to basic.
    const r3 = (await h.post('connections/update', { connectionId: conn.connectionId, schedule: { units: 2, timeUnit: 'DAYS' } })).json()
    assert.deepEqual(r3.scheduleData, { basicSchedule: { timeUnit: 'days', units: 2 } })

    // Manual: no schedule, no scheduleData.
    const r4 = (await h.post('connections/update', { connectionId: conn.connectionId, scheduleType: 'manual' })).json()
    assert.equal(r4.scheduleType, 'manual')
    assert.equal(r4.schedule, undefined)
  })

  it('update is a patch: absent fields stay, read-only fields are ignored, catalog is re-validated', async () => {
    const conn = (await create()).json()
    const res = await h.post('connections/update', {
      connectionId: conn.connectionId,
      name: 'renamed',
      prefix: 'raw_',
      sourceId: '00000000-0000-4000-8000-000000000000',
      created_at: 1,
    })
    assert.equal(res.statusCode, 200)
    const up = res.json()
    assert.equal(up.name, 'renamed')
    assert.equal(up.prefix, 'raw_')
    assert.equal(up.sourceId, sourceId)
    assert.equal(up.created_at, conn.created_at)
    assert.deepEqual(up.schedule, conn.schedule)
    assert.deepEqual(up.syncCatalog, conn.syncCatalog)

    const bad = await h.post('connections/update', { connectionId: conn.connectionId, syncCatalog: { streams: [customers({ cursorField: ['zzz'] })] } })
    assert.equal(bad.statusCode, 422)
    const unchanged = (await h.post('connections/get', { connectionId: conn.connectionId })).json()
    assert.equal(unchanged.name, 'renamed', 'a failed update stores nothing')
    assert.deepEqual(unchanged.syncCatalog, conn.syncCatalog)

    const bothStreams = await h.post('connections/update', {
      connectionId: conn.connectionId,
      syncCatalog: { streams: [customers(), { stream: { name: 'events' }, config: { syncMode: 'full_refresh', destinationSyncMode: 'overwrite' } }] },
    })
    assert.equal(bothStreams.statusCode, 200, bothStreams.body)
    assert.equal(bothStreams.json().syncCatalog.streams.length, 2)

    const badCatalog = await h.post('connections/update', { connectionId: conn.connectionId, sourceCatalogId: '00000000-0000-4000-8000-000000000000', syncCatalog: { streams: [customers()] } })
    assert.equal(badCatalog.statusCode, 422)
    assert.equal(badCatalog.json().validationErrors[0].propertyPath, 'sourceCatalogId')
  })

  it('lists, soft-deletes (deprecated, still readable, only in list_all), 404 for unknown ids', async () => {
    const conn = (await create({ name: 'to delete' })).json()
    const del = await h.post('connections/delete', { connectionId: conn.connectionId })
    assert.equal(del.statusCode, 204)
    const got = (await h.post('connections/get', { connectionId: conn.connectionId })).json()
    assert.equal(got.status, 'deprecated')
    const list = (await h.post('connections/list', { workspaceId: h.workspaceId })).json().connections
    assert.ok(!list.some((c: Json) => c.connectionId === conn.connectionId))
    assert.ok(list.length > 0)
    const all = (await h.post('connections/list_all', { workspaceId: h.workspaceId })).json().connections
    assert.ok(all.some((c: Json) => c.connectionId === conn.connectionId))

    const missing = '9a9a9a9a-0000-4000-8000-000000000000'
    for (const path of ['connections/get', 'connections/delete', 'connections/update']) {
      const res = await h.post(path, { connectionId: missing })
      assert.equal(res.statusCode, 404, path)
      assert.equal(res.json().id, missing)
    }
    assert.equal((await h.post('connections/list', { workspaceId: missing })).statusCode, 404)
    const badSource = await h.post('connections/create', { sourceId: missing, destinationId, status: 'active' })
    assert.equal(badSource.statusCode, 404)
  })

  it('answers 422 when the catalog cannot be discovered to validate syncCatalog', async () => {
    const bad = (await h.post('sources/create', {
      sourceDefinitionId: secretSourceDefinition.definitionId,
      workspaceId: h.workspaceId,
      name: 'unreachable',
      connectionConfiguration: { host: 'bad', port: 1, password: 'pw-bad' },
    })).json()
    const res = await create({ sourceId: bad.sourceId })
    assert.equal(res.statusCode, 422)
    assert.equal(res.json().validationErrors[0].propertyPath, 'syncCatalog')
    assert.match(res.json().message, /could not be discovered.*cannot connect/)
    assert.ok(!res.body.includes('pw-bad'))
  })

  it("deleting a connection cancels its pending job", async () => {
    const conn = (await create({ name: 'with job' })).json()
    const job = await h.deps.jobStore.createJob({ configType: 'sync', configId: conn.connectionId, streams: [{ name: 'customers', namespace: 'public' }] })
    assert.equal((await h.post('connections/delete', { connectionId: conn.connectionId })).statusCode, 204)
    assert.equal((await h.deps.jobStore.getJob(job.id))?.status, 'cancelled')
  })

  it('deleting a source deprecates its connections in the same transaction', async () => {
    const config = { host: 'db', port: 5432, password: 'pw' }
    const src = (await h.post('sources/create', { sourceDefinitionId: secretSourceDefinition.definitionId, workspaceId: h.workspaceId, name: 'doomed', connectionConfiguration: config })).json()
    const conn = (await create({ sourceId: src.sourceId })).json()
    assert.equal((await h.post('sources/delete', { sourceId: src.sourceId })).statusCode, 204)
    assert.equal((await h.post('connections/get', { connectionId: conn.connectionId })).json().status, 'deprecated')
  })
})
