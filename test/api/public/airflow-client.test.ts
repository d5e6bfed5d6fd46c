import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { configApiConnection, ok, pollUntil, problem, send, startPublicServer, TOKEN, type PublicServer } from './public-harness.js'

/**
 * apache-airflow-providers-airbyte 4.x-5.x (AirbyteHook over the airbyte-api Python SDK), replayed
 * from the hook and the SDK's sources: the SDK builds `server_url + path`; its OAuth2 hook posts
 * the token request form-encoded to `urljoin(server_url, token_url)` (token_url defaults to
 * `v1/applications/token`), checks `token_type == "Bearer"`, then sends `Authorization: Bearer`.
 * The hook calls GET /health (test_connection), POST /jobs (submit_sync_connection), GET
 * /jobs/{id} every wait_seconds until a terminal status (wait_for_job), DELETE /jobs/{id}
 * (cancel_job, on timeout or kill).
 */
class AirflowHook {
  #token: string | undefined
  constructor(
    readonly serverUrl: string,
    readonly clientId: string,
    readonly clientSecret: string,
    readonly tokenUrl = 'v1/applications/token',
  ) {}

  #headers(): Record<string, string> {
    return { accept: 'application/json', 'user-agent': 'speakeasy-sdk/python airbyte-api', ...(this.#token ? { authorization: `Bearer ${this.#token}` } : {}) }
  }

  /** The SDK's ClientCredentialsHook.do_token_request. */
  async authenticate(): Promise<void> {
    const url = new URL(this.tokenUrl, this.serverUrl).toString()
    const res = await send(url, { form: { grant_type: 'client_credentials', client_id: this.clientId, client_secret: this.clientSecret } })
    assert.ok(res.status >= 200 && res.status < 300, `token endpoint ${url}: ${res.status} ${res.text}`)
    const body = ok(res, 'PublicAccessTokenResponse')
    assert.equal(body.token_type, 'Bearer')
    this.#token = body.access_token
  }

  async testConnection(): Promise<number> {
    return (await send(`${this.serverUrl}/health`, { headers: { accept: '*/*' } })).status
  }

  async submitSyncConnection(connectionId: string): Promise<any> {
    if (this.#token === undefined) await this.authenticate()
    return ok(await send(`${this.serverUrl}/jobs`, { json: { connectionId, jobType: 'sync' }, headers: this.#headers() }), 'JobResponse')
  }

  async getJobDetails(jobId: number): Promise<any> {
    return ok(await send(`${this.serverUrl}/jobs/${jobId}`, { headers: this.#headers() }), 'JobResponse')
  }

  async cancelJob(jobId: number): Promise<any> {
    return ok(await send(`${this.serverUrl}/jobs/${jobId}`, { method: 'DELETE', headers: this.#headers() }), 'JobResponse')
  }

  /** wait_for_job: running/pending/incomplete continue; succeeded ends; failed and cancelled raise. */
  async waitForJob(jobId: number): Promise<any> {
    return pollUntil(
      () => this.getJobDetails(jobId),
      (job) => !['running', 'pending', 'incomplete'].includes(job.status),
    )
  }
}

describe('Airflow provider 4.x-5.x (airbyte-api SDK) against the Public API', () => {
  let server: PublicServer
  before(async () => {
    server = await startPublicServer()
  })
  after(async () => {
    await server.close()
  })

  for (const [label, path] of [
    ['/api/public/v1 (Airbyte OSS)', '/api/public/v1'],
    ['/v1 (the SDK default path shape)', '/v1'],
  ] as const) {
    it(`triggers a sync and polls it to success, server_url ending in ${label}`, async () => {
      const { connectionId } = await configApiConnection(server)
      const hook = new AirflowHook(`${server.base}${path}`, 'airflow', TOKEN)
      assert.equal(await hook.testConnection(), 200, 'health needs no token')
      const job = await hook.submitSyncConnection(connectionId)
      assert.equal(job.jobType, 'sync')
      assert.equal(job.connectionId, connectionId)
      assert.ok(Number.isInteger(job.jobId))
      assert.match(job.startTime, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/)
      const done = await hook.waitForJob(job.jobId)
      assert.equal(done.status, 'succeeded')
      assert.equal(done.rowsSynced, 30, 'the test source sends 30 rows')
      assert.ok(done.bytesSynced > 0)
      assert.match(done.duration, /^PT/)
    })
  }

  it('cancels a running job (DELETE answers 200 with the job) and the poll sees it cancelled', async () => {
    const { connectionId } = await configApiConnection(server, { source: { records: 1000, batchSize: 10, delayMs: 50 } })
    const hook = new AirflowHook(`${server.base}/api/public/v1`, 'airflow', TOKEN)
    const job = await hook.submitSyncConnection(connectionId)
    await pollUntil(
      () => hook.getJobDetails(job.jobId),
      (j) => j.status === 'running',
    )
    const cancelled = await hook.cancelJob(job.jobId)
    assert.equal(cancelled.jobId, job.jobId)
    const final = await hook.waitForJob(job.jobId)
    assert.equal(final.status, 'cancelled')
  })

  it('refuses a wrong client secret at the token endpoint and calls without a token', async () => {
    const { connectionId } = await configApiConnection(server)
    const hook = new AirflowHook(`${server.base}/api/public/v1`, 'airflow', 'wrong')
    await assert.rejects(hook.authenticate(), /401/)
    const unauthenticated = await send(`${server.base}/api/public/v1/jobs`, { json: { connectionId, jobType: 'sync' } })
    const p = problem(unauthenticated, 401)
    assert.equal(p.title, 'invalid-api-key')
  })

  it('answers unknown jobs with 404 and bad job ids with 400 naming the parameter', async () => {
    const hook = new AirflowHook(`${server.base}/api/public/v1`, 'airflow', TOKEN)
    await hook.authenticate()
    const auth = { authorization: `Bearer ${TOKEN}` }
    const missing = problem(await send(`${server.base}/api/public/v1/jobs/987654`, { headers: auth }), 404)
    assert.equal(missing.title, 'resource-not-found')
    assert.match(missing.detail, /987654/)
    const bad = problem(await send(`${server.base}/api/public/v1/jobs/abc`, { headers: auth }), 400)
    assert.match(bad.detail, /jobId/)
    const noType = problem(await send(`${server.base}/api/public/v1/jobs`, { json: { connectionId: '00000000-0000-0000-0000-00000000abcd' }, headers: auth }), 400)
    assert.match(noType.detail, /jobType/)
    const unknownConnection = problem(await send(`${server.base}/api/public/v1/jobs`, { json: { connectionId: '00000000-0000-0000-0000-00000000abcd', jobType: 'sync' }, headers: auth }), 404)
    assert.match(unknownConnection.detail, /00000000-0000-0000-0000-00000000abcd/)
  })
})
