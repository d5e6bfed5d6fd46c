import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeColumns, escapeCopy, fieldDecoder, parseArrayLiteral, unescapeCopy } from '../../../src/connectors/postgres/pg-copy-text.js'
import { collisionTableName, normalizeIdentifier, quoteIdent, uniqueColumnNames } from '../../../src/connectors/postgres/pg-identifiers.js'
import { internalTypeOf } from '../../../src/connectors/postgres/pg-destination-types.js'

test('COPY escaping round-trips control characters and drops NUL', () => {
  const s = 'a\tb\nc\rd\\e'
  assert.equal(escapeCopy(s), 'a\\tb\\nc\\rd\\\\e')
  assert.equal(unescapeCopy(escapeCopy(s)), s)
  assert.equal(escapeCopy('x\u0000y'), 'xy')
  assert.equal(unescapeCopy('\\x41\\101\\b'), 'AA\b')
})

test('array literals parse nested, quoted and NULL elements', () => {
  assert.deepEqual(parseArrayLiteral('{1,NULL,3}'), ['1', null, '3'])
  assert.deepEqual(parseArrayLiteral('{{1,2},{3,4}}'), [['1', '2'], ['3', '4']])
  assert.deepEqual(parseArrayLiteral('{"a,b","c\\"d","NULL",""}'), ['a,b', 'c"d', 'NULL', ''])
  assert.deepEqual(parseArrayLiteral('[0:1]={7,8}'), ['7', '8'])
  assert.deepEqual(parseArrayLiteral('{}'), [])
})

test('numeric and int8 keep precision, floats drop NaN', () => {
  const num = fieldDecoder({ name: 'n', pgType: 'numeric', baseType: 'numeric', isArray: false })
  assert.equal(num('1.25'), 1.25)
  assert.equal(num('12345678901234567890.5'), '12345678901234567890.5')
  assert.equal(num('0.000000000000000000001'), 1e-21)
  assert.equal(num('NaN'), null)
  assert.equal(num('\\N'), null)
  const i8 = fieldDecoder({ name: 'n', pgType: 'bigint', baseType: 'int8', isArray: false })
  assert.equal(i8('9007199254740991'), 9007199254740991)
  assert.equal(i8('9007199254740993'), '9007199254740993')
  const ts = fieldDecoder({ name: 't', pgType: 'timestamp with time zone', baseType: 'timestamptz', isArray: false })
  assert.equal(ts('2024-01-01 10:00:00.5+00'), '2024-01-01T10:00:00.5Z')
})

test('identifiers: quoting, Airbyte normalisation, collisions', () => {
  assert.equal(quoteIdent('a"b'), '"a""b"')
  assert.equal(normalizeIdentifier('Ünïcode näme'), 'Unicode_name')
  assert.equal(normalizeIdentifier('a-b.c'), 'a_b_c')
  assert.equal(normalizeIdentifier('x'.repeat(80)).length, 63)
  const m = uniqueColumnNames(['a b', 'a_b', 'a-b', 'ID', 'id'])
  assert.deepEqual([...m.values()], ['a_b', 'a_b_1', 'a_b_2', 'ID', 'id'])
  const long = uniqueColumnNames(['y'.repeat(70), `${'y'.repeat(70)}!`])
  const [l1, l2] = [...long.values()]
  assert.equal(l1!.length, 63)
  assert.ok(l2!.length <= 63 && l2 !== l1)
  assert.match(collisionTableName('public', 'users'), /^users_[0-9a-f]{3}$/)
})

test('JSON schema to internal types, unions as Airbyte resolves them', () => {
  assert.equal(internalTypeOf({ type: 'number', airbyte_type: 'integer' }), 'INTEGER')
  assert.equal(internalTypeOf({ type: ['null', 'string'], format: 'date-time' }), 'TIMESTAMP_WITH_TIMEZONE')
  assert.equal(internalTypeOf({ type: 'string', format: 'time' }), 'UNKNOWN')
  assert.equal(internalTypeOf({ oneOf: [{ type: 'string' }, { type: 'array' }] }), 'ARRAY')
  assert.equal(internalTypeOf({ type: ['integer', 'string'] }), 'STRING')
  assert.equal(internalTypeOf({}), 'UNKNOWN')
})

test('columnar decoding of COPY text (and of lines without columns)', () => {
  const int = fieldDecoder({ name: 'i', pgType: 'integer', baseType: 'int4', isArray: false })
  const txt = fieldDecoder({ name: 't', pgType: 'text', baseType: 'text', isArray: false })
  assert.deepEqual(decodeColumns(Buffer.from('1\ta\\tb\n\\N\t\\N\n'), [int, txt]), [[1, null], ['a\tb', null]])
  assert.deepEqual(decodeColumns(Buffer.from('\n\n'), []), [])
})
