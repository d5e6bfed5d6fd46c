import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createHarness, type ApiHarness } from './api-harness.js'
import { secretDestinationDefinition, secretSourceDefinition } from './secret-test-connectors.js'

const FAKER_ID = 'dfd88b22-b603-4c3d-aad7-3701784586b1'

describe('connector definitions and specifications', () => {
  let h: ApiHarness
  before(async () => {
    h = await createHarness({ definitions: [secretSourceDefinition, secretDestinationDefinition] })
  })
  after(async () => {
    await h.close()
  })

  it('lists source definitions with the required fields, from list (body ignored) and list_for_workspace', async () => {
    const list = (await h.post('source_definitions/list', { workspaceId: h.workspaceId })).json().sourceDefinitions
    const bare = (await h.post('source_definitions/list')).json().sourceDefinitions
    const forWs = (await h.post('source_definitions/list_for_workspace', { workspaceId: h.workspaceId })).json().sourceDefinitions
    assert.deepEqual(bare, list)
    assert.deepEqual(forWs, list)
    const faker = list.find((d: { name: string }) => d.name === 'Sample Data (Faker)')
    assert.equal(faker.sourceDefinitionId, FAKER_ID)
    for (const key of ['sourceDefinitionId', 'name', 'dockerRepository', 'dockerImageTag', 'documentationUrl', 'sourceType', 'releaseStage', 'supportLevel']) {
      assert.ok(faker[key] !== undefined, key)
    }
    assert.equal(faker.destinationDefinitionId, undefined, 'no destination twin for Faker')
  })

  it("gives a source definition the id of the destination with the same name (the seed's quirk)", async () => {
    const list = (await h.post('source_definitions/list')).json().sourceDefinitions
    const twin = list.find((d: { sourceDefinitionId: string }) => d.sourceDefinitionId === secretSourceDefinition.definitionId)
    assert.equal(twin.destinationDefinitionId, secretDestinationDefinition.definitionId)
  })

  it('lists destination definitions with supportsDbt and normalizationConfig', async () => {
    const list = (await h.post('destination_definitions/list', {})).json().destinationDefinitions
    const local = list.find((d: { name: string }) => d.name === 'Local Files')
    assert.ok(local)
    assert.equal(local.supportsDbt, false)
    assert.deepEqual(local.normalizationConfig, { supported: false })
    const forWs = (await h.post('destination_definitions/list_for_workspace', { workspaceId: h.workspaceId })).json().destinationDefinitions
    assert.equal(forWs.length, list.length)
  })

  it('gets definitions and specifications, 404 for unknown ids', async () => {
    const got = await h.post('source_definitions/get', { sourceDefinitionId: FAKER_ID })
    assert.equal(got.json().name, 'Sample Data (Faker)')
    const forWs = await h.post('source_definitions/get_for_workspace', { sourceDefinitionId: FAKER_ID, workspaceId: h.workspaceId })
    assert.deepEqual(forWs.json(), got.json())
    const dstGot = (await h.post('destination_definitions/get_for_workspace', { destinationDefinitionId: secretDestinationDefinition.definitionId, workspaceId: h.workspaceId })).json()
    assert.equal(dstGot.name, 'Secret Test')
    assert.equal(dstGot.supportsDbt, false)
    const spec = (await h.post('source_definition_specifications/get', { sourceDefinitionId: FAKER_ID, workspaceId: h.workspaceId })).json()
    assert.equal(spec.sourceDefinitionId, FAKER_ID)
    assert.equal(spec.connectionSpecification.type, 'object')
    assert.equal(spec.jobInfo.configType, 'get_spec')
    assert.equal(spec.jobInfo.succeeded, true)

    const dst = (await h.post('destination_definition_specifications/get', { destinationDefinitionId: secretDestinationDefinition.definitionId, workspaceId: h.workspaceId })).json()
    assert.deepEqual(dst.supportedDestinationSyncModes, ['append', 'overwrite', 'append_dedup', 'overwrite_dedup'])
    assert.equal(dst.supportsNormalization, false)
    assert.equal(dst.connectionSpecification.properties.password.airbyte_secret, true)

    const missing = '0d0d0d0d-0000-4000-8000-000000000000'
    for (const [path, body] of [
      ['source_definitions/get', { sourceDefinitionId: missing }],
      ['destination_definitions/get', { destinationDefinitionId: missing }],
      ['source_definition_specifications/get', { sourceDefinitionId: missing, workspaceId: h.workspaceId }],
      ['destination_definition_specifications/get', { destinationDefinitionId: missing, workspaceId: h.workspaceId }],
      ['source_definitions/list_for_workspace', { workspaceId: missing }],
    ] as const) {
      const res = await h.post(path, body)
      assert.equal(res.statusCode, 404, path)
      assert.equal(res.json().id, missing)
    }
    assert.equal((await h.post('source_definitions/get', {})).statusCode, 422)
  })
})
