import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { pino } from 'pino'
import { startSluice, type RunningSluice } from '../../src/server.js'
import { airbyteManifest } from '../connectors/declarative/helpers/mock-api.js'
import { createTestDatabase, type TestDatabase } from './pg-test-database.js'

// Two API processes (in-process servers) on one PostgreSQL store: a custom definition added
// through one is usable through the other at once, without a restart.
describe('custom definitions across API processes', () => {
  let tdb: TestDatabase
  const servers: RunningSluice[] = []
  const dirs: string[] = []

  async function post(s: RunningSluice, path: string, body: unknown = {}): Promise<{ status: number; body: any }> {
    const res = await s.app.inject({ method: 'POST', url: `/api/v1/${path}`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) })
    return { status: res.statusCode, body: res.body === '' ? undefined : JSON.parse(res.body) }
  }

  before(async () => {
    tdb = await createTestDatabase('defs')
    const key = randomBytes(32).toString('hex')
    for (let i = 0; i < 2; i++) {
      const dataDir = await mkdtemp(join(tmpdir(), 'sluice-defs-'))
      dirs.push(dataDir)
      servers.push(
        await startSluice({ port: 0, dataDir, databaseUrl: tdb.url, worker: false, env: { ...process.env, SLUICE_SECRET_KEY: key, SLUICE_SCHEDULER_TICK_MS: '3600000' }, logger: pino({ level: 'silent' }) }),
      )
    }
  })
  after(async () => {
    for (const s of servers) await s.close()
    await tdb?.drop()
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })

  test('a definition created through one process is listed, read and used through the other', async () => {
    const [a, b] = servers as [RunningSluice, RunningSluice]
    const created = await post(a, 'source_definitions/create', { manifest: airbyteManifest('source-xkcd'), name: 'xkcd' })
    assert.equal(created.status, 200, JSON.stringify(created.body))
    const id = created.body.sourceDefinitionId as string

    const got = await post(b, 'source_definitions/get', { sourceDefinitionId: id })
    assert.equal(got.status, 200, JSON.stringify(got.body))
    assert.equal(got.body.name, 'xkcd')
    const listed = await post(b, 'source_definitions/list')
    assert.ok(listed.body.sourceDefinitions.some((d: { sourceDefinitionId: string }) => d.sourceDefinitionId === id))
    const workspaceId = (await post(b, 'workspaces/list')).body.workspaces[0].workspaceId
    const source = await post(b, 'sources/create', { workspaceId, sourceDefinitionId: id, name: 'comics', connectionConfiguration: {} })
    assert.equal(source.status, 200, JSON.stringify(source.body))

    // An unknown id is still a 404 after the refresh.
    assert.equal((await post(b, 'source_definitions/get', { sourceDefinitionId: '0b9d2a4e-1111-4222-8333-944455566677' })).status, 404)
  })
})
