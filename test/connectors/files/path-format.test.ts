import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  constantPrefix,
  DEFAULT_FILE_NAME_PATTERN,
  DEFAULT_PATH_FORMAT,
  expandFileName,
  expandPathFormat,
  joinKey,
  keyPattern,
  pathVariables,
  s3SafeName,
  withCollisionSuffix,
} from '../../../src/connectors/files/path-format.js'

const start = new Date(Date.UTC(2024, 4, 1, 9, 8, 7, 6))

describe('path format', () => {
  it('makes names S3-safe the way Airbyte does', () => {
    assert.equal(s3SafeName('café_ü'), 'cafe_u')
    assert.equal(s3SafeName('a b#c%d'), 'a_b_c_d')
    assert.equal(s3SafeName("ok!-_.*'()&$@=;:+,?"), "ok!-_.*'()&$@=;:+,?")
  })

  it('expands the default layout from one sync start time', () => {
    const vars = pathVariables({ name: 'users', namespace: 'public' }, start)
    const path = expandPathFormat(DEFAULT_PATH_FORMAT, vars)
    assert.equal(path, `public/users/2024_05_01_${start.getTime()}_`)
    const file = expandFileName(DEFAULT_FILE_NAME_PATTERN, { partNumber: 0, syncId: 3, extension: '.jsonl.gz', now: start })
    assert.equal(joinKey('data_output_path', path + file), `data_output_path/public/users/2024_05_01_${start.getTime()}_0.jsonl.gz`)
  })

  it('expands every time variable with two-digit (millisecond four-digit) padding', () => {
    const vars = pathVariables({ name: 's' }, start)
    assert.equal(
      expandPathFormat('${NAMESPACE}/${YEAR}-${MONTH}-${DAY}T${HOUR}:${MINUTE}:${SECOND}.${MILLISECOND}/${UNKNOWN}', vars),
      '/2024-05-01T09:08:07.0006/${UNKNOWN}',
    )
    assert.match(vars.UUID!, /^[0-9a-f-]{36}$/)
  })

  it('collapses repeated slashes and drops the leading one (empty namespace)', () => {
    const vars = pathVariables({ name: 'users', namespace: null }, start)
    assert.equal(joinKey('bronze/', expandPathFormat(DEFAULT_PATH_FORMAT, vars)), `bronze/users/2024_05_01_${start.getTime()}_`)
    assert.equal(joinKey('', '/a//b'), 'a/b')
  })

  it('expands file variables', () => {
    const now = new Date(Date.UTC(2024, 11, 31, 23, 0, 0))
    assert.equal(
      expandFileName('{date}_{date:yyyy_MM}_{timestamp}_{sync_id}_{part_number}{format_extension}{other}', { partNumber: 4, syncId: 9, extension: '.csv', now }),
      `2024_12_31_2024_12_${now.getTime()}_9_4.csv{other}`,
    )
  })

  it('cuts the constant prefix at the first non-stream variable', () => {
    const vars = pathVariables({ name: 'users', namespace: 'public' }, start)
    assert.equal(constantPrefix(DEFAULT_PATH_FORMAT, vars), 'public/users/')
    assert.equal(constantPrefix('${STREAM_NAME}/${YEAR}/x', vars), 'users/')
    assert.equal(constantPrefix('raw_${STREAM_NAME}_${EPOCH}', vars), '')
  })

  it('matches keys of the same stream only, capturing the part number', () => {
    const vars = pathVariables({ name: 'users', namespace: 'public' }, start)
    const re = keyPattern(DEFAULT_PATH_FORMAT, DEFAULT_FILE_NAME_PATTERN, vars, '.parquet')
    assert.equal(re.exec('public/users/2023_01_02_1672617600000_12.parquet')?.[1], '12')
    assert.ok(re.test('public/users/2023_01_02_1672617600000_3-1.parquet'))
    assert.ok(!re.test('public/users_archive/2023_01_02_1672617600000_0.parquet'))
    assert.ok(!re.test('public/users/2023_01_02_1672617600000_0.jsonl'))
    assert.ok(!re.test('public/users/nested/2023_01_02_1672617600000_0.parquet'))
  })

  it('puts the collision suffix before the extension', () => {
    assert.equal(withCollisionSuffix('0.csv.gz', '.csv.gz', 2), '0-2.csv.gz')
    assert.equal(withCollisionSuffix('name', '.csv', 1), 'name-1')
  })
})
