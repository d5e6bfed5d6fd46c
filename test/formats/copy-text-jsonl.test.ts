import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { encodeCopyJsonl, jsonRuleFor } from '../../src/formats/copy-text-jsonl.js'

/** The JSON text of one COPY field of a Postgres type, through the COPY -> JSONL path. */
function jsonOf(pgType: string, literal: string): string {
  const copy = { columns: ['x'], pgTypes: [pgType], data: Buffer.from(`${literal}\n`) }
  const ctx = { emittedAt: 1, meta: '{}', generationId: 1, flatten: true }
  const line = encodeCopyJsonl(copy, 1, [jsonRuleFor(pgType)], ctx, () => {
    throw new Error('no decoded values needed')
  })!.toString()
  return /"x":(.*)}\n$/.exec(line)![1]!
}

describe('COPY text -> JSONL numbers', () => {
  const literals = ['0', '-0', '0.0', '-0.00', '1', '10', '12.50', '3.00', '-3.00', '0.5', '0.000001', '0.0000001', '0.0000015', '0.00000099',
    '123456789012345', '1234567890123456', '100000000000000000000', '1000000000000000000000', '0.1', '-0.1', '1.5e+20', '1e-05',
    '99999999999999.9', '0.123456789012345', '0.1234567890123456', '740000.37', '123.450000', '-1234.5']
  it('prints numeric values as JSON.stringify(Number(literal)) up to 15 digits, else as strings', () => {
    for (const literal of literals) {
      const significant = literal.replace(/e.*$/, '').replace(/[^0-9]/g, '').replace(/^0+/, '').replace(/0+$/, '').length
      const expected = significant <= 15 ? JSON.stringify(Number(literal)) : JSON.stringify(literal)
      assert.equal(jsonOf('numeric', literal), expected, literal)
    }
    assert.equal(jsonOf('numeric', 'NaN'), 'null')
  })
  it('prints double values as JSON.stringify(Number(literal))', () => {
    for (const literal of literals) assert.equal(jsonOf('double precision', literal), JSON.stringify(Number(literal)), literal)
    assert.equal(jsonOf('double precision', 'Infinity'), 'null')
  })
})
