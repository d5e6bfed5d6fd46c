import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { gunzipSync } from 'node:zlib'
import { ok, pollUntil, problem, send, startPublicServer, TOKEN, type PublicServer } from './public-harness.js'

/**
 * PyAirbyte's airbyte.cloud (CloudWorkspace, CloudConnection, SyncResult over api_util.py),
 * replayed call for call: the airbyte-api SDK against `api_root` (= .../api/public/v1; its
 * OAuth2 hook posts the token form to `api_root + "/applications/token"`), and the Config API at
 * `api_root` with `/api/public/v1` replaced by `/api/v1`, authenticated with a token fetched by a
 * JSON POST to the same token URL (`_make_config_api_request`).
 */
class PyAirbyteWorkspace {
  #sdkToken: string | undefined
  readonly configApiRoot: string
  constructor(
    readonly apiRoot: string,
    readonly workspaceId: string,
    readonly clientId: string,
    readonly clientSecret: string,
  ) {
    this.configApiRoot = apiRoot.replace(/\/api\/public\/v1$/, '/api/v1')
  }

  async #sdkHeaders(): Promise<Record<string, string>> {
    if (this.#sdkToken === undefined) {
      const res = await send(`${this.apiRoot}/applications/token`, { form: { grant_type: 'client_credentials', client_id: this.clientId, client_secret: this.clientSecret } })
      this.#sdkToken = ok(res, 'PublicAccessTokenResponse').access_token
    }
    return { accept: 'application/json', authorization: `Bearer ${this.#sdkToken}` }
  }

  async sdk(method: string, path: string, schema: Parameters<typeof ok>[1], req: { json?: unknown; query?: Record<string, any> } = {}): Promise<any> {
    return ok(await send(`${this.apiRoot}${path}`, { method, headers: await this.#sdkHeaders(), ...req }), schema)
  }

  async sdkDelete(path: string): Promise<void> {
    const res = await send(`${this.apiRoot}${path}`, { method: 'DELETE', headers: await this.#sdkHeaders() })
    assert.equal(res.status, 204, res.text)
  }

  /** _make_config_api_request: a fresh bearer token (get_bearer_token, JSON) then POST. */
  async config(path: string, json: unknown): Promise<{ status: number; body: any }> {
    const token = await send(`${this.apiRoot}/applications/token`, { json: { client_id: this.clientId, client_secret: this.clientSecret }, headers: { accept: 'application/json' } })
    assert.equal(token.status, 200, token.text)
    const res = await send(`${this.configApiRoot}${path}`, { json, headers: { authorization: `Bearer ${token.body.access_token}`, 'user-agent': 'PyAirbyte Client' } })
    return { status: res.status, body: res.body }
  }

  /** list_sources / list_destinations / list_connections: pages of PAGE_SIZE until a short or `next`-less page. */
  async listByName(resource: 'sources' | 'destinations' | 'connections', name: string): Promise<any[]> {
    const schema = resource === 'sources' ? 'SourcesResponse' : resource === 'destinations' ? 'DestinationsResponse' : 'ConnectionsResponse'
    const found: any[] = []
    for (let offset = 0; ; ) {
      const page = await this.sdk('GET', `/${resource}`, schema, { query: { workspaceIds: [this.workspaceId], offset, limit: 100 } })
      if (page.data.length === 0) break
      found.push(...page.data.filter((r: any) => r.name === name))
      if (!page.next) break
      offset += page.data.length
    }
    return found
  }
}

async function jsonlRowCount(dir: string): Promise<number> {
  const files = ((await readdir(dir, { recursive: true })) as string[]).filter((f) => /\.jsonl(\.gz)?$/.test(f))
  let n = 0
  for (const f of files) {
    const raw = await readFile(join(dir, f))
    n += (f.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8').split('\n').filter((l) => l !== '').length
  }
  return n
}

describe('PyAirbyte airbyte.cloud against the Public API and the Config API', () => {
  let server: PublicServer
  let ws: PyAirbyteWorkspace
  before(async () => {
    server = await startPublicServer()
    ws = new PyAirbyteWorkspace(`${server.base}/api/public/v1`, server.workspaceId, 'pyairbyte', TOKEN)
  })
  after(async () => {
    await server.close()
  })

  it('deploys Faker and Local Files, connects them, syncs, reads logs, state, catalog and organization, then deletes', async () => {
    // CloudWorkspace.connect()
    const workspace = await ws.sdk('GET', `/workspaces/${server.workspaceId}`, 'WorkspaceResponse')
    assert.equal(workspace.workspaceId, server.workspaceId)
    // get_organization(): workspaces/get_organization_info, then organizations/get_organization_info
    const org = await ws.config('/workspaces/get_organization_info', { workspaceId: server.workspaceId })
    assert.equal(org.status, 200)
    assert.equal(typeof org.body.organizationName, 'string')
    const orgInfo = await ws.config('/organizations/get_organization_info', { organizationId: org.body.organizationId })
    assert.equal(orgInfo.status, 200)
    assert.equal(orgInfo.body.organizationId, org.body.organizationId)
    assert.equal(orgInfo.body.sso, false)

    // deploy_source (unique name check first; sourceType from the connector name "source-faker")
    const sourceName = 'faker delete-me'
    assert.deepEqual(await ws.listByName('sources', sourceName), [])
    const source = await ws.sdk('POST', '/sources', 'SourceResponse', { json: { name: sourceName, workspaceId: server.workspaceId, configuration: { count: 120, seed: 3, sourceType: 'faker' } } })
    assert.equal(source.sourceType, 'faker')
    assert.equal(source.configuration.sourceType, undefined, 'the type is not stored in the configuration')
    // deploy_destination (a dict with destinationType)
    const destName = 'files delete-me'
    assert.deepEqual(await ws.listByName('destinations', destName), [])
    const destination = await ws.sdk('POST', '/destinations', 'DestinationResponse', {
      json: { name: destName, workspaceId: server.workspaceId, configuration: { destinationType: 'local-files', destination_path: 'pyairbyte', format: { format_type: 'JSONL' } } },
    })
    assert.equal(destination.destinationType, 'local-files')
    // deploy_connection: stream names only; the server picks each stream's mode
    const connection = await ws.sdk('POST', '/connections', 'ConnectionResponse', {
      json: { name: 'faker to files delete-me', sourceId: source.sourceId, destinationId: destination.destinationId, configurations: { streams: [{ name: 'users' }] }, prefix: '' },
    })
    assert.deepEqual(
      connection.configurations.streams.map((s: any) => [s.name, s.syncMode]),
      [['users', 'full_refresh_overwrite']],
      'Local Files does not deduplicate: full refresh overwrite',
    )

    // run_sync() + SyncResult.wait_for_completion(): GET /jobs/{id} every JOB_WAIT_INTERVAL_SECS
    const started = await ws.sdk('POST', '/jobs', 'JobResponse', { json: { connectionId: connection.connectionId, jobType: 'sync' } })
    const job = await pollUntil(
      () => ws.sdk('GET', `/jobs/${started.jobId}`, 'JobResponse'),
      (j) => ['succeeded', 'failed', 'cancelled'].includes(j.status),
    )
    assert.equal(job.status, 'succeeded')
    assert.equal(job.rowsSynced, 120)
    assert.ok(!Number.isNaN(Date.parse(job.startTime)))
    assert.equal(await jsonlRowCount(join(server.dataDir, 'files', 'pyairbyte')), 120)
    // SyncResult._fetch_job_with_attempts: Config API jobs/get
    const withAttempts = await ws.config('/jobs/get', { id: started.jobId })
    assert.equal(withAttempts.status, 200)
    assert.equal(withAttempts.body.attempts.length, 1)
    // get_previous_sync_logs(): GET /jobs newest first
    const logs = await ws.sdk('GET', '/jobs', 'JobsResponse', {
      query: { workspaceIds: [server.workspaceId], connectionId: connection.connectionId, limit: 100, offset: 0, orderBy: 'createdAt|DESC', jobType: 'sync' },
    })
    assert.deepEqual(
      logs.data.map((j: any) => j.jobId),
      [started.jobId],
    )

    // dump_raw_state / import_raw_state (state/get, state/create_or_update_safe)
    const state = await ws.config('/state/get', { connectionId: connection.connectionId })
    assert.equal(state.status, 200)
    const written = await ws.config('/state/create_or_update_safe', {
      connectionId: connection.connectionId,
      connectionState: { stateType: 'stream', connectionId: connection.connectionId, streamState: [{ streamDescriptor: { name: 'users' }, streamState: { updated_at: '2024-01-01T00:00:00Z' } }] },
    })
    assert.equal(written.status, 200, JSON.stringify(written.body))
    assert.deepEqual(written.body.streamState, [{ streamDescriptor: { name: 'users' }, streamState: { updated_at: '2024-01-01T00:00:00Z' } }])
    assert.deepEqual((await ws.config('/state/get', { connectionId: connection.connectionId })).body, written.body)
    // get_catalog(): web_backend/connections/get
    const catalog = await ws.config('/web_backend/connections/get', { connectionId: connection.connectionId, withRefreshedCatalog: false })
    assert.equal(catalog.status, 200)
    assert.ok(catalog.body.syncCatalog.streams.some((s: any) => s.stream.name === 'users'))

    // set_schedule / disable / set_selected_streams: PATCH /connections/{id}
    const scheduled = await ws.sdk('PATCH', `/connections/${connection.connectionId}`, 'ConnectionResponse', { json: { schedule: { scheduleType: 'cron', cronExpression: '0 0 12 * * ?' } } })
    assert.deepEqual(scheduled.schedule, { scheduleType: 'cron', cronExpression: '0 0 12 * * ?' })
    const disabled = await ws.sdk('PATCH', `/connections/${connection.connectionId}`, 'ConnectionResponse', { json: { status: 'inactive' } })
    assert.equal(disabled.status, 'inactive')
    assert.equal(disabled.schedule.scheduleType, 'cron', 'a patch changes only what it sends')
    const restreamed = await ws.sdk('PATCH', `/connections/${connection.connectionId}`, 'ConnectionResponse', { json: { configurations: { streams: [{ name: 'users' }, { name: 'products' }] } } })
    assert.deepEqual(restreamed.configurations.streams.map((s: any) => s.name).sort(), ['products', 'users'])
    assert.equal((await ws.listByName('connections', 'faker to files delete-me')).length, 1)

    // permanently_delete_connection(cascade): get, delete connection, get + delete source, destination
    await ws.sdk('GET', `/connections/${connection.connectionId}`, 'ConnectionResponse')
    await ws.sdkDelete(`/connections/${connection.connectionId}`)
    assert.equal((await ws.sdk('GET', `/connections/${connection.connectionId}`, 'ConnectionResponse')).status, 'deprecated')
    assert.equal((await ws.sdk('GET', `/sources/${source.sourceId}`, 'SourceResponse')).name, sourceName)
    await ws.sdkDelete(`/sources/${source.sourceId}`)
    await ws.sdkDelete(`/destinations/${destination.destinationId}`)
    problem(await send(`${server.base}/api/public/v1/sources/${source.sourceId}`, { headers: { authorization: `Bearer ${TOKEN}` } }), 404)
    assert.deepEqual(await ws.listByName('sources', sourceName), [])
  })

  it('state/create_or_update_safe answers 423 while a job of the connection has not ended', async () => {
    const source = await ws.sdk('POST', '/sources', 'SourceResponse', {
      json: { name: 'slow', workspaceId: server.workspaceId, definitionId: '5b1a7e3c-0d2f-4c61-9a57-7f3e2c1d0a01', configuration: { records: 2000, batchSize: 10, delayMs: 50, runKey: 'py-slow' } },
    })
    const destination = await ws.sdk('POST', '/destinations', 'DestinationResponse', {
      json: { name: 'slow out', workspaceId: server.workspaceId, configuration: { destinationType: 'test', path: join(server.dataDir, 'out', 'py-slow'), runKey: 'py-slow' } },
    })
    const connection = await ws.sdk('POST', '/connections', 'ConnectionResponse', { json: { sourceId: source.sourceId, destinationId: destination.destinationId } })
    assert.deepEqual(connection.configurations.streams.map((s: any) => [s.name, s.syncMode]), [['items', 'incremental_deduped_history']], 'every stream, deduplicated when the destination can')
    const job = await ws.sdk('POST', '/jobs', 'JobResponse', { json: { connectionId: connection.connectionId, jobType: 'sync' } })
    const refused = await ws.config('/state/create_or_update_safe', { connectionId: connection.connectionId, connectionState: { stateType: 'not_set', connectionId: connection.connectionId } })
    assert.equal(refused.status, 423)
    assert.match(refused.body.message, /cannot be replaced until it ends/)
    await ws.sdk('DELETE', `/jobs/${job.jobId}`, 'JobResponse')
    await pollUntil(
      () => ws.sdk('GET', `/jobs/${job.jobId}`, 'JobResponse'),
      (j) => j.status === 'cancelled',
    )
    const global = await ws.config('/state/create_or_update_safe', { connectionId: connection.connectionId, connectionState: { stateType: 'global', connectionId: connection.connectionId } })
    assert.equal(global.status, 422)
    assert.equal(global.body.validationErrors[0].propertyPath, 'connectionState.stateType')
    const unknownOrg = await ws.config('/organizations/get_organization_info', { organizationId: '11111111-1111-1111-1111-111111111111' })
    assert.equal(unknownOrg.status, 404)
  })
})
