import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import Fastify, { type FastifyInstance } from 'fastify'
import { installAuth } from '../../src/api/auth.js'
import { installErrorHandler } from '../../src/api/error-handler.js'
import { registerWebUi } from '../../src/api/web-ui.js'

const TOKEN = 'web-ui-token'

/** The UI's files beside an API route, with the token set, as createApp wires them. */
async function appWith(root: string | undefined): Promise<FastifyInstance> {
  const app = Fastify()
  installErrorHandler(app)
  installAuth(app, TOKEN)
  app.post('/api/v1/workspaces/list', async () => ({ workspaces: [] }))
  app.get('/api/v1/health', async () => ({ available: true }))
  await registerWebUi(app, root)
  await app.ready()
  return app
}

describe('web UI files served by the API process', () => {
  let root: string
  let app: FastifyInstance
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'sluice-web-'))
    await mkdir(join(root, 'assets'))
    await writeFile(join(root, 'index.html'), '<!doctype html><title>sluice</title>')
    await writeFile(join(root, 'assets', 'index-abc123.js'), 'console.log(1)')
    app = await appWith(root)
  })
  after(async () => {
    await app?.close()
    await rm(root, { recursive: true, force: true })
  })

  it('answers index.html for / and for the app paths, without the token and never cached', async () => {
    for (const url of ['/', '/connections', '/connections/6a1f/schema?x=1']) {
      const res = await app.inject({ method: 'GET', url })
      assert.equal(res.statusCode, 200, url)
      assert.match(res.headers['content-type'] as string, /text\/html/)
      assert.equal(res.headers['cache-control'], 'no-cache')
      assert.match(res.body, /<title>sluice<\/title>/)
    }
  })

  it('serves hashed assets for a year, and a missing file is a 404, not the app', async () => {
    const asset = await app.inject({ method: 'GET', url: '/assets/index-abc123.js' })
    assert.equal(asset.statusCode, 200)
    assert.match(asset.headers['cache-control'] as string, /immutable/)
    const missing = await app.inject({ method: 'GET', url: '/assets/nope.js' })
    assert.equal(missing.statusCode, 404)
    assert.equal(JSON.parse(missing.body).code, 'SLUICE_ERR_NOT_FOUND')
  })

  it('keeps the API first: its routes need the token, an unknown API path is the API 404', async () => {
    assert.equal((await app.inject({ method: 'POST', url: '/api/v1/workspaces/list' })).statusCode, 401)
    const ok = await app.inject({ method: 'POST', url: '/api/v1/workspaces/list', headers: { authorization: `Bearer ${TOKEN}` } })
    assert.deepEqual(JSON.parse(ok.body), { workspaces: [] })
    // An encoded path reaches the same API route: the check follows the route, not the raw URL.
    assert.equal((await app.inject({ method: 'POST', url: '/%61pi/v1/workspaces/list' })).statusCode, 401)
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/health' })).statusCode, 200)
    const unknown = await app.inject({ method: 'GET', url: '/api/v1/nope' })
    assert.equal(unknown.statusCode, 404)
    assert.match(JSON.parse(unknown.body).message, /No such endpoint/)
    // Only GET serves the app: anything else outside the UI's routes needs the token first.
    assert.equal((await app.inject({ method: 'POST', url: '/connections' })).statusCode, 401)
    assert.equal((await app.inject({ method: 'POST', url: '/connections', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 404)
  })

  it('without a build, serves nothing at / and the API still works', async () => {
    const bare = await appWith(undefined)
    try {
      assert.equal((await bare.inject({ method: 'GET', url: '/', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 404)
      assert.equal((await bare.inject({ method: 'GET', url: '/api/v1/health' })).statusCode, 200)
    } finally {
      await bare.close()
    }
  })
})
