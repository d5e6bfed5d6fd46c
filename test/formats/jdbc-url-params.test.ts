import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseJdbcUrlParams } from '../../src/formats/jdbc-url-params.js'
import { memoryLogger } from '../helpers/pg.js'

test('jdbc_url_params: URL-decoded pairs, bare keys, empty parts skipped; keys not understood are warned about', () => {
  const logger = memoryLogger()
  const params = parseJdbcUrlParams('connectTimeout=5&&options=-c%20search_path%3Dx&ssl&useUnicode=true', ['connectTimeout', 'options'], logger)
  assert.deepEqual([...params], [
    ['connectTimeout', '5'],
    ['options', '-c search_path=x'],
    ['ssl', ''],
    ['useUnicode', 'true'],
  ])
  assert.deepEqual(logger.lines, [
    'warn jdbc_url_params: "ssl" is not understood by sluice and is ignored.',
    'warn jdbc_url_params: "useUnicode" is not understood by sluice and is ignored.',
  ])
  assert.deepEqual([...parseJdbcUrlParams(undefined, [])], [])
})

test('jdbc_url_params: a part that is not valid URL encoding is a config error naming the field', () => {
  assert.throws(() => parseJdbcUrlParams('connectTimeout=5&note=100%', ['connectTimeout']), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'SLUICE_ERR_CONNECTOR_CONFIG')
    assert.equal(err.message, 'jdbc_url_params: "note=100%" is not valid URL encoding (write a literal % as %25).')
    return true
  })
})
