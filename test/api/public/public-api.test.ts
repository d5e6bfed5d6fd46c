import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { configApiConnection, FAKER_ID, LOCAL_FILES_ID, ok, pollUntil, problem, send, startPublicServer, TOKEN, type PublicServer } from './public-harness.js'

/** The Public API's endpoints beyond the client replays: job types and filters, streams, definitions, the one organization, tags, its document. */
describe('Public API', () => {
  let server: PublicServer
  const headers = { authorization: `Bearer ${TOKEN}` }
  const get = (path: string, query?: Record<string, any>) => send(`${server.base}/api/public/v1${path}`, { headers, ...(query ? { query } : {}) })
  const post = (path: string, json: unknown) => send(`${server.base}/api/public/v1${path}`, { headers, json })
  const finished = (jobId: number) =>
    pollUntil(
      async () => ok(await get(`/jobs/${jobId}`), 'JobResponse'),
      (j) => ['succeeded', 'failed', 'cancelled'].includes(j.status),
    )

  before(async () => {
    server = await startPublicServer()
  })
  after(async () => {
    await server.close()
  })

  it('starts sync, reset, clear and refresh jobs and lists them with filters, order and pages', async () => {
    const { connectionId } = await configApiConnection(server)
    const ids: number[] = []
    for (const jobType of ['sync', 'reset', 'clear', 'refresh', 'sync']) {
      const job = ok(await post('/jobs', { connectionId, jobType }), 'JobResponse')
      assert.equal(job.jobType, jobType === 'clear' ? 'reset' : jobType, 'a clear is stored as a reset, as Airbyte names both')
      ids.push(job.jobId)
      assert.equal((await finished(job.jobId)).status, 'succeeded')
    }
    const all = ok(await get('/jobs', { connectionId, limit: 100 }), 'JobsResponse')
    assert.deepEqual(
      all.data.map((j: any) => j.jobId),
      [...ids].reverse(),
      'newest first',
    )
    const asc = ok(await get('/jobs', { connectionId, orderBy: 'createdAt|ASC', limit: 100 }), 'JobsResponse')
    assert.deepEqual(
      asc.data.map((j: any) => j.jobId),
      ids,
    )
    const syncs = ok(await get('/jobs', { connectionId, jobType: 'sync' }), 'JobsResponse')
    assert.deepEqual(syncs.data.map((j: any) => j.jobType), ['sync', 'sync'])
    const resets = ok(await get('/jobs', { connectionId, jobType: 'clear' }), 'JobsResponse')
    assert.equal(resets.data.length, 2)
    assert.equal(ok(await get('/jobs', { connectionId, status: 'failed' }), 'JobsResponse').data.length, 0)
    assert.equal(ok(await get('/jobs', { connectionId, createdAtStart: new Date(Date.now() + 3_600_000).toISOString() }), 'JobsResponse').data.length, 0)
    assert.equal(ok(await get('/jobs', { connectionId, workspaceIds: ['00000000-0000-0000-0000-0000000000dd'] }), 'JobsResponse').data.length, 0, 'another workspace has none of them')
    const first = ok(await get('/jobs', { connectionId, limit: 2 }), 'JobsResponse')
    assert.equal(first.data.length, 2)
    assert.equal(first.previous, undefined)
    const next = new URL(first.next)
    assert.equal(next.searchParams.get('offset'), '2')
    assert.equal(next.searchParams.get('connectionId'), connectionId, 'next keeps the filters')
    const second = ok(await send(first.next, { headers }), 'JobsResponse')
    assert.deepEqual(
      second.data.map((j: any) => j.jobId),
      [ids[2], ids[1]],
    )
    assert.ok(second.previous)
    const last = ok(await get('/jobs', { connectionId, limit: 2, offset: 4 }), 'JobsResponse')
    assert.equal(last.next, undefined)
    for (const [query, field] of [
      [{ limit: 0 }, 'limit'],
      [{ limit: 101 }, 'limit'],
      [{ offset: -1 }, 'offset'],
      [{ orderBy: 'name|UP' }, 'orderBy'],
      [{ jobType: 'vacuum' }, 'jobType'],
      [{ status: 'done' }, 'status'],
      [{ createdAtStart: 'yesterday' }, 'createdAtStart'],
      [{ connectionId: 'x' }, 'connectionId'],
      [{ workspaceIds: ['nope'] }, 'workspaceIds'],
    ] as const) {
      const p = problem(await get('/jobs', query), 400)
      assert.equal(p.data?.validationErrors?.[0]?.propertyPath, field, JSON.stringify(p))
    }
  })

  it('lists jobs over several workspaces and answers 409 for a second sync', async () => {
    const a = await configApiConnection(server, { source: { records: 2000, batchSize: 10, delayMs: 50 } })
    const first = ok(await post('/jobs', { connectionId: a.connectionId, jobType: 'sync' }), 'JobResponse')
    const conflict = problem(await post('/jobs', { connectionId: a.connectionId, jobType: 'sync' }), 409)
    assert.equal(conflict.title, 'state-conflict')
    const other = ok(await post('/workspaces', { name: 'second' }), 'WorkspaceResponse')
    const listed = ok(await get('/jobs', { workspaceIds: [server.workspaceId, other.workspaceId], limit: 100 }), 'JobsResponse')
    assert.ok(listed.data.some((j: any) => j.jobId === first.jobId))
    assert.equal(ok(await get('/jobs', { workspaceIds: [other.workspaceId] }), 'JobsResponse').data.length, 0)
    ok(await send(`${server.base}/api/public/v1/jobs/${first.jobId}`, { method: 'DELETE', headers }), 'JobResponse')
    assert.equal((await finished(first.jobId)).status, 'cancelled')
  })

  it('GET /streams lists the streams with the modes the source and destination support together', async () => {
    const source = ok(await post('/sources', { name: 'faker', workspaceId: server.workspaceId, definitionId: FAKER_ID, configuration: { count: 5 } }), 'SourceResponse')
    const files = ok(await post('/destinations', { name: 'files', workspaceId: server.workspaceId, definitionId: LOCAL_FILES_ID, configuration: { destination_path: 'streams' } }), 'DestinationResponse')
    const streams = ok(await get('/streams', { sourceId: source.sourceId, destinationId: files.destinationId }), 'StreamPropertiesResponse')
    const users = streams.find((s: any) => s.streamName === 'users')
    assert.deepEqual(users.syncModes.sort(), ['full_refresh_append', 'full_refresh_overwrite', 'incremental_append'])
    assert.deepEqual(users.sourceDefinedPrimaryKey, [['id']])
    assert.ok(users.propertyFields.some((f: string[]) => f[0] === 'email'))
    const anyDestination = ok(await get('/streams', { sourceId: source.sourceId, ignoreCache: true }), 'StreamPropertiesResponse')
    assert.ok(anyDestination.find((s: any) => s.streamName === 'users').syncModes.includes('incremental_deduped_history'))
    assert.match(problem(await get('/streams'), 400).detail, /sourceId/)
    problem(await get('/streams', { sourceId: '00000000-0000-0000-0000-0000000000ee' }), 404)
  })

  it('definitions, the one organization, user and permission, tags, workspaces list', async () => {
    const defs = ok(await get('/connector_definitions', { type: 'source' }), 'ConnectorDefinitionsResponse')
    assert.ok(defs.data.some((d: any) => d.id === FAKER_ID && d.connectorDefinitionType === 'source'))
    assert.match(problem(await get('/connector_definitions'), 400).detail, /type/)
    const wsDefs = ok(await get(`/workspaces/${server.workspaceId}/definitions/destinations`), 'DefinitionsResponse')
    assert.ok(wsDefs.data.some((d: any) => d.id === LOCAL_FILES_ID))
    ok(await get(`/workspaces/${server.workspaceId}/definitions/sources/${FAKER_ID}`), 'DefinitionResponse')
    problem(await get(`/workspaces/${server.workspaceId}/definitions/sources/${LOCAL_FILES_ID}`), 404)

    const orgs = ok(await get('/organizations'), 'OrganizationsResponse')
    assert.equal(orgs.data.length, 1)
    const organizationId = orgs.data[0].organizationId
    const users = ok(await get('/users', { organizationId }), 'UsersResponse')
    assert.equal(users.data.length, 1)
    problem(await get('/users', { organizationId: '11111111-1111-1111-1111-111111111111' }), 404)
    const permissions = ok(await get('/permissions', { userId: users.data[0].id }), 'PermissionsResponse')
    assert.equal(permissions.data[0].scope, 'organization')
    ok(await get(`/permissions/${permissions.data[0].permissionId}`), 'PermissionResponse')

    const tag = { tagId: '22222222-2222-2222-2222-222222222222', name: 'nightly', color: 'FF5733', workspaceId: server.workspaceId }
    const { sourceId, destinationId } = await configApiConnection(server)
    const tagged = ok(await post('/connections', { sourceId, destinationId, name: 'tagged', tags: [tag], configurations: { streams: [{ name: 'items', syncMode: 'full_refresh_overwrite' }] } }), 'ConnectionResponse')
    assert.deepEqual(tagged.tags, [tag])
    assert.deepEqual(ok(await get('/tags', { workspaceIds: [server.workspaceId] }), 'TagsResponse').data, [tag])
    const byTag = ok(await get('/connections', { tagIds: [tag.tagId] }), 'ConnectionsResponse')
    assert.deepEqual(
      byTag.data.map((c: any) => c.connectionId),
      [tagged.connectionId],
    )
    await send(`${server.base}/api/public/v1/connections/${tagged.connectionId}`, { method: 'DELETE', headers })
    assert.equal(ok(await get('/connections', { tagIds: [tag.tagId] }), 'ConnectionsResponse').data.length, 0)
    assert.equal(ok(await get('/connections', { tagIds: [tag.tagId], includeDeleted: true }), 'ConnectionsResponse').data.length, 1)

    const selected = ok(
      await post('/connections', { sourceId, destinationId, name: 'some fields', configurations: { streams: [{ name: 'items', syncMode: 'full_refresh_overwrite', selectedFields: [{ fieldPath: ['id'] }, { fieldPath: ['name'] }] }] } }),
      'ConnectionResponse',
    )
    assert.deepEqual(selected.configurations.streams[0].selectedFields, [{ fieldPath: ['id'] }, { fieldPath: ['name'] }])
    const stored = (await send(`${server.base}/api/v1/connections/get`, { headers, json: { connectionId: selected.connectionId } })).body.syncCatalog.streams[0].config
    assert.equal(stored.fieldSelectionEnabled, true)
    const unknownField = problem(await post('/connections', { sourceId, destinationId, configurations: { streams: [{ name: 'items', selectedFields: [{ fieldPath: ['nope'] }] }] } }), 422)
    assert.match(JSON.stringify(unknownField), /selected field 'nope' is not a field of the stream/)

    const workspaces = ok(await get('/workspaces', { workspaceIds: [server.workspaceId] }), 'WorkspacesResponse')
    assert.deepEqual(
      workspaces.data.map((w: any) => w.workspaceId),
      [server.workspaceId],
    )
  })

  it('auth: health and the token exchange are open under every prefix, form-encoded too; everything else needs the token', async () => {
    for (const prefix of ['/api/public/v1', '/v1', '/api/v1']) {
      assert.equal((await send(`${server.base}${prefix}/health`)).status, 200)
      const form = await send(`${server.base}${prefix}/applications/token`, { form: { grant_type: 'client_credentials', client_id: 'x', client_secret: TOKEN } })
      assert.equal(ok(form, 'PublicAccessTokenResponse').access_token, TOKEN)
      const json = await send(`${server.base}${prefix}/applications/token`, { json: { client_id: 'x', client_secret: TOKEN } })
      assert.equal(ok(json, 'PublicAccessTokenResponse').expires_in > 0, true)
    }
    problem(await send(`${server.base}/api/public/v1/applications/token`, { form: { grant_type: 'client_credentials', client_id: 'x', client_secret: 'wrong' } }), 401)
    problem(await send(`${server.base}/v1/workspaces`), 401)
    problem(await send(`${server.base}/api/public/v1/openapi.json`), 401)
    // The Config API keeps its own error body.
    const config = await send(`${server.base}/api/v1/workspaces/list`, { json: {} })
    assert.equal(config.status, 401)
    assert.match(config.contentType, /^application\/json/)
    assert.equal(typeof config.body.message, 'string')
  })

  it('serves its OpenAPI document, describing the routes it serves; the Config API document stays its own', async () => {
    const doc = (await send(`${server.base}/api/public/v1/openapi.json`, { headers })).body
    assert.equal(doc.servers[0].url, '/api/public/v1')
    for (const [path, method] of [
      ['/jobs', 'post'],
      ['/jobs/{jobId}', 'delete'],
      ['/connections/{connectionId}', 'patch'],
      ['/sources/{sourceId}', 'put'],
      ['/workspaces', 'get'],
      ['/streams', 'get'],
      ['/applications/token', 'post'],
    ] as const) {
      assert.ok(doc.paths[path]?.[method], `${method} ${path}`)
    }
    assert.ok(doc.paths['/applications/token'].post.requestBody.content['application/x-www-form-urlencoded'])
    assert.equal(doc.paths['/jobs/{jobId}'].get.responses['200'].content['application/json'].schema.$ref, '#/components/schemas/JobResponse')
    for (const ref of JSON.stringify(doc.paths).match(/#\/components\/schemas\/\w+/g) ?? []) assert.ok(doc.components.schemas[String(ref.split('/').pop())], ref)
    const v1 = (await send(`${server.base}/v1/openapi.json`, { headers })).body
    assert.equal(v1.servers[0].url, '/v1')
    const config = (await send(`${server.base}/api/v1/openapi.json`, { headers })).body
    assert.ok(Object.keys(config.paths).every((p) => p.startsWith('/api/v1/')))
  })
})
