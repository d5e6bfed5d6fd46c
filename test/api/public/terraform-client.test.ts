import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { FAKER_ID, ok, problem, send, startPublicServer, TOKEN, type PublicServer, type Answer } from './public-harness.js'

/**
 * terraform-provider-airbyte 1.x (Speakeasy Go SDK), replayed from its resources
 * (`*_resource.go`, `*_resource_sdk.go`) and SDK: `server_url` + path, `bearer_auth`, basic auth
 * or the client-credentials hook (form POST to `token_url` resolved against the server URL,
 * token_type checked case-insensitively). Create = POST then the state is the response; Read =
 * GET (404 drops the resource from the state); Update = PATCH (workspace, connection) or PUT
 * (source, destination, whole configuration with its `sourceType`); Delete = DELETE, 204 or
 * 404 accepted. Only the Public API: no Config API or web_backend call.
 */
class TerraformProvider {
  #token: string | undefined
  constructor(
    readonly serverUrl: string,
    readonly security: { bearerAuth: string } | { clientId: string; clientSecret: string; tokenUrl: string },
  ) {}

  async #headers(): Promise<Record<string, string>> {
    if ('bearerAuth' in this.security) return { authorization: `Bearer ${this.security.bearerAuth}`, accept: 'application/json', 'user-agent': 'speakeasy-sdk/terraform' }
    if (this.#token === undefined) {
      const tokenUrl = new URL(this.security.tokenUrl, this.serverUrl).toString()
      const res = await send(tokenUrl, { form: { grant_type: 'client_credentials', client_id: this.security.clientId, client_secret: this.security.clientSecret } })
      const body = ok(res, 'PublicAccessTokenResponse')
      assert.equal(String(body.token_type).toLowerCase(), 'bearer')
      this.#token = body.access_token
    }
    return { authorization: `Bearer ${this.#token}`, accept: 'application/json', 'user-agent': 'speakeasy-sdk/terraform' }
  }

  async call(method: string, path: string, json?: unknown): Promise<Answer> {
    return send(`${this.serverUrl}${path}`, { method, headers: await this.#headers(), ...(json === undefined ? {} : { json }) })
  }

  /** Delete: `case 204, 404: break`. */
  async destroy(path: string): Promise<void> {
    const res = await this.call('DELETE', path)
    assert.ok(res.status === 204 || res.status === 404, `${path}: ${res.status} ${res.text}`)
    if (res.status === 204) assert.equal(res.text, '')
  }
}

describe('Terraform provider 1.x against the Public API', () => {
  let server: PublicServer
  before(async () => {
    server = await startPublicServer()
  })
  after(async () => {
    await server.close()
  })

  for (const [label, security] of [
    ['bearer_auth', { bearerAuth: TOKEN }],
    ['client credentials (token_url relative to server_url)', { clientId: 'terraform', clientSecret: TOKEN, tokenUrl: 'v1/applications/token' }],
  ] as const) {
    it(`applies, refreshes, updates and destroys a workspace, a source, a destination and a connection (${label})`, async () => {
      const tf = new TerraformProvider(`${server.base}/v1`, security)
      // airbyte_workspace
      const ws = ok(await tf.call('POST', '/workspaces', { name: `tf ${label}` }), 'WorkspaceResponse')
      assert.equal(ws.name, `tf ${label}`)
      assert.deepEqual(ok(await tf.call('GET', `/workspaces/${ws.workspaceId}`), 'WorkspaceResponse'), ws)
      const renamed = ok(await tf.call('PATCH', `/workspaces/${ws.workspaceId}`, { name: 'tf renamed', notifications: { failure: { email: { enabled: true } } } }), 'WorkspaceResponse')
      assert.equal(renamed.name, 'tf renamed')
      assert.deepEqual(renamed.notifications.failure, { email: { enabled: true }, webhook: { enabled: false } })

      // airbyte_source_faker: configuration carries sourceType "faker" (a constant of the SDK model)
      const source = ok(await tf.call('POST', '/sources', { name: 'faker', workspaceId: ws.workspaceId, configuration: { count: 50, seed: 1, records_per_slice: 10, sourceType: 'faker' } }), 'SourceResponse')
      assert.equal(source.definitionId, FAKER_ID)
      assert.equal(source.sourceType, 'faker')
      assert.deepEqual(ok(await tf.call('GET', `/sources/${source.sourceId}`), 'SourceResponse'), source)
      const replaced = ok(await tf.call('PUT', `/sources/${source.sourceId}`, { name: 'faker 2', workspaceId: ws.workspaceId, configuration: { count: 80, seed: 1, sourceType: 'faker' } }), 'SourceResponse')
      assert.equal(replaced.name, 'faker 2')
      assert.equal(replaced.configuration.count, 80)
      assert.equal(replaced.configuration.records_per_slice, undefined, 'PUT replaces the whole configuration')

      // a destination resource (definition_id given explicitly, as airbyte_destination_* resources may)
      const destination = ok(
        await tf.call('POST', '/destinations', { name: 'files', workspaceId: ws.workspaceId, configuration: { destinationType: 'local-files', destination_path: join('tf', label.length.toString()) } }),
        'DestinationResponse',
      )
      assert.equal(destination.destinationType, 'local-files')
      const destination2 = ok(await tf.call('PUT', `/destinations/${destination.destinationId}`, { name: 'files 2', configuration: { destinationType: 'local-files', destination_path: 'tf2' } }), 'DestinationResponse')
      assert.equal(destination2.configuration.destination_path, 'tf2')

      // airbyte_connection with the provider's defaults (namespace_definition "destination", prefix "", non_breaking "ignore")
      const plan = {
        name: 'faker to files',
        sourceId: source.sourceId,
        destinationId: destination.destinationId,
        namespaceDefinition: 'destination',
        nonBreakingSchemaUpdatesBehavior: 'ignore',
        prefix: '',
        schedule: { scheduleType: 'cron', cronExpression: '0 0 * * * ?' },
        configurations: { streams: [{ name: 'users', syncMode: 'full_refresh_overwrite' }, { name: 'products', syncMode: 'full_refresh_append' }] },
      }
      const conn = ok(await tf.call('POST', '/connections', plan), 'ConnectionResponse')
      assert.equal(conn.namespaceDefinition, 'destination')
      assert.equal(conn.nonBreakingSchemaUpdatesBehavior, 'ignore')
      assert.equal(conn.prefix, '')
      assert.deepEqual(conn.schedule, { scheduleType: 'cron', cronExpression: '0 0 * * * ?' })
      assert.deepEqual(
        conn.configurations.streams.map((s: any) => [s.name, s.syncMode]),
        [
          ['users', 'full_refresh_overwrite'],
          ['products', 'full_refresh_append'],
        ],
      )
      assert.deepEqual(ok(await tf.call('GET', `/connections/${conn.connectionId}`), 'ConnectionResponse'), conn, 'a refresh plans no change')
      const patched = ok(
        await tf.call('PATCH', `/connections/${conn.connectionId}`, { namespaceDefinition: 'custom_format', namespaceFormat: 'tf_${SOURCE_NAMESPACE}', schedule: { scheduleType: 'manual' }, status: 'inactive' }),
        'ConnectionResponse',
      )
      assert.equal(patched.namespaceDefinition, 'custom_format')
      assert.equal(patched.namespaceFormat, 'tf_${SOURCE_NAMESPACE}')
      assert.deepEqual(patched.schedule, { scheduleType: 'manual' })
      assert.equal(patched.status, 'inactive')
      assert.equal(patched.configurations.streams.length, 2, 'streams untouched by the patch')

      // terraform destroy (reverse order), then a refresh finds them gone
      await tf.destroy(`/connections/${conn.connectionId}`)
      await tf.destroy(`/destinations/${destination.destinationId}`)
      await tf.destroy(`/sources/${source.sourceId}`)
      await tf.destroy(`/workspaces/${ws.workspaceId}`)
      problem(await tf.call('GET', `/sources/${source.sourceId}`), 404)
      problem(await tf.call('GET', `/workspaces/${ws.workspaceId}`), 404)
      await tf.destroy(`/workspaces/${ws.workspaceId}`)
    })
  }

  it('refuses what it cannot do with 400/422 naming the field', async () => {
    const tf = new TerraformProvider(`${server.base}/api/public/v1`, { bearerAuth: TOKEN })
    const noType = problem(await tf.call('POST', '/sources', { name: 'x', workspaceId: server.workspaceId, configuration: { count: 1 } }), 400)
    assert.match(noType.detail, /configuration\.sourceType/)
    const unknownType = problem(await tf.call('POST', '/sources', { name: 'x', workspaceId: server.workspaceId, configuration: { sourceType: 'nosuch' } }), 400)
    assert.match(unknownType.detail, /nosuch/)
    const badConfig = problem(await tf.call('POST', '/sources', { name: 'x', workspaceId: server.workspaceId, configuration: { sourceType: 'faker', count: 'many' } }), 422)
    assert.equal(badConfig.title, 'unprocessable-entity')
    assert.match(badConfig.detail, /count/)
    const noName = problem(await tf.call('POST', '/workspaces', {}), 400)
    assert.match(noName.detail, /name/)
    const otherOrg = problem(await tf.call('POST', '/workspaces', { name: 'x', organizationId: '11111111-1111-1111-1111-111111111111' }), 404)
    assert.match(otherOrg.detail, /11111111/)
    const source = ok(await tf.call('POST', '/sources', { name: 'faker', workspaceId: server.workspaceId, configuration: { sourceType: 'faker' } }), 'SourceResponse')
    const destination = ok(await tf.call('POST', '/destinations', { name: 'files', workspaceId: server.workspaceId, configuration: { destinationType: 'local-files', destination_path: 'x' } }), 'DestinationResponse')
    const dedup = problem(
      await tf.call('POST', '/connections', { sourceId: source.sourceId, destinationId: destination.destinationId, configurations: { streams: [{ name: 'users', syncMode: 'incremental_deduped_history' }] } }),
      422,
    )
    assert.match(dedup.detail, /destinationSyncMode|append_dedup/)
    const softDelete = problem(
      await tf.call('POST', '/connections', { sourceId: source.sourceId, destinationId: destination.destinationId, configurations: { streams: [{ name: 'users', syncMode: 'incremental_soft_delete' }] } }),
      400,
    )
    assert.match(softDelete.detail, /configurations\.streams\[0\]\.syncMode/)
    const unknownStream = problem(
      await tf.call('POST', '/connections', { sourceId: source.sourceId, destinationId: destination.destinationId, configurations: { streams: [{ name: 'nope', syncMode: 'full_refresh_append' }] } }),
      422,
    )
    assert.match(unknownStream.detail, /nope/)
    const badSchedule = problem(
      await tf.call('POST', '/connections', { sourceId: source.sourceId, destinationId: destination.destinationId, schedule: { scheduleType: 'cron', cronExpression: 'every day' } }),
      422,
    )
    assert.match(badSchedule.detail, /cronExpression/)
    problem(await tf.call('GET', '/connections/not-a-uuid'), 400)
    problem(await tf.call('GET', '/connections/00000000-0000-0000-0000-0000000000aa'), 404)
    problem(await tf.call('GET', '/nothing/here'), 404)
    const res = await fetch(`${server.base}/api/public/v1/workspaces`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{"name": ' })
    const badJson = problem({ status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.clone().text(), body: await res.json() }, 400)
    assert.match(badJson.detail, /Invalid json/)
  })
})
