import { test } from 'node:test'
import assert from 'node:assert/strict'
import { internalTypeOf } from '../../../src/connectors/postgres/pg-destination-types.js'

test('JSON schema to internal types, unions as Airbyte resolves them', () => {
  assert.equal(internalTypeOf({ type: 'number', airbyte_type: 'integer' }), 'INTEGER')
  assert.equal(internalTypeOf({ type: ['null', 'string'], format: 'date-time' }), 'TIMESTAMP_WITH_TIMEZONE')
  assert.equal(internalTypeOf({ type: 'string', format: 'time' }), 'UNKNOWN')
  assert.equal(internalTypeOf({ oneOf: [{ type: 'string' }, { type: 'array' }] }), 'ARRAY')
  assert.equal(internalTypeOf({ type: ['integer', 'string'] }), 'STRING')
  assert.equal(internalTypeOf({}), 'UNKNOWN')
})
