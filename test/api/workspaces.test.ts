import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createHarness, type ApiHarness } from './api-harness.js'

describe('workspaces and transport', () => {
  let h: ApiHarness
  before(async () => {
    h = await createHarness()
  })
  after(async () => {
    await h.close()
  })

  it('GET /api/v1/health answers {available, db}, with or without a trailing slash', async () => {
    for (const url of ['/api/v1/health', '/api/v1/health/']) {
      const res = await h.app.inject({ method: 'GET', url })
      assert.equal(res.statusCode, 200)
      assert.deepEqual(res.json(), { available: true, db: true })
    }
  })

  it('lists the default workspace with no body, an empty body, {} or extra keys', async () => {
    const bodies: Array<unknown> = [undefined, '', {}, { workspaceId: 'whatever', extra: 1 }]
    for (const body of bodies) {
      const res = await h.post('workspaces/list', body)
      assert.equal(res.statusCode, 200, `body ${JSON.stringify(body)}`)
      const list = res.json().workspaces
      assert.equal(list.length, 1)
      assert.equal(list[0].name, 'default')
      assert.equal(list[0].slug, 'default')
      assert.equal(list[0].organizationId, '00000000-0000-0000-0000-000000000000')
      assert.equal(typeof list[0].customerId, 'string')
      assert.equal(list[0].initialSetupComplete, false)
    }
  })

  it('accepts a trailing slash on POST routes', async () => {
    const res = await h.post('workspaces/list/')
    assert.equal(res.statusCode, 200)
    assert.equal(res.json().workspaces.length, 1)
  })

  it('reads a body whatever its content type (curl -d sends form encoding)', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/workspaces/get',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: JSON.stringify({ workspaceId: h.workspaceId }),
    })
    assert.equal(res.statusCode, 200)
    assert.equal(res.json().workspaceId, h.workspaceId)
  })

  it('creates, gets (by id and slug), updates and deletes a workspace', async () => {
    const created = await h.post('workspaces/create', { name: 'Data Team', email: 'a@b.c', unknownField: true })
    assert.equal(created.statusCode, 200)
    const ws = created.json()
    assert.equal(ws.slug, 'data-team')
    assert.equal(ws.email, 'a@b.c')
    assert.equal(ws.organizationId, '00000000-0000-0000-0000-000000000000')

    const again = await h.post('workspaces/create', { name: 'Data Team' })
    assert.equal(again.json().slug, 'data-team-2', 'slugs stay unique')
    const concurrent = await Promise.all([1, 2, 3].map(() => h.post('workspaces/create', { name: 'Twin' })))
    assert.deepEqual(concurrent.map((r) => r.json().slug).sort(), ['twin', 'twin-2', 'twin-3'])

    assert.equal((await h.post('workspaces/get', { workspaceId: ws.workspaceId })).json().name, 'Data Team')
    assert.equal((await h.post('workspaces/get_by_slug', { slug: 'data-team' })).json().workspaceId, ws.workspaceId)

    const updated = await h.post('workspaces/update', { workspaceId: ws.workspaceId, name: 'Analytics', news: true })
    assert.equal(updated.statusCode, 200)
    assert.equal(updated.json().name, 'Analytics')
    assert.equal(updated.json().news, true)
    assert.equal(updated.json().email, 'a@b.c', 'update is a patch')

    const renamed = await h.post('workspaces/update_name', { workspaceId: ws.workspaceId, name: 'Renamed' })
    assert.equal(renamed.json().name, 'Renamed')

    const byOrg = await h.post('workspaces/list_by_organization_id', { organizationId: '00000000-0000-0000-0000-000000000000', nameContains: 'renam' })
    assert.deepEqual(
      byOrg.json().workspaces.map((w: { workspaceId: string }) => w.workspaceId),
      [ws.workspaceId],
    )

    const del = await h.post('workspaces/delete', { workspaceId: ws.workspaceId })
    assert.equal(del.statusCode, 204)
    assert.equal(del.body, '')
    const gone = await h.post('workspaces/get', { workspaceId: ws.workspaceId })
    assert.equal(gone.statusCode, 404)
  })

  it('answers 404 with the id for an unknown workspace', async () => {
    const id = '6b9e7c1a-0000-4000-8000-000000000000'
    for (const path of ['workspaces/get', 'workspaces/delete', 'workspaces/update']) {
      const res = await h.post(path, { workspaceId: id })
      assert.equal(res.statusCode, 404, path)
      const body = res.json()
      assert.equal(body.id, id)
      assert.match(body.message, /Could not find configuration for StandardWorkspace/)
      assert.equal(typeof body.exceptionClassName, 'string')
      assert.equal(body.exceptionStack.length, 0, 'never a stack trace')
    }
    const slug = await h.post('workspaces/get_by_slug', { slug: 'nope' })
    assert.equal(slug.statusCode, 404)
  })

  it('answers 422 with validationErrors for a missing or wrongly typed field', async () => {
    const res = await h.post('workspaces/get', {})
    assert.equal(res.statusCode, 422)
    const body = res.json()
    assert.deepEqual(body.validationErrors, [{ propertyPath: 'workspaceId', invalidValue: 'null', message: "must have required property 'workspaceId'" }])

    const bad = await h.post('workspaces/get', { workspaceId: 'not-a-uuid' })
    assert.equal(bad.statusCode, 422)
    assert.equal(bad.json().validationErrors[0].propertyPath, 'workspaceId')
    assert.equal(bad.json().validationErrors[0].invalidValue, 'not-a-uuid')

    const noName = await h.post('workspaces/create', { name: '' })
    assert.equal(noName.statusCode, 422)
    assert.equal(noName.json().validationErrors[0].propertyPath, 'name')
  })

  it('answers 422 for malformed JSON, without a stack trace', async () => {
    const res = await h.post('workspaces/get', '{"workspaceId": ')
    assert.equal(res.statusCode, 422)
    const body = res.json()
    assert.match(body.message, /^Invalid json/)
    assert.equal(body.code, 'SLUICE_ERR_INVALID_JSON')
    assert.doesNotMatch(res.body, /at .*\.js:\d+/)
  })

  it('answers 422 for a JSON body that is not an object', async () => {
    for (const body of ['[]', '"text"', '42']) {
      const res = await h.post('workspaces/get', body)
      assert.equal(res.statusCode, 422, body)
      assert.match(res.json().message, /must be object/)
    }
  })

  it('answers 404 in the Airbyte shape for an unknown endpoint', async () => {
    const res = await h.post('nothing/here', {})
    assert.equal(res.statusCode, 404)
    assert.match(res.json().message, /No such endpoint/)
  })

  it('serves an OpenAPI 3 document listing every registered route', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })
    assert.equal(res.statusCode, 200)
    const doc = res.json()
    assert.equal(doc.openapi, '3.0.3')
    for (const path of [
      '/api/v1/health',
      '/api/v1/workspaces/list',
      '/api/v1/sources/discover_schema',
      '/api/v1/connections/update',
      '/api/v1/destination_definition_specifications/get',
      '/api/v1/applications/token',
      // Other modules' routes are collected too.
      '/api/v1/connections/sync',
      '/api/v1/jobs/get',
    ]) {
      assert.ok(doc.paths[path], `${path} documented`)
    }
    assert.ok(doc.paths['/api/v1/workspaces/get'].post.requestBody.content['application/json'].schema.required.includes('workspaceId'))
    assert.ok(doc.paths['/api/v1/connections/delete'].post.responses['204'])
    // Every route of the app is in the document (including other modules' routes).
    const printed = h.app.printRoutes({ commonPrefix: false })
    assert.ok(Object.keys(doc.paths).length >= 40, `${Object.keys(doc.paths).length} paths`)
    assert.ok(printed.includes('openapi.json'))
  })
})

