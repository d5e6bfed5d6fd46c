import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeColumns, fieldDecoder, parseArrayLiteral } from '../../src/formats/copy-text-values.js'

test('array literals parse nested, quoted and NULL elements', () => {
  assert.deepEqual(parseArrayLiteral('{1,NULL,3}'), ['1', null, '3'])
  assert.deepEqual(parseArrayLiteral('{{1,2},{3,4}}'), [['1', '2'], ['3', '4']])
  assert.deepEqual(parseArrayLiteral('{"a,b","c\\"d","NULL",""}'), ['a,b', 'c"d', 'NULL', ''])
  assert.deepEqual(parseArrayLiteral('[0:1]={7,8}'), ['7', '8'])
  assert.deepEqual(parseArrayLiteral('{}'), [])
})

test('numeric and int8 keep precision, floats drop NaN', () => {
  const num = fieldDecoder({ baseType: 'numeric', isArray: false })
  assert.equal(num('1.25'), 1.25)
  assert.equal(num('12345678901234567890.5'), '12345678901234567890.5')
  assert.equal(num('0.000000000000000000001'), 1e-21)
  assert.equal(num('NaN'), null)
  assert.equal(num('\\N'), null)
  const i8 = fieldDecoder({ baseType: 'int8', isArray: false })
  assert.equal(i8('9007199254740991'), 9007199254740991)
  assert.equal(i8('9007199254740993'), '9007199254740993')
  const ts = fieldDecoder({ baseType: 'timestamptz', isArray: false })
  assert.equal(ts('2024-01-01 10:00:00.5+00'), '2024-01-01T10:00:00.5Z')
})

test('columnar decoding of COPY text (and of lines without columns)', () => {
  const int = fieldDecoder({ baseType: 'int4', isArray: false })
  const txt = fieldDecoder({ baseType: 'text', isArray: false })
  assert.deepEqual(decodeColumns(Buffer.from('1\ta\\tb\n\\N\t\\N\n'), [int, txt]), [[1, null], ['a\tb', null]])
  assert.deepEqual(decodeColumns(Buffer.from('\n\n'), []), [])
})
