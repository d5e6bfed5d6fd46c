import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { splitCopyFields } from '../../src/formats/copy-text.js'
import { copyTextColumn, decodeCopyColumn } from '../../src/formats/copy-text-columns.js'
import type { DataColumn } from '../../src/formats/stream-columns.js'
import { toEpochDays, toEpochMicros } from '../../src/formats/value-conversions.js'

/** A deterministic pseudo-random generator (the cases must be the same on every run). */
function random(seed: number): () => number {
  let x = seed
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648
    return x / 2_147_483_648
  }
}

/** Field boundaries the slow way: split on NL, then on TAB. */
function naiveBoundaries(text: Buffer): number[] {
  const out: number[] = []
  let start = 0
  for (let i = 0; i < text.length; i++) {
    if (text[i] === 9 || text[i] === 10) {
      out.push(start, i)
      start = i + 1
    }
  }
  return out
}

/** One column of `values` as COPY text (`\N` for null), decoded by `decoder`. */
function decodeOne(values: readonly (string | null)[], decoder: 'float' | 'timestamp' | 'date', column: DataColumn): { data: ArrayLike<number | bigint>; valid: Uint8Array; failed: number[] } {
  const text = Buffer.from(values.map((v) => `${v ?? '\\N'}\n`).join(''))
  const fields = splitCopyFields(text, 1, values.length)
  assert.ok(fields)
  const failed: number[] = []
  const d = decodeCopyColumn(fields, 0, decoder, column, (row) => failed.push(row))
  return { data: d.data as ArrayLike<number | bigint>, valid: d.valid, failed }
}

const isValid = (valid: Uint8Array, i: number): boolean => (valid[i >> 3]! & (1 << (i & 7))) !== 0

describe('splitCopyFields', () => {
  it('finds the same boundaries at every alignment, with multi-byte UTF-8, escapes and empty fields', () => {
    const next = random(7)
    const pieces = ['', 'a', 'ab', 'abc', 'abcd', 'abcde', 'üñí', '€€', '\\t', '\\\\', '\\N', 'x'.repeat(37), '日本語テキスト']
    const lines: string[] = []
    for (let r = 0; r < 400; r++) {
      lines.push(Array.from({ length: 5 }, () => pieces[Math.floor(next() * pieces.length)]).join('\t'))
    }
    const text = Buffer.from(`${lines.join('\n')}\n`)
    const expected = naiveBoundaries(text)
    for (let offset = 0; offset < 8; offset++) {
      // A view at each byte offset of a larger buffer, as socket chunks arrive.
      const backing = Buffer.alloc(text.length + 16, 0x41)
      text.copy(backing, offset)
      const view = backing.subarray(offset, offset + text.length)
      const fields = splitCopyFields(view, 5, 400)
      assert.ok(fields, `offset ${offset}`)
      const got: number[] = []
      for (let f = 0; f < 2000; f++) got.push(fields.starts[f]!, fields.ends[f]!)
      assert.deepEqual(got, expected, `offset ${offset}`)
    }
  })

  it('refuses bytes whose rows do not have the expected field count', () => {
    assert.equal(splitCopyFields(Buffer.from('1\t2\n3\n'), 2, 2), undefined)
    assert.equal(splitCopyFields(Buffer.from('1\t2\n3\t4\n'), 2, 1), undefined)
    assert.ok(splitCopyFields(Buffer.from('1\t2\n3\t4\n'), 2, 2))
  })
})

