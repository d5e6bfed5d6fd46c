import { test } from 'node:test'
import assert from 'node:assert/strict'
import { collisionTableName, normalizeIdentifier, quoteIdent, uniqueColumnNames } from '../../../src/connectors/postgres/pg-identifiers.js'

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
