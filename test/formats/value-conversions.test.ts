import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  toBoolean,
  toDouble,
  toEpochDays,
  toEpochMicros,
  toInt64,
  toTimeMicros,
  toUnscaledDecimal,
} from '../../src/formats/value-conversions.js'

describe('value conversions', () => {
  it('parses timestamps with and without zone (no zone = UTC) to epoch microseconds', () => {
    assert.equal(toEpochMicros('2024-05-01T10:00:00Z'), Date.UTC(2024, 4, 1, 10) * 1000)
    assert.equal(toEpochMicros('2024-05-01 10:00:00'), Date.UTC(2024, 4, 1, 10) * 1000)
    assert.equal(toEpochMicros('2024-05-01T10:00:00.123456Z'), Date.UTC(2024, 4, 1, 10) * 1000 + 123_456)
    assert.equal(toEpochMicros('2024-05-01T10:00:00.1234567+00'), Date.UTC(2024, 4, 1, 10) * 1000 + 123_456)
    assert.equal(toEpochMicros('2024-05-01T12:30:00+02:30'), Date.UTC(2024, 4, 1, 10) * 1000)
    assert.equal(toEpochMicros('2024-05-01T05:00:00-0500'), Date.UTC(2024, 4, 1, 10) * 1000)
    assert.equal(toEpochMicros('1969-12-31T23:59:59.999999Z'), -1)
    assert.equal(toEpochMicros(1_714_557_600_123), 1_714_557_600_123_000)
    // Sentinels far from 1970 (beyond 2^53 microseconds) come back exact, as BigInts.
    assert.equal(toEpochMicros('9999-12-31T23:59:59.999999Z'), 253_402_300_799_999_999n)
    assert.equal(toEpochMicros('9999-12-31 23:59:59.999999-01:00'), 253_402_304_399_999_999n)
    assert.equal(toEpochMicros('0001-01-01 00:00:00'), -62_135_596_800_000_000n)
    assert.equal(toEpochMicros('yesterday'), undefined)
    assert.equal(toEpochMicros({}), undefined)
  })

  it('parses dates to days since the epoch', () => {
    assert.equal(toEpochDays('1970-01-02'), 1)
    assert.equal(toEpochDays('1969-12-31'), -1)
    assert.equal(toEpochDays('2024-05-01T23:00:00Z'), Date.UTC(2024, 4, 1) / 86_400_000)
    assert.equal(toEpochDays('05/01/2024'), undefined)
  })

  it('parses times to microseconds since midnight, normalising zoned times to UTC', () => {
    assert.equal(toTimeMicros('00:00:01'), 1_000_000)
    assert.equal(toTimeMicros('12:34:56.789'), 45_296_789_000)
    assert.equal(toTimeMicros('01:00:00+02'), 23 * 3_600_000_000)
    assert.equal(toTimeMicros('25:00'), undefined)
    assert.equal(toTimeMicros('noon'), undefined)
  })

  it('keeps safe integers as numbers and larger int64 values as bigint', () => {
    assert.equal(toInt64(42), 42)
    assert.equal(toInt64(-7), -7)
    assert.equal(toInt64('9007199254740993'), 9_007_199_254_740_993n)
    assert.equal(toInt64('-9223372036854775808'), -(2n ** 63n))
    assert.equal(toInt64('9223372036854775808'), undefined)
    assert.equal(toInt64(1.5), undefined)
    assert.equal(toInt64('12a'), undefined)
    assert.equal(toInt64(true), undefined)
  })

  it('converts doubles and booleans', () => {
    assert.equal(toDouble('1.25'), 1.25)
    assert.ok(Number.isNaN(toDouble('NaN')))
    assert.equal(toDouble('Infinity'), Infinity)
    assert.equal(toDouble('abc'), undefined)
    assert.equal(toDouble(''), undefined)
    assert.equal(toBoolean('true'), true)
    assert.equal(toBoolean(false), false)
    assert.equal(toBoolean('yes'), undefined)
  })

  it('scales decimals, rounds half away from zero, and rejects values beyond the precision', () => {
    assert.equal(toUnscaledDecimal('123.45', 10, 2), 12345n)
    assert.equal(toUnscaledDecimal('-0.005', 10, 2), -1n)
    assert.equal(toUnscaledDecimal('1.004', 10, 2), 100n)
    assert.equal(toUnscaledDecimal(2.5, 5, 0), 3n)
    assert.equal(toUnscaledDecimal('12345678901234567890123456789012345678', 38, 0), 12345678901234567890123456789012345678n)
    assert.equal(toUnscaledDecimal('1000', 5, 2), undefined)
    assert.equal(toUnscaledDecimal('1e5', 10, 2), undefined)
    assert.equal(toUnscaledDecimal('.', 10, 2), undefined)
  })
})