describe('decodeCopyColumn', () => {
  it('reads decimal literals exactly as Number() does, fast path or not', () => {
    const next = random(11)
    const values: string[] = ['0', '-0', '0.5', '-12.5', '739999.63', '123456789012345', '1234567890123456', '0.1', '0.000001', '1e+20', '-1.5e-7', '5.', '3.14159265358979', '2.718281828459045', '100.000']
    for (let i = 0; i < 20_000; i++) {
      const digits = 1 + Math.floor(next() * 17)
      const point = Math.floor(next() * (digits + 1))
      let s = ''
      for (let d = 0; d < digits; d++) s += String(Math.floor(next() * 10))
      if (point > 0 && point < digits) s = `${s.slice(0, point)}.${s.slice(point)}`
      values.push(next() < 0.3 ? `-${s}` : s)
    }
    const { data, failed } = decodeOne(values, 'float', { name: 'x', kind: 'number' })
    assert.deepEqual(failed, [])
    values.forEach((v, i) => assert.ok(Object.is(data[i], Number(v)), `${v}: ${data[i]} vs ${Number(v)}`))
  })

  it('reads timestamps as the general parser does, and dates of every era (years below 100 too)', () => {
    const next = random(3)
    const pad = (n: number, w: number) => String(n).padStart(w, '0')
    const stamps: string[] = ['0050-06-15 12:00:00+00', '0001-01-01 00:00:00+00', '1600-02-29 23:59:59.999999+00', '1969-12-31 23:59:59.5+00', '9999-12-31 23:59:59+00', '2024-02-29 00:00:00']
    for (let i = 0; i < 5_000; i++) {
      const year = 1700 + Math.floor(next() * 550)
      const fraction = next() < 0.5 ? '' : `.${pad(Math.floor(next() * 1e6), 6).replace(/0+$/, '') || '0'}`
      stamps.push(`${pad(year, 4)}-${pad(1 + Math.floor(next() * 12), 2)}-${pad(1 + Math.floor(next() * 28), 2)} ${pad(Math.floor(next() * 24), 2)}:${pad(Math.floor(next() * 60), 2)}:${pad(Math.floor(next() * 60), 2)}${fraction}+00`)
    }
    const ts = decodeOne(stamps, 'timestamp', { name: 't', kind: 'timestamp_tz' })
    stamps.forEach((s, i) => {
      const expected = toEpochMicros(s)
      if (expected === undefined) assert.ok(!isValid(ts.valid, i), s)
      else assert.equal(ts.data[i], BigInt(expected), s)
    })
    // Beyond about 285 years from 1970, epoch microseconds exceed 2^53 and are computed as BigInts.
    assert.deepEqual(ts.failed, [])
    assert.equal(ts.data[0], -60_574_996_800_000_000n)
    assert.equal(ts.data[1], -62_135_596_800_000_000n)
    assert.equal(ts.data[4], 253_402_300_799_000_000n)
    assert.equal(ts.data[3], -1n * 500_000n)

    const dates = ['0050-06-15', '1970-01-01', '1969-12-31', '2000-02-29', '1900-03-01', '9999-12-31']
    const days = decodeOne(dates, 'date', { name: 'd', kind: 'date' })
    const epochDays = (s: string): number => {
      const d = new Date(0)
      d.setUTCFullYear(Number(s.slice(0, 4)), Number(s.slice(5, 7)) - 1, Number(s.slice(8, 10)))
      return Math.round(d.getTime() / 86_400_000)
    }
    assert.deepEqual(Array.from(days.data as Int32Array), dates.map(epochDays))
  })
  it('reuses a parsed date only when all ten bytes match the previous one', () => {
    const stamps = [
      '2024-01-15 00:00:01+00',
      '2024-01-15 10:00:00+00',
      '2014-01-15 10:00:00+00',
      '2024-01-15 10:00:00+00',
      '2024-11-15 10:00:00+00',
      '2024-01-15 10:00:00+02',
      'garbage-in 10:00:00+00',
      '2024-01-15 23:59:59.25+00',
      '2024-01-16 00:00:00+00',
    ]
    const ts = decodeOne(stamps, 'timestamp', { name: 't', kind: 'timestamp_tz' })
    stamps.forEach((s, i) => {
      const expected = toEpochMicros(s)
      if (expected === undefined) assert.ok(!isValid(ts.valid, i), s)
      else assert.equal(ts.data[i], BigInt(expected), s)
    })
    const dates = ['2024-01-15', '2024-01-15', '1024-01-15', '2024-01-15', '2024-01-25', 'not a date', '2024-01-25', '2024-01-15']
    const days = decodeOne(dates, 'date', { name: 'd', kind: 'date' })
    dates.forEach((d, i) => {
      const expected = toEpochDays(d)
      if (expected === undefined) assert.ok(!isValid(days.valid, i), d)
      else assert.equal(days.data[i], expected, d)
    })
  })
})

describe('copyTextColumn', () => {
  it('copies text of every length at every alignment, undoing escapes and keeping NULLs', () => {
    const next = random(5)
    const alphabet = ['a', 'b', 'ü', '€', '日', ' ', '\\', '\\t', '\\n', '\\\\', '\\101']
    const unescaped: Record<string, string> = { '\\t': '\t', '\\n': '\n', '\\\\': '\\', '\\101': 'A' }
    const rows: [string, string | null][][] = []
    for (let r = 0; r < 300; r++) {
      const row: [string, string | null][] = []
      for (let c = 0; c < 3; c++) {
        if (next() < 0.1) {
          row.push(['\\N', null])
          continue
        }
        const length = Math.floor(next() * 41)
        let text = ''
        let value = ''
        for (let k = 0; k < length; k++) {
          // Mostly plain characters, an escape now and then.
          const piece = next() < 0.9 ? alphabet[Math.floor(next() * 6)]! : alphabet[6 + Math.floor(next() * 5)]!
          text += piece === '\\' ? '\\\\' : piece
          value += piece === '\\' ? '\\' : (unescaped[piece] ?? piece)
        }
        row.push([text, value])
      }
      rows.push(row)
    }
    const text = Buffer.from(rows.map((row) => `${row.map(([t]) => t).join('\t')}\n`).join(''))
    for (let offset = 0; offset < 8; offset++) {
      const backing = Buffer.alloc(text.length + 16, 0x5c)
      text.copy(backing, offset)
      const fields = splitCopyFields(backing.subarray(offset, offset + text.length), 3, rows.length)
      assert.ok(fields, `offset ${offset}`)
      for (let c = 0; c < 3; c++) {
        const column = copyTextColumn(fields, c)
        rows.forEach((row, r) => {
          const expected = row[c]![1]
          if (expected === null) assert.ok(!isValid(column.valid, r), `offset ${offset} row ${r}`)
          else {
            assert.ok(isValid(column.valid, r))
            assert.equal(column.bytes.toString('utf8', column.offsets[r], column.offsets[r + 1]), expected, `offset ${offset} row ${r} column ${c}`)
          }
        })
      }
    }
  })
})
