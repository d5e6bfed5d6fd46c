import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createHarness, type ApiHarness } from './api-harness.js'
import { discoverCalls, secretDestinationDefinition, secretSourceDefinition } from './secret-test-connectors.js'

const SRC_DEF = secretSourceDefinition.definitionId
const DST_DEF = secretDestinationDefinition.definitionId
const MASK = '**********'
const PASSWORD = 'hunter2-very-secret'
const TUNNEL_PASSWORD = 'tunnel-pw-42'

/** Every byte of the SQLite files (db + WAL), to check what is at rest. */
function storeBytes(h: ApiHarness): string {
  h.db.pragma('wal_checkpoint(FULL)')
  return readdirSync(h.dataDir)
    .filter((f) => f.startsWith('sluice.db'))
    .map((f) => readFileSync(join(h.dataDir, f)).toString('latin1'))
    .join('')
}

describe('sources and destinations', () => {
  let h: ApiHarness
  before(async () => {
    h = await createHarness({ definitions: [secretSourceDefinition, secretDestinationDefinition], timeouts: { checkMs: 300 } })
  })
  after(async () => {
    await h.close()
  })

  const createSource = async (config: Record<string, unknown> = {}) => {
    const res = await h.post('sources/create', {
      sourceDefinitionId: SRC_DEF,
      workspaceId: h.workspaceId,
      name: 'PostgreSQL - Ecommerce',
      connectionConfiguration: { host: 'db', port: 5432, password: PASSWORD, tunnel: { method: 'SSH_PASSWORD', tunnel_password: TUNNEL_PASSWORD }, ...config },
    })
    assert.equal(res.statusCode, 200, res.body)
    return res.json()
  }

  it('creates a source, masks its secrets (nested oneOf too) and encrypts them at rest', async () => {
    const src = await createSource()
    assert.equal(src.sourceName, 'Secret Test')
    assert.equal(src.name, 'PostgreSQL - Ecommerce')
    assert.equal(src.workspaceId, h.workspaceId)
    assert.equal(typeof src.createdAt, 'number')
    assert.ok(src.createdAt < 1e11, 'createdAt in epoch seconds')
    assert.deepEqual(src.connectionConfiguration, { host: 'db', port: 5432, password: MASK, tunnel: { method: 'SSH_PASSWORD', tunnel_password: MASK } })

    for (const path of ['sources/get']) {
      const res = await h.post(path, { sourceId: src.sourceId })
      assert.equal(res.json().connectionConfiguration.password, MASK)
    }
    const list = await h.post('sources/list', { workspaceId: h.workspaceId })
    const listed = list.json().sources.find((s: { sourceId: string }) => s.sourceId === src.sourceId)
    assert.equal(listed.connectionConfiguration.password, MASK)
    assert.equal(listed.connectionConfiguration.tunnel.tunnel_password, MASK)

    const bytes = storeBytes(h)
    assert.ok(bytes.includes('PostgreSQL - Ecommerce'), 'the store file is readable as text')
    assert.ok(!bytes.includes(PASSWORD), 'password not stored in clear')
    assert.ok(!bytes.includes(TUNNEL_PASSWORD), 'nested secret not stored in clear')
  })

  it('keeps stored secrets when an update sends the mask, replaces them otherwise', async () => {
    const src = await createSource()
    const got = (await h.post('sources/get', { sourceId: src.sourceId })).json()
    const up = await h.post('sources/update', { sourceId: src.sourceId, name: 'renamed', connectionConfiguration: { ...got.connectionConfiguration, port: 6543 } })
    assert.equal(up.statusCode, 200, up.body)
    assert.equal(up.json().name, 'renamed')
    assert.equal(up.json().connectionConfiguration.port, 6543)
    const loaded = await (await import('../../src/api/actor-service.js')).loadActorWithConfig(h.deps, 'source', src.sourceId)
    assert.equal(loaded.config.password, PASSWORD, 'mask kept the stored password')
    assert.equal((loaded.config.tunnel as Record<string, unknown>).tunnel_password, TUNNEL_PASSWORD)
    assert.equal(loaded.config.port, 6543)

    await h.post('sources/update', { sourceId: src.sourceId, name: 'renamed', connectionConfiguration: { host: 'db', port: 1, password: 'new-pass' } })
    const reloaded = await (await import('../../src/api/actor-service.js')).loadActorWithConfig(h.deps, 'source', src.sourceId)
    assert.equal(reloaded.config.password, 'new-pass')
    assert.equal(reloaded.config.tunnel, undefined, 'an update replaces the whole configuration')
  })

  it('rejects an invalid configuration with 422 naming each field, and stores nothing', async () => {
    const before = (await h.post('sources/list', { workspaceId: h.workspaceId })).json().sources.length
    const res = await h.post('sources/create', {
      sourceDefinitionId: SRC_DEF,
      workspaceId: h.workspaceId,
      name: 'bad',
      connectionConfiguration: { host: '', port: 'x', password: 12345, mode: 'FAST!' },
    })
    assert.equal(res.statusCode, 422)
    const body = res.json()
    assert.equal(body.code, 'SLUICE_ERR_INVALID_CONFIG')
    const paths = body.validationErrors.map((v: { propertyPath: string }) => v.propertyPath).sort()
    assert.deepEqual(paths, ['connectionConfiguration.host', 'connectionConfiguration.mode', 'connectionConfiguration.password', 'connectionConfiguration.port'])
    for (const field of ['host', 'port', 'password', 'mode']) assert.match(body.message, new RegExp(field))
    const pw = body.validationErrors.find((v: { propertyPath: string }) => v.propertyPath === 'connectionConfiguration.password')
    assert.equal(pw.invalidValue, MASK, 'an invalid secret is not echoed')
    assert.ok(!res.body.includes('12345'))
    const after = (await h.post('sources/list', { workspaceId: h.workspaceId })).json().sources.length
    assert.equal(after, before)

    const missing = await h.post('sources/create', { sourceDefinitionId: SRC_DEF, workspaceId: h.workspaceId, name: 'x', connectionConfiguration: { host: 'h' } })
    assert.equal(missing.statusCode, 422)
    assert.deepEqual(
      missing.json().validationErrors.map((v: { propertyPath: string }) => v.propertyPath).sort(),
      ['connectionConfiguration.password', 'connectionConfiguration.port'],
    )
  })

  it('rejects a mask with nothing stored behind it and values that look like ciphertext', async () => {
    const masked = await h.post('sources/create', { sourceDefinitionId: SRC_DEF, workspaceId: h.workspaceId, name: 'x', connectionConfiguration: { host: 'h', port: 1, password: MASK } })
    assert.equal(masked.statusCode, 422)
    assert.deepEqual(masked.json().validationErrors.map((v: { propertyPath: string }) => v.propertyPath), ['connectionConfiguration.password'])
    const res = await h.post('sources/create', { sourceDefinitionId: SRC_DEF, workspaceId: h.workspaceId, name: 'x', connectionConfiguration: { host: 'h', port: 1, password: 'sluice:v1:AAAA' } })
    assert.equal(res.statusCode, 422)
    assert.equal(res.json().validationErrors[0].propertyPath, 'connectionConfiguration.password')
  })

  it('answers 404 for unknown ids, definitions and workspaces', async () => {
    const id = '3f1c2a9e-1111-4222-8333-444455556666'
    for (const [path, body] of [
      ['sources/get', { sourceId: id }],
      ['sources/delete', { sourceId: id }],
      ['sources/check_connection', { sourceId: id }],
      ['sources/discover_schema', { sourceId: id }],
      ['sources/update', { sourceId: id, name: 'x', connectionConfiguration: {} }],
      ['destinations/get', { destinationId: id }],
      ['destinations/check_connection', { destinationId: id }],
    ] as const) {
      const res = await h.post(path, body)
      assert.equal(res.statusCode, 404, path)
      assert.equal(res.json().id, id)
    }
    const badDef = await h.post('sources/create', { sourceDefinitionId: id, workspaceId: h.workspaceId, name: 'x', connectionConfiguration: {} })
    assert.equal(badDef.statusCode, 404)
    assert.match(badDef.json().message, /StandardSourceDefinition/)
    const badWs = await h.post('sources/create', { sourceDefinitionId: SRC_DEF, workspaceId: id, name: 'x', connectionConfiguration: {} })
    assert.equal(badWs.statusCode, 404)
  })

  it('check_connection: succeeded, failed (config error, message scrubbed of secrets), crashed, timed out', async () => {
    const ok = await createSource()
    const res = await h.post('sources/check_connection', { sourceId: ok.sourceId })
    assert.equal(res.statusCode, 200)
    const body = res.json()
    assert.equal(body.status, 'succeeded')
    assert.equal(body.message, 'connected to db')
    assert.equal(body.jobInfo.configType, 'check_connection_source')
    assert.equal(body.jobInfo.succeeded, true)
    assert.match(body.jobInfo.id, /^[0-9a-f-]{36}$/)
    assert.ok(body.jobInfo.createdAt > 1e12, 'ms')
    assert.deepEqual(Object.keys(body.jobInfo.logs), ['logLines'])

    const bad = await createSource({ host: 'bad' })
    const failed = await h.post('sources/check_connection', { sourceId: bad.sourceId })
    assert.equal(failed.statusCode, 200)
    assert.equal(failed.json().status, 'failed')
    assert.match(failed.json().message, /password authentication failed/)
    assert.ok(!failed.body.includes(PASSWORD), 'the secret is scrubbed from the message')

    const crash = await createSource({ host: 'crash' })
    const crashed = (await h.post('sources/check_connection', { sourceId: crash.sourceId })).json()
    assert.equal(crashed.status, 'failed')
    assert.equal(crashed.jobInfo.succeeded, false)
    assert.equal(crashed.jobInfo.failureReason.externalMessage, 'boom')

    const hang = await createSource({ host: 'hang' })
    const hung = (await h.post('sources/check_connection', { sourceId: hang.sourceId })).json()
    assert.equal(hung.status, 'failed')
    assert.match(hung.message, /timed out/)
  })

  it('check_connection_for_update checks the merged config without saving it', async () => {
    const src = await createSource()
    const res = await h.post('sources/check_connection_for_update', {
      sourceId: src.sourceId,
      name: src.name,
      connectionConfiguration: { host: 'bad', port: 5432, password: MASK },
    })
    assert.equal(res.statusCode, 200)
    assert.equal(res.json().status, 'failed')
    assert.ok(!res.body.includes(PASSWORD), 'the stored secret used for the check is not echoed')
    assert.match(res.json().message, /\*{10}/)
    const after = (await h.post('sources/get', { sourceId: src.sourceId })).json()
    assert.equal(after.connectionConfiguration.host, 'db', 'nothing saved')
  })

  it('discover_schema returns the catalog with default configs, a catalogId, and honours the cache', async () => {
    const src = await createSource({ host: 'disc' })
    const calls = discoverCalls.count
    const first = await h.post('sources/discover_schema', { sourceId: src.sourceId })
    assert.equal(first.statusCode, 200)
    const d1 = first.json()
    assert.equal(discoverCalls.count, calls + 1)
    assert.match(d1.catalogId, /^[0-9a-f-]{36}$/)
    assert.equal(d1.jobInfo.configType, 'discover_schema')
    assert.equal(d1.jobInfo.succeeded, true)
    const customers = d1.catalog.streams[0]
    assert.deepEqual(Object.keys(customers).sort(), ['config', 'stream'])
    assert.equal(customers.stream.name, 'customers')
    assert.equal(customers.stream.namespace, 'public')
    assert.deepEqual(customers.config, {
      syncMode: 'full_refresh',
      cursorField: [],
      destinationSyncMode: 'overwrite',
      primaryKey: [['id']],
      aliasName: 'customers',
      selected: false,
      suggested: false,
      fieldSelectionEnabled: false,
    })

    const cached = (await h.post('sources/discover_schema', { sourceId: src.sourceId })).json()
    assert.equal(cached.catalogId, d1.catalogId)
    assert.equal(discoverCalls.count, calls + 1, 'served from the cache')

    const fresh = (await h.post('sources/discover_schema', { sourceId: src.sourceId, disable_cache: true })).json()
    assert.notEqual(fresh.catalogId, d1.catalogId)
    assert.equal(discoverCalls.count, calls + 2)
    const camel = (await h.post('sources/discover_schema', { sourceId: src.sourceId, disableCache: true })).json()
    assert.notEqual(camel.catalogId, fresh.catalogId)
    assert.equal(discoverCalls.count, calls + 3)

    // A changed configuration is a new cache key.
    await h.post('sources/update', { sourceId: src.sourceId, name: 'n', connectionConfiguration: { host: 'disc2', port: 1, password: MASK } })
    const afterUpdate = (await h.post('sources/discover_schema', { sourceId: src.sourceId })).json()
    assert.equal(discoverCalls.count, calls + 4)
    assert.notEqual(afterUpdate.catalogId, fresh.catalogId)
  })

  it('a failed discover answers 200 without catalog and with jobInfo.succeeded false', async () => {
    const bad = await createSource({ host: 'bad' })
    const res = await h.post('sources/discover_schema', { sourceId: bad.sourceId })
    assert.equal(res.statusCode, 200)
    const body = res.json()
    assert.equal(body.catalog, undefined)
    assert.equal(body.jobInfo.succeeded, false)
    assert.match(body.jobInfo.failureReason.externalMessage, /cannot connect/)
  })

  it('destinations: create masked, check failed with the secret scrubbed, update keeps secrets, delete', async () => {
    const res = await h.post('destinations/create', {
      destinationDefinitionId: DST_DEF,
      workspaceId: h.workspaceId,
      name: 'Warehouse',
      connectionConfiguration: { host: 'bad', port: 5432, password: PASSWORD },
    })
    assert.equal(res.statusCode, 200, res.body)
    const dst = res.json()
    assert.equal(dst.destinationName, 'Secret Test')
    assert.equal(dst.connectionConfiguration.password, MASK)

    const check = await h.post('destinations/check_connection', { destinationId: dst.destinationId })
    assert.equal(check.json().status, 'failed')
    assert.equal(check.json().jobInfo.configType, 'check_connection_destination')
    assert.ok(!check.body.includes(PASSWORD))

    const up = await h.post('destinations/update', { destinationId: dst.destinationId, name: 'W2', connectionConfiguration: { host: 'ok', port: 5432, password: MASK } })
    assert.equal(up.statusCode, 200)
    const check2 = await h.post('destinations/check_connection', { destinationId: dst.destinationId })
    assert.equal(check2.json().status, 'succeeded')
    const forUpdate = await h.post('destinations/check_connection_for_update', { destinationId: dst.destinationId, name: 'W2', connectionConfiguration: { host: 'bad', port: 5432, password: MASK } })
    assert.equal(forUpdate.json().status, 'failed')

    const listed = (await h.post('destinations/list', { workspaceId: h.workspaceId })).json().destinations
    assert.ok(listed.some((d: { destinationId: string }) => d.destinationId === dst.destinationId))

    const del = await h.post('destinations/delete', { destinationId: dst.destinationId })
    assert.equal(del.statusCode, 204)
    assert.equal((await h.post('destinations/get', { destinationId: dst.destinationId })).statusCode, 404)
    const after = (await h.post('destinations/list', { workspaceId: h.workspaceId })).json().destinations
    assert.ok(!after.some((d: { destinationId: string }) => d.destinationId === dst.destinationId), 'tombstoned destinations are not listed')
  })

  it('scheduler/sources/check_connection checks an unsaved configuration', async () => {
    const res = await h.post('scheduler/sources/check_connection', { sourceDefinitionId: SRC_DEF, connectionConfiguration: { host: 'bad', port: 1, password: PASSWORD } })
    assert.equal(res.statusCode, 200)
    assert.equal(res.json().status, 'failed')
    assert.ok(!res.body.includes(PASSWORD))
  })

  it('sources/list needs a known workspace; tombstoned sources are hidden', async () => {
    const res = await h.post('sources/list', { workspaceId: '3f1c2a9e-1111-4222-8333-444455556666' })
    assert.equal(res.statusCode, 404)
    const src = await createSource()
    assert.equal((await h.post('sources/delete', { sourceId: src.sourceId })).statusCode, 204)
    const list = (await h.post('sources/list', { workspaceId: h.workspaceId })).json().sources
    assert.ok(!list.some((s: { sourceId: string }) => s.sourceId === src.sourceId))
    const withTomb = (await h.post('sources/list', { workspaceId: h.workspaceId, includeTombstone: true })).json().sources
    assert.ok(withTomb.some((s: { sourceId: string }) => s.sourceId === src.sourceId))
  })

  it('destinations/create refuses an output format the destination cannot write, with the reason, and stores nothing', async () => {
    const S3_DEF = '4816b78f-1489-44c1-9060-4b19d5fa9362'
    const config = (codec: Record<string, unknown>) => ({
      s3_bucket_name: 'b',
      s3_bucket_path: 'p',
      s3_bucket_region: 'us-east-1',
      access_key_id: 'k',
      secret_access_key: 's',
      s3_endpoint: 'http://127.0.0.1:9',
      format: { format_type: 'Avro', compression_codec: codec },
    })
    const before = (await h.post('destinations/list', { workspaceId: h.workspaceId })).json().destinations.length
    const bzip2 = await h.post('destinations/create', { workspaceId: h.workspaceId, destinationDefinitionId: S3_DEF, name: 'avro', connectionConfiguration: config({ codec: 'bzip2' }) })
    assert.equal(bzip2.statusCode, 422, bzip2.body)
    assert.match(bzip2.json().message, /Avro codec "bzip2" is not supported by sluice; sluice writes "no compression", "Deflate", "snappy", "zstandard"/)
    const level = await h.post('destinations/create', { workspaceId: h.workspaceId, destinationDefinitionId: S3_DEF, name: 'avro', connectionConfiguration: config({ codec: 'Deflate', compression_level: 12 }) })
    assert.equal(level.statusCode, 422, level.body)
    assert.match(level.body, /compression_level/)
    assert.equal((await h.post('destinations/list', { workspaceId: h.workspaceId })).json().destinations.length, before)
    const ok = await h.post('destinations/create', { workspaceId: h.workspaceId, destinationDefinitionId: S3_DEF, name: 'avro', connectionConfiguration: config({ codec: 'deflate', compression_level: 6 }) })
    assert.equal(ok.statusCode, 200, ok.body)
  })
})
