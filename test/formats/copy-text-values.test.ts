import { test } from 'node:test'
import assert from 'node:assert/strict'
import { copyTextBatchWithConstants, decodeColumns, decodeNumeric, fieldDecoder, parseArrayLiteral } from '../../src/formats/copy-text-values.js'

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

test('numeric: the plain-literal fast path decides as the general rule does', () => {
  // The general rule: significant digits of the literal without sign, point, leading and
  // trailing zeros; a double when at most 15, else the exact text.
  const general = (t: string): unknown => {
    const significant = t.replace(/^-/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '').length
    if (significant <= 15) {
      const n = Number(t)
      if (Number.isFinite(n)) return n
    }
    return t
  }
  const literals = ['0', '-0', '0.00', '-0012.50', '739999.63', '.5', '5.', '-', '', '.', '123456789012345', '1234567890123456',
    '0.000000000000000000001', '100000000000000000000000000000', '-99999999999999.9', '999999999999999.9', `1${'0'.repeat(400)}`]
  for (let k = 0; k < 2000; k++) {
    const digits = Array.from({ length: 1 + (k % 22) }, (_v, i) => String((k * 7 + i * 13) % 10)).join('')
    const at = k % (digits.length + 1)
    literals.push(`${k % 3 === 0 ? '-' : ''}${digits.slice(0, at)}${k % 4 === 0 ? '' : '.'}${digits.slice(at)}`)
  }
  for (const t of literals) assert.deepEqual(decodeNumeric(t), general(t), t)
  assert.equal(decodeNumeric('1e5'), 100000)
  assert.equal(decodeNumeric('$1,234.50'), 1234.5)
  assert.equal(decodeNumeric('-Infinity'), null)
})

test('a batch with constant columns: the whole COPY text is built only when read, with every constant escaped on every line', () => {
  const constants = [
    { name: 'lsn', pgType: 'bigint', value: '42' },
    { name: 'at', pgType: 'text', value: 'tab\there\\' },
    { name: 'gone', pgType: 'text', value: null },
  ]
  const decoders = [fieldDecoder({ baseType: 'int4', isArray: false }), fieldDecoder({ baseType: 'text', isArray: false })]
  const constantDecoders = [fieldDecoder({ baseType: 'int8', isArray: false }), fieldDecoder({ baseType: 'text', isArray: false }), fieldDecoder({ baseType: 'text', isArray: false })]
  const lead = Buffer.from('1\ta\\nb\n2\t\\N\n')
  const batch = copyTextBatchWithConstants({ name: 's', namespace: null }, ['id', 'v'], ['integer', 'text'], decoders, constants, constantDecoders, lead, 2)
  const suffix = '\t42\ttab\\there\\\\\t\\N'
  assert.equal(batch.bytes, lead.length + 2 * suffix.length)
  assert.deepEqual(batch.pgCopyTextWithConstants, { lead: { columns: ['id', 'v'], pgTypes: ['integer', 'text'], data: lead }, constants })
  const whole = batch.pgCopyText!
  assert.equal(whole.data.toString(), `1\ta\\nb${suffix}\n2\t\\N${suffix}\n`)
  assert.deepEqual(whole.columns, ['id', 'v', 'lsn', 'at', 'gone'])
  assert.deepEqual(whole.pgTypes, ['integer', 'text', 'bigint', 'text', 'text'])
  assert.equal(batch.pgCopyText, whole, 'built once')
  assert.equal(whole.data.length, batch.bytes)
  assert.deepEqual(batch.rows(), [
    { id: 1, v: 'a\nb', lsn: 42, at: 'tab\there\\', gone: null },
    { id: 2, v: null, lsn: 42, at: 'tab\there\\', gone: null },
  ])
  assert.deepEqual(batch.columns!().names, ['id', 'v', 'lsn', 'at', 'gone'])
  // Lines without leading columns are the constants alone.
  const bare = copyTextBatchWithConstants({ name: 's', namespace: null }, [], [], [], constants.slice(0, 1), constantDecoders.slice(0, 1), Buffer.from('\n\n'), 2)
  assert.equal(bare.pgCopyText!.data.toString(), '42\n42\n')
  assert.deepEqual(bare.rows(), [{ lsn: 42 }, { lsn: 42 }])
})