describe('auth with SLUICE_API_TOKEN', () => {
  let h: ApiHarness
  before(async () => {
    h = await createHarness({ apiToken: 's3cret-token' })
  })
  after(async () => {
    await h.close()
  })

  it('keeps health open', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/v1/health/' })
    assert.equal(res.statusCode, 200)
  })

  it('answers 401 without or with wrong credentials', async () => {
    const none = await h.post('workspaces/list')
    assert.equal(none.statusCode, 401)
    assert.equal(none.json().code, 'SLUICE_ERR_UNAUTHORIZED')
    assert.equal((await h.post('workspaces/list', {}, { authorization: 'Bearer nope' })).statusCode, 401)
    const wrongBasic = `Basic ${Buffer.from('airbyte:password').toString('base64')}`
    assert.equal((await h.post('workspaces/list', {}, { authorization: wrongBasic })).statusCode, 401)
    assert.equal((await h.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).statusCode, 401)
  })

  it('accepts Bearer and Basic (any user, token as password)', async () => {
    assert.equal((await h.post('workspaces/list', {}, { authorization: 'Bearer s3cret-token' })).statusCode, 200)
    const basic = `Basic ${Buffer.from('airbyte:s3cret-token').toString('base64')}`
    assert.equal((await h.post('workspaces/list', {}, { authorization: basic })).statusCode, 200)
  })
})

describe('applications/token', () => {
  it('without auth: hands out a placeholder token', async () => {
    const h = await createHarness()
    try {
      const res = await h.post('applications/token', { client_id: 'x', client_secret: 'y' })
      assert.equal(res.statusCode, 200)
      assert.equal(res.json().token_type, 'Bearer')
    } finally {
      await h.close()
    }
  })

  it('with SLUICE_API_TOKEN: open route, returns the token for the right secret only, and it works as Bearer', async () => {
    const h = await createHarness({ apiToken: 'tok-abc' })
    try {
      assert.equal((await h.post('applications/token', { client_id: 'kestra', client_secret: 'nope' })).statusCode, 401)
      const res = await h.post('applications/token', { client_id: 'kestra', client_secret: 'tok-abc' })
      assert.equal(res.statusCode, 200)
      const token = res.json().access_token
      assert.equal((await h.post('workspaces/list', {}, { authorization: `Bearer ${token}` })).statusCode, 200)
    } finally {
      await h.close()
    }
  })
})
