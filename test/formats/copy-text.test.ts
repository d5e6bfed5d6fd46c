import { test } from 'node:test'
import assert from 'node:assert/strict'
import { copyFieldAt, countCopyRows, escapeCopy, isCopyNull, splitCopyFields, unescapeCopy } from '../../src/formats/copy-text.js'

test('COPY escaping round-trips control characters and drops NUL', () => {
  const s = 'a\tb\nc\rd\\e'
  assert.equal(escapeCopy(s), 'a\\tb\\nc\\rd\\\\e')
  assert.equal(unescapeCopy(escapeCopy(s)), s)
  assert.equal(escapeCopy('x\u0000y'), 'xy')
  assert.equal(unescapeCopy('\\x41\\101\\b'), 'AA\b')
})

test('NULL is exactly \\N: an escaped backslash followed by N is text', () => {
  const data = Buffer.from('\\N\t\\\\N\tN\n')
  const fields = splitCopyFields(data, 3, 1)
  assert.ok(fields)
  assert.equal(isCopyNull(data, fields.starts[0]!, fields.ends[0]!), true)
  assert.equal(isCopyNull(data, fields.starts[1]!, fields.ends[1]!), false)
  assert.equal(isCopyNull(data, fields.starts[2]!, fields.ends[2]!), false)
})

test('rows are counted by newline bytes and a field is found by its index within its line', () => {
  const data = Buffer.from('1\ta\\tb\tx\n2\tc\ty\n')
  assert.equal(countCopyRows(data), 2)
  assert.equal(countCopyRows(Buffer.alloc(0)), 0)
  const firstEnd = data.indexOf(10)
  assert.equal(copyFieldAt(data, 0, firstEnd, 0).toString(), '1')
  assert.equal(copyFieldAt(data, 0, firstEnd, 1).toString(), 'a\\tb')
  assert.equal(copyFieldAt(data, 0, firstEnd, 2).toString(), 'x')
  assert.equal(copyFieldAt(data, firstEnd + 1, data.length - 1, 2).toString(), 'y')
})
