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

test('CDC: Airbyte\'s keys pass the schema; a missing slot name is a 422 naming the field', () => {
  const cdc = { ...seedSource, replication_method: { method: 'CDC', replication_slot: 's', publication: 'p', initial_waiting_seconds: 300, lsn_commit_behaviour: 'After loading Data in the destination', invalid_cdc_cursor_position_behavior: 'Fail sync', heartbeat_action_query: '', queue_size: 10000 } }
  const validate = ajv.compile(postgresSourceDefinition.source.spec.connectionSpecification)
  assert.ok(validate(cdc), JSON.stringify(validate.errors))
  postgresSourceDefinition.source.validateConfig!(cdc)
  const noSlot = { ...seedSource, replication_method: { method: 'CDC', replication_slot: '', publication: 'p' } }
  assert.throws(
    () => postgresSourceDefinition.source.validateConfig!(noSlot),
    (e: { httpStatus: number; message: string; validationErrors: { propertyPath: string }[] }) =>
      e.httpStatus === 422 &&
      /CDC needs replication_slot/.test(e.message) &&
      e.validationErrors[0]!.propertyPath === 'connectionConfiguration.replication_method.replication_slot',
  )
})
