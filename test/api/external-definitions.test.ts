import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { ConnectorRegistry } from '../../src/connectors/registry.js'
import { loadCustomDefinitions } from '../../src/custom-definitions.js'
import { dockerDefinitionRequest } from '../../src/cli/connectors-command.js'
import { FIXTURES } from '../connectors/external/external-helpers.js'
import { createHarness, type ApiHarness } from './api-harness.js'

describe('connector image definitions (create_custom, update) with the local runner', () => {
  let h: ApiHarness
  const saved = { runner: process.env.SLUICE_CONNECTOR_RUNNER, path: process.env.SLUICE_CONNECTORS_PATH }
  before(async () => {
    process.env.SLUICE_CONNECTOR_RUNNER = 'local'
    process.env.SLUICE_CONNECTORS_PATH = FIXTURES
    h = await createHarness()
  })
  after(async () => {
    await h.close()
    for (const [k, v] of [['SLUICE_CONNECTOR_RUNNER', saved.runner], ['SLUICE_CONNECTORS_PATH', saved.path]] as const) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  })

  it('creates a source from an image, serves its spec, checks and discovers through it', async () => {
    const res = await h.post('source_definitions/create_custom', {
      workspaceId: h.workspaceId,
      sourceDefinition: { name: 'Py fixture', dockerRepository: 'airbyte/source-pyfixture', dockerImageTag: '1.0.0', documentationUrl: 'https://example.com/docs' },
    })
    assert.equal(res.statusCode, 200, res.body)
    const read = res.json()
    assert.equal(read.name, 'Py fixture')
    assert.equal(read.dockerRepository, 'airbyte/source-pyfixture')
    assert.equal(read.dockerImageTag, '1.0.0')
    assert.equal(read.custom, true)
    const spec = (await h.post('source_definition_specifications/get', { sourceDefinitionId: read.sourceDefinitionId, workspaceId: h.workspaceId })).json()
    assert.deepEqual(spec.connectionSpecification.required, ['api_key'])

    const created = await h.post('sources/create', { workspaceId: h.workspaceId, sourceDefinitionId: read.sourceDefinitionId, name: 'py', connectionConfiguration: { api_key: 'the-api-key-1' } })
    assert.equal(created.statusCode, 200, created.body)
    const sourceId = created.json().sourceId
    assert.equal(created.json().connectionConfiguration.api_key, '**********')
    const check = (await h.post('sources/check_connection', { sourceId })).json()
    assert.equal(check.status, 'succeeded')
    const discovered = (await h.post('sources/discover_schema', { sourceId })).json()
    assert.deepEqual(discovered.catalog.streams.map((s: { stream: { name: string } }) => s.stream.name), ['users', 'orders'])

    // Stored: a fresh registry over the same store gets it back without running spec.
    const registry = new ConnectorRegistry([])
    assert.equal(await loadCustomDefinitions(h.deps.configStore, registry, { warn: () => undefined }), 1)
    assert.equal(registry.getSource(read.sourceDefinitionId)?.source.spec.documentationUrl, 'https://example.com/pyfixture')
  })

  it('creates a destination from an image and changes its tag with update', async () => {
    const res = await h.post('destination_definitions/create_custom', {
      workspaceId: h.workspaceId,
      destinationDefinition: { name: 'Py destination', dockerRepository: 'airbyte/destination-pyfixture', dockerImageTag: '0.1.0', documentationUrl: '', resourceRequirements: { default: { memory_limit: '1Gi' } } },
    })
    assert.equal(res.statusCode, 200, res.body)
    const id = res.json().destinationDefinitionId
    const spec = (await h.post('destination_definition_specifications/get', { destinationDefinitionId: id })).json()
    assert.deepEqual(spec.supportedDestinationSyncModes, ['append', 'overwrite'])
    const updated = await h.post('destination_definitions/update', { destinationDefinitionId: id, dockerImageTag: '0.2.0' })
    assert.equal(updated.statusCode, 200, updated.body)
    assert.equal(updated.json().dockerImageTag, '0.2.0')
    assert.equal((await h.post('destination_definitions/get', { destinationDefinitionId: id })).json().dockerImageTag, '0.2.0')
    const stored = (await h.deps.configStore.listCustomDefinitions()).find((d) => d.definitionId === id)
    assert.equal(stored?.payload.dockerImageTag, '0.2.0')
    assert.deepEqual(stored?.payload.resourceRequirements, { default: { memory_limit: '1Gi' } })
  })

  it('refuses a body without a tag, an image that cannot run, and updating a built-in', async () => {
    const noTag = await h.post('source_definitions/create_custom', { workspaceId: h.workspaceId, sourceDefinition: { name: 'x', dockerRepository: 'airbyte/source-pyfixture' } })
    assert.equal(noTag.statusCode, 422)
    assert.match(noTag.json().message, /sourceDefinition.dockerImageTag is required/)
    const missing = await h.post('source_definitions/create_custom', { workspaceId: h.workspaceId, sourceDefinition: { name: 'x', dockerRepository: 'airbyte/source-nowhere', dockerImageTag: '1' } })
    assert.equal(missing.statusCode, 500)
    assert.match(missing.json().message, /No executable named source-nowhere/)
    assert.equal((await h.post('source_definitions/list')).json().sourceDefinitions.some((d: { name: string }) => d.name === 'x'), false)
    const builtin = await h.post('source_definitions/update', { sourceDefinitionId: 'dfd88b22-b603-4c3d-aad7-3701784586b1', dockerImageTag: '9.9.9' })
    assert.equal(builtin.statusCode, 422)
  })

  it('`sluice connectors add docker:<image>` builds the create_custom request', () => {
    assert.deepEqual(dockerDefinitionRequest('docker:airbyte/source-hubspot:4.5.1'), {
      path: 'source_definitions/create_custom',
      body: { sourceDefinition: { name: 'source-hubspot', dockerRepository: 'airbyte/source-hubspot', dockerImageTag: '4.5.1', documentationUrl: '' } },
    })
    assert.equal(dockerDefinitionRequest('docker:registry:5000/airbyte/destination-bigquery').path, 'destination_definitions/create_custom')
    assert.equal((dockerDefinitionRequest('docker:registry:5000/airbyte/destination-bigquery').body.destinationDefinition as { dockerImageTag: string }).dockerImageTag, 'latest')
  })
})
