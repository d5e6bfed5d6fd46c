import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Ajv } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { createHarness, type ApiHarness } from './api-harness.js'
import { secretDestinationDefinition, secretSourceDefinition } from './secret-test-connectors.js'

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv

/**
 * Real responses validated against the OpenAPI document's schemas: required fields present
 * (strict generated clients need them), and no extra keys inside catalog stream entries
 * (additionalProperties:false in Airbyte's spec).
 */
describe('responses match the OpenAPI schemas', () => {
  let h: ApiHarness
  let ajv: Ajv
  const check = (schema: string, body: unknown): void => {
    const validate = ajv.getSchema(`doc#/components/schemas/${schema}`)
    assert.ok(validate, schema)
    assert.ok(validate(body), `${schema}: ${JSON.stringify(validate.errors)}`)
  }

  before(async () => {
    h = await createHarness({ definitions: [secretSourceDefinition, secretDestinationDefinition] })
    const doc = (await h.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json()
    ajv = addFormats(new Ajv({ allErrors: true, strict: false }))
    ajv.addSchema({ $id: 'doc', components: doc.components })
  })
  after(async () => {
    await h.close()
  })

  it('every documented response schema compiles, and routes refer to them', async () => {
    const doc = (await h.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json()
    for (const name of Object.keys(doc.components.schemas)) assert.ok(ajv.getSchema(`doc#/components/schemas/${name}`), name)
    const op = doc.paths['/api/v1/sources/get'].post
    assert.equal(op.responses['200'].content['application/json'].schema.$ref, '#/components/schemas/SourceRead')
  })

  it('health, workspaces, definitions, specifications', async () => {
    check('HealthCheckRead', (await h.app.inject({ method: 'GET', url: '/api/v1/health' })).json())
    check('WorkspaceReadList', (await h.post('workspaces/list')).json())
    check('WorkspaceRead', (await h.post('workspaces/create', { name: 'w' })).json())
    check('SourceDefinitionReadList', (await h.post('source_definitions/list')).json())
    check('DestinationDefinitionReadList', (await h.post('destination_definitions/list')).json())
    check('SourceDefinitionSpecificationRead', (await h.post('source_definition_specifications/get', { sourceDefinitionId: secretSourceDefinition.definitionId })).json())
    check(
      'DestinationDefinitionSpecificationRead',
      (await h.post('destination_definition_specifications/get', { destinationDefinitionId: secretDestinationDefinition.definitionId })).json(),
    )
  })

  it('sources, destinations, check, discover, connections', async () => {
    const config = { host: 'db', port: 5432, password: 'pw' }
    const src = (await h.post('sources/create', { sourceDefinitionId: secretSourceDefinition.definitionId, workspaceId: h.workspaceId, name: 's', connectionConfiguration: config })).json()
    check('SourceRead', src)
    check('SourceReadList', (await h.post('sources/list', { workspaceId: h.workspaceId })).json())
    const dst = (await h.post('destinations/create', { destinationDefinitionId: secretDestinationDefinition.definitionId, workspaceId: h.workspaceId, name: 'd', connectionConfiguration: config })).json()
    check('DestinationRead', dst)
    check('DestinationReadList', (await h.post('destinations/list', { workspaceId: h.workspaceId })).json())
    check('CheckConnectionRead', (await h.post('sources/check_connection', { sourceId: src.sourceId })).json())
    check('CheckConnectionRead', (await h.post('destinations/check_connection', { destinationId: dst.destinationId })).json())
    const discovered = (await h.post('sources/discover_schema', { sourceId: src.sourceId })).json()
    check('SourceDiscoverSchemaRead', discovered)

    // Dagster's way: send the discovered catalog back as is.
    const conn = await h.post('connections/create', {
      sourceId: src.sourceId,
      destinationId: dst.destinationId,
      status: 'active',
      scheduleType: 'basic',
      scheduleData: { basicSchedule: { units: 1, timeUnit: 'hours' } },
      syncCatalog: discovered.catalog,
      sourceCatalogId: discovered.catalogId,
    })
    assert.equal(conn.statusCode, 200, conn.body)
    check('ConnectionRead', conn.json())
    assert.equal(conn.json().sourceCatalogId, discovered.catalogId)
    check('ConnectionReadList', (await h.post('connections/list', { workspaceId: h.workspaceId })).json())
  })
})
