import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Ajv } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { ConnectorRegistry } from '../../../src/connectors/registry.js'
import { builtinDefinitions } from '../../../src/connectors/builtin-definitions.js'
import { postgresDestinationDefinition, postgresSourceDefinition } from '../../../src/connectors/postgres/index.js'

// ajv-formats is CommonJS: its default export is the plugin function.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv
const ajv = addFormats(new Ajv({ allErrors: true, strict: false, validateSchema: false }))

const seedSource = {
  host: 'postgres',
  port: 5432,
  database: 'ecommerce',
  username: 'postgres',
  password: 'postgres',
  ssl: false,
  replication_method: { method: 'Standard' },
}
const seedDestination = { host: 'postgres', port: 5432, database: 'datawarehouse', username: 'postgres', password: 'postgres', schema: 'raw', ssl: false }

test('built-in registry lists both Postgres definitions with Airbyte ids', () => {
  const registry = new ConnectorRegistry(builtinDefinitions())
  assert.equal(registry.getSource('decd338e-5647-4c0b-adf4-da0e75f5a750')?.name, 'Postgres')
  assert.equal(registry.getDestination('25c5221d-dce2-4163-ade9-739ef790f503')?.name, 'Postgres')
  assert.equal(postgresSourceDefinition.dockerRepository, 'airbyte/source-postgres')
  assert.equal(postgresSourceDefinition.sourceType, 'database')
  assert.equal(postgresDestinationDefinition.dockerRepository, 'airbyte/destination-postgres')
  assert.equal(postgresDestinationDefinition.destination.capabilities.acceptsPgCopyText, true)
})

test("the seed's configs validate against the specs verbatim", () => {
  const src = ajv.compile(postgresSourceDefinition.source.spec.connectionSpecification)
  assert.ok(src(seedSource), JSON.stringify(src.errors))
  assert.ok(src({ ...seedSource, replication_method: { method: 'Xmin' } }))
  assert.ok(!src({ ...seedSource, port: 'x' }))
  const dst = ajv.compile(postgresDestinationDefinition.destination.spec.connectionSpecification)
  assert.ok(dst(seedDestination), JSON.stringify(dst.errors))
  assert.ok(!dst({ ...seedDestination, schema: undefined }))
})

test('the password is marked secret in both specs', () => {
  for (const spec of [postgresSourceDefinition.source.spec, postgresDestinationDefinition.destination.spec]) {
    const props = spec.connectionSpecification.properties as Record<string, Record<string, unknown>>
    assert.equal(props.password!.airbyte_secret, true)
  }
})

test('CDC passes the schema but is rejected by validateConfig with a clear 422', () => {
  const cdc = { ...seedSource, replication_method: { method: 'CDC', replication_slot: 's', publication: 'p' } }
  assert.ok(ajv.compile(postgresSourceDefinition.source.spec.connectionSpecification)(cdc))
  assert.throws(
    () => postgresSourceDefinition.source.validateConfig!(cdc),
    (e: { httpStatus: number; message: string; validationErrors: { propertyPath: string }[] }) =>
      e.httpStatus === 422 &&
      /CDC .* not supported by sluice yet/.test(e.message) &&
      e.validationErrors[0]!.propertyPath === 'connectionConfiguration.replication_method.method',
  )
})
