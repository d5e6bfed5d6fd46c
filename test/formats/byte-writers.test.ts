import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setInt64Words, writeUuidHex } from '../../src/formats/byte-writers.js'

describe('byte writers', () => {
  it('stores safe integers as int64 words, negatives included', () => {
    const values = [0, 1, -1, 2 ** 32, -(2 ** 32) - 5, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 1_714_557_600_123_456]
    const out = new BigInt64Array(values.length)
    const words = new Uint32Array(out.buffer)
    values.forEach((v, i) => setInt64Words(words, i, v))
    assert.deepEqual([...out], values.map(BigInt))
  })

  it('writes version 4 UUIDs as hex text', () => {
    const random = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff)
    const out = Buffer.alloc(72)
    assert.equal(writeUuidHex(random, 16, out, writeUuidHex(random, 0, out, 0)), 72)
    const [a, b] = [out.toString('latin1', 0, 36), out.toString('latin1', 36, 72)]
    for (const u of [a, b]) assert.match(u, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    assert.equal(a!.slice(0, 8), '0b30557a')
    assert.notEqual(a, b)
  })
})
