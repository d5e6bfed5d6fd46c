import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { configApiConnection, ok, pollUntil, send, startPublicServer, TOKEN, type PublicServer } from './public-harness.js'

/**
 * dagster-airbyte's AirbyteWorkspace (AirbyteClient), replayed from its resources.py and
 * translator.py: token by JSON POST to `{rest_api_base_url}/applications/token` (or Basic auth),
 * then `accept: application/json`, `User-Agent: dagster`. Loading the workspace: GET
 * /workspaces/{id}, GET /connections?workspaceIds&limit (following `next` by merging its query
 * string into the params), the Config API's connections/get per connection, GET
 * /destinations/{id}. sync_and_poll: connections/get, GET /jobs?workspaceIds&connectionId&
 * createdAtStart (running jobs of the last two days), POST /jobs, GET /jobs/{id} every
 * poll_interval, DELETE /jobs/{id} when the run ends before the job.
 */
class DagsterAirbyteClient {
  #token: string | undefined
  constructor(
    readonly restApiBaseUrl: string,
    readonly configurationApiBaseUrl: string,
    readonly workspaceId: string,
    readonly auth: { clientId: string; clientSecret: string } | { username: string; password: string },
    readonly maxItemsPerPage = 100,
  ) {}

  async #headers(): Promise<Record<string, string>> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'dagster' }
    if ('clientId' in this.auth) {
      if (this.#token === undefined) {
        const res = await send(`${this.restApiBaseUrl}/applications/token`, { json: { client_id: this.auth.clientId, client_secret: this.auth.clientSecret }, headers: { accept: 'application/json' } })
        this.#token = String(ok(res, 'PublicAccessTokenResponse').access_token)
      }
      headers.authorization = `Bearer ${this.#token}`
    } else {
      headers.authorization = `Basic ${Buffer.from(`${this.auth.username}:${this.auth.password}`).toString('base64')}`
    }
    return headers
  }

  /** _paginated_request: params start with limit; each `next` query string overrides them. */
  async #paginated(url: string, params: Record<string, string>, schema: 'ConnectionsResponse' | 'JobsResponse'): Promise<any[]> {
    const data: any[] = []
    let query: Record<string, string> = { limit: String(this.maxItemsPerPage), ...params }
    for (let page = 0; page < 100; page++) {
      const body = ok(await send(url, { query, headers: await this.#headers() }), schema)
      data.push(...body.data)
      if (!body.next) return data
      query = { ...query, ...Object.fromEntries(new URL(body.next).searchParams) }
    }
    assert.fail('pagination did not end')
  }

  async validateWorkspaceId(): Promise<void> {
    ok(await send(`${this.restApiBaseUrl}/workspaces/${this.workspaceId}`, { headers: await this.#headers() }), 'WorkspaceResponse')
  }

  getConnections(): Promise<any[]> {
    return this.#paginated(`${this.restApiBaseUrl}/connections`, { workspaceIds: this.workspaceId }, 'ConnectionsResponse')
  }

  async getConnectionDetails(connectionId: string): Promise<any> {
    const res = await send(`${this.configurationApiBaseUrl}/connections/get`, { json: { connectionId }, headers: await this.#headers() })
    assert.equal(res.status, 200, res.text)
    return res.body
  }

  async getDestinationDetails(destinationId: string): Promise<any> {
    return ok(await send(`${this.restApiBaseUrl}/destinations/${destinationId}`, { headers: await this.#headers() }), 'DestinationResponse')
  }

  async getJobsForConnection(connectionId: string, createdAfter: Date): Promise<Array<{ id: number; status: string }>> {
    const createdAtStart = createdAfter.toISOString().replace(/\.\d{3}Z$/, 'Z')
    const jobs = await this.#paginated(`${this.restApiBaseUrl}/jobs`, { workspaceIds: this.workspaceId, connectionId, createdAtStart }, 'JobsResponse')
    return jobs.map((j) => ({ id: j.jobId, status: j.status }))
  }

  async startSyncJob(connectionId: string): Promise<any> {
    return ok(await send(`${this.restApiBaseUrl}/jobs`, { json: { connectionId, jobType: 'sync' }, headers: await this.#headers() }), 'JobResponse')
  }

  async getJobDetails(jobId: number): Promise<any> {
    return ok(await send(`${this.restApiBaseUrl}/jobs/${jobId}`, { headers: await this.#headers() }), 'JobResponse')
  }

  async cancelJob(jobId: number): Promise<any> {
    return ok(await send(`${this.restApiBaseUrl}/jobs/${jobId}`, { method: 'DELETE', headers: await this.#headers() }), 'JobResponse')
  }

  /** fetch_airbyte_workspace_data: the tables (selected streams) of every connection and their destination type. */
  async fetchWorkspaceData(): Promise<Array<{ connectionId: string; table: string; destinationType: string }>> {
    await this.validateWorkspaceId()
    const tables: Array<{ connectionId: string; table: string; destinationType: string }> = []
    for (const partial of await this.getConnections()) {
      const details = await this.getConnectionDetails(partial.connectionId)
      const destination = await this.getDestinationDetails(details.destinationId)
      for (const s of details.syncCatalog?.streams ?? []) {
        if (s.config.selected === true) tables.push({ connectionId: details.connectionId, table: `${details.prefix ?? ''}${s.stream.name}`, destinationType: destination.destinationType })
      }
    }
    return tables
  }

  /** sync_and_poll (poll_previous_running_sync false: a running job fails the run). */
  async syncAndPoll(connectionId: string, beforeEachPoll: (jobId: number) => Promise<void> = async () => {}): Promise<{ jobId: number; status: string; cancelled: boolean }> {
    await this.getConnectionDetails(connectionId)
    const running = (await this.getJobsForConnection(connectionId, new Date(Date.now() - 2 * 86_400_000))).filter((j) => ['running', 'pending', 'incomplete'].includes(j.status))
    if (running.length > 0) throw new Error(`Found sync job for connection_id=${connectionId} already running.`)
    let job = await this.startSyncJob(connectionId)
    let cancelled = false
    try {
      job = await pollUntil(
        async () => {
          await beforeEachPoll(job.jobId)
          return this.getJobDetails(job.jobId)
        },
        (j) => !['running', 'pending', 'incomplete'].includes(j.status),
      )
      if (job.status !== 'succeeded') throw new Error(`Job ${job.status}: ${job.jobId}`)
    } finally {
      if (!['succeeded', 'error', 'cancelled', 'failed'].includes(job.status)) {
        await this.cancelJob(job.jobId)
        cancelled = true
      }
    }
    return { jobId: job.jobId, status: job.status, cancelled }
  }
}

describe('Dagster AirbyteWorkspace against the Public API and the Config API', () => {
  let server: PublicServer
  const ids: string[] = []
  before(async () => {
    server = await startPublicServer()
    for (let i = 0; i < 3; i++) ids.push((await configApiConnection(server, { name: `dagster ${i}` })).connectionId)
  })
  after(async () => {
    await server.close()
  })

  const client = (auth: ConstructorParameters<typeof DagsterAirbyteClient>[3], pageSize = 100) =>
    new DagsterAirbyteClient(`${server.base}/api/public/v1`, `${server.base}/api/v1`, server.workspaceId, auth, pageSize)

  it('loads the workspace (connections over several pages, Config API details, destination types)', async () => {
    const tables = await client({ clientId: 'dagster', clientSecret: TOKEN }, 2).fetchWorkspaceData()
    assert.deepEqual(
      tables.map((t) => t.connectionId).sort(),
      [...ids].sort(),
      'every connection once, though the page size is 2',
    )
    for (const t of tables) {
      assert.equal(t.table, 'items')
      assert.equal(t.destinationType, 'test')
    }
  })

  it('sync_and_poll runs a sync to success with Basic auth', async () => {
    const result = await client({ username: 'airbyte', password: TOKEN }).syncAndPoll(ids[0] as string)
    assert.equal(result.status, 'succeeded')
    assert.equal(result.cancelled, false)
    // The job is now listed among the connection's jobs since two days ago.
    const jobs = await client({ username: 'airbyte', password: TOKEN }).getJobsForConnection(ids[0] as string, new Date(Date.now() - 2 * 86_400_000))
    assert.ok(jobs.some((j) => j.id === result.jobId && j.status === 'succeeded'))
  })

  it('a run that ends before the job cancels it (DELETE /jobs/{id})', async () => {
    const slow = await configApiConnection(server, { source: { records: 2000, batchSize: 10, delayMs: 50 } })
    const c = client({ clientId: 'dagster', clientSecret: TOKEN })
    let polls = 0
    await assert.rejects(
      c.syncAndPoll(slow.connectionId, async () => {
        if (++polls === 3) throw new Error('run terminated')
      }),
      /run terminated/,
    )
    const jobs = await c.getJobsForConnection(slow.connectionId, new Date(Date.now() - 86_400_000))
    assert.equal(jobs.length, 1)
    const final = await pollUntil(
      () => c.getJobDetails(jobs[0]?.id as number),
      (j) => j.status === 'cancelled',
    )
    assert.equal(final.status, 'cancelled')
  })

  it('refuses a second sync_and_poll while a job runs, as the client checks before starting', async () => {
    const slow = await configApiConnection(server, { source: { records: 2000, batchSize: 10, delayMs: 50 } })
    const c = client({ clientId: 'dagster', clientSecret: TOKEN })
    const job = await c.startSyncJob(slow.connectionId)
    await assert.rejects(c.syncAndPoll(slow.connectionId), /already running/)
    await c.cancelJob(job.jobId)
  })
})
