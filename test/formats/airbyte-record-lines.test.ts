import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { RecordLineScanner } from '../../src/formats/airbyte-record-lines.js'

/** A RECORD line with `data` written as given. */
const line = (data: string, before = '{"type":"RECORD","record":{"stream":"s","data":', after = ',"emitted_at":1}}'): string => `${before}${data}${after}`

/** What the scanner says of one line: the data bytes it would copy, or undefined (parse). */
function scanned(text: string): string | undefined {
  const buf = Buffer.from(text)
  const scanner = new RecordLineScanner(buf)
  return scanner.scan(0, buf.length) ? buf.toString('utf8', scanner.dataStart, scanner.dataEnd) : undefined
}

/** The row path's data text, or undefined when the line is not valid JSON. */
function rowPath(text: string): string | undefined {
  try {
    const parsed = JSON.parse(text) as { record?: { data?: unknown } } | null
    return JSON.stringify(parsed?.record?.data ?? {})
  } catch {
    return undefined
  }
}

/** Lines whose data is already what JSON.stringify prints: the scanner must copy them. */
const CANONICAL = [
  '{}',
  '{"a":1}',
  '{"id":1,"name":"x","nested":{"deep":[1,2,{"k":null}],"b":true,"c":false},"empty":[],"o":{}}',
  '{"u":"é ü 日本 😀 \u2028"}',
  '{"esc":"q\\"b\\\\n\\nr\\rt\\tb\\bf\\f","ctl":"\\u0001\\u001f"}',
  '{"n":[0,-1,1.5,-0.5,0.000001,123456789012345,12345678901234.5,100000000000000000000,99.99,1e0]}'.replace(',1e0', ''),
  '{"big":"12345678901234567890"}',
  '{"__proto__":1,"k-1":2,"-1":3,"1a":4,"0x":5}',
  '{"a":{"a":{"a":1}}}',
]

/** Lines whose data JSON.stringify would print differently: the scanner must send them to JSON.parse. */
const NOT_CANONICAL = [
  '{ "a":1}',
  '{"a": 1}',
  '{"a":1 }',
  '{"a":[1, 2]}',
  '{"a":"\\/"}',
  '{"a":"\\u00e9"}',
  '{"a":"\\u0041"}',
  '{"a":"\\u000A"}',
  '{"a":"\\u000a"}',
  '{"a":"\\ud83d\\ude00"}',
  '{"a":"\\u007f"}',
  '{"a":1.0}',
  '{"a":1.50}',
  '{"a":-0}',
  '{"a":-0.0}',
  '{"a":1e5}',
  '{"a":1E-7}',
  '{"a":0.0000001}',
  '{"a":12345678901234567}',
  '{"a":12345678901234567890}',
  '{"a":1234567890123456.7}',
  '{"a":1000000000000000000000}',
  '{"a":1,"a":2}',
  '{"x":{"b":1,"b":2}}',
  '{"b":1,"1":2}',
  '{"b":1,"0":2}',
]

/**
 * Canonical, but left to JSON.parse: a lone surrogate escape, 16 significant digits, an
 * integer-like key (rare, and cheaper to parse than to prove).
 */
const CONSERVATIVE = ['{"a":"\\ud800"}', '{"a":"x\\udfff"}', '{"a":1234567890123456}', '{"0":1}']
/** Features of CONSERVATIVE data. */
const CONSERVATIVE_FEATURE = /\\ud[89a-f]|\d{16}|"\d+":/

/** Invalid JSON, or envelopes the row path reads differently: never copied. */
const INVALID_OR_ODD = [
  line('{"a":01}'),
  line('{"a":1.}'),
  line('{"a":-}'),
  line('{"a":tru}'),
  line('{"a":"x\ty"}'),
  line('{"a":1,}'),
  line('{"a" 1}'),
  line('{"a":1}', '{"type":"RECORD","record":{"stream":"s","data":', ',"emitted_at":1}'),
  line('{"a":1}', '{"type":"RECORD","record":{"stream":"s","data":', ',"emitted_at":1}}x'),
  line('{"a":1}', '{"type":"RECORD","record":{"stream":"s","data":', ',"data":{"b":2}}}'),
  line('{"a":1}', '{"type":"RECORD","record":{"stream":"s","data":', '},"record":{"stream":"s","data":{"c":1}}}'),
  line('{"a":1}', '{"type":"RECORD","record":{"stream":"s","d\\u0061ta":{"z":1},"data":', '}}'),
  line('[1]'),
  line('"text"'),
  '{"type":"RECORD","record":{"stream":"s"}}',
  '{"type":"RECORD"}',
  `${'['.repeat(100)}${']'.repeat(100)}`,
  line(`{"a":${'['.repeat(100)}${']'.repeat(100)}}`),
]

describe('Airbyte RECORD lines: canonical data bytes', () => {
  it('copies data JSON.stringify would print the same', () => {
    for (const data of CANONICAL) {
      assert.equal(rowPath(line(data)), data, `fixture ${data}`)
      assert.equal(scanned(line(data)), data, data)
    }
  })

  it('accepts any envelope around it (spaces, key order, other keys)', () => {
    const data = '{"a":[1,{"b":"c"}]}'
    for (const text of [
      `{ "type" : "RECORD", "record" : { "namespace": null, "stream": "s", "data": ${data}, "emitted_at": 1 } }\r`,
      `{"record":{"emitted_at":1,"meta":{"changes":[{"field":"data","change":"NULLED"}]},"data":${data},"stream":"s"},"type":"RECORD"}`,
      `{"type":"RECORD","record":{"stream":"s\\/x","namespace":"\\u00e9","data":${data},"emitted_at":1.7E12,"meta":{"n":1.50}}}`,
    ]) {
      assert.equal(scanned(text), data, text)
      assert.equal(rowPath(text), data)
    }
  })

  it('sends data JSON.stringify would print differently to JSON.parse', () => {
    for (const data of NOT_CANONICAL) {
      assert.notEqual(rowPath(line(data)), data, `fixture ${data}`)
      assert.equal(scanned(line(data)), undefined, data)
    }
  })

  it('leaves rare canonical forms to JSON.parse', () => {
    for (const data of CONSERVATIVE) {
      assert.equal(rowPath(line(data)), data, `fixture ${data}`)
      assert.equal(scanned(line(data)), undefined, data)
    }
  })

  it('never copies invalid JSON or an envelope the row path reads differently', () => {
    for (const text of INVALID_OR_ODD) assert.equal(scanned(text), undefined, text)
  })

  it('copies no non-ASCII byte of a batch that is not valid UTF-8', () => {
    const good = Buffer.from(line('{"a":"é"}'))
    const bad = Buffer.concat([Buffer.from(line('{"a":"\xff"}', undefined, ',"emitted_at":1}}\n'), 'latin1'), good])
    const scanner = new RecordLineScanner(bad)
    const first = bad.indexOf(0x0a)
    assert.equal(scanner.scan(0, first), false)
    assert.equal(scanner.scan(first + 1, bad.length), false)
    assert.equal(new RecordLineScanner(Buffer.from(line('{"a":"\xff"}'), 'latin1')).scan(0, Buffer.byteLength(line('{"a":"\xff"}'), 'latin1')), false)
  })

  it('agrees with JSON.parse + JSON.stringify on random documents, printed canonically or not', () => {
    let seed = 42
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff
      return seed % n
    }
    const pieces = ['a', 'é', '"', '\\', '\n', '\u0001', '😀', '/', '\u007f', 'key', '1', '\t', '\u2028']
    const str = (): string => Array.from({ length: rand(4) }, () => pieces[rand(pieces.length)]).join('')
    const numbers = ['0', '-0', '1', '-17', '0.5', '1.25', '1.50', '1e3', '123456789012345', '1234567890123456', '0.0000012', '0.00000012', '3.14159', '-2.5E-3']
    const value = (depth: number): string => {
      switch (rand(depth > 3 ? 4 : 6)) {
        case 0:
          return numbers[rand(numbers.length)]!
        case 1:
          return JSON.stringify(str())
        case 2:
          return ['true', 'false', 'null'][rand(3)]!
        case 3:
          return `"\\u${rand(0x10000).toString(16).padStart(4, '0')}"`
        case 4:
          return `[${Array.from({ length: rand(3) }, () => value(depth + 1)).join(rand(5) === 0 ? ', ' : ',')}]`
        default:
          return object(depth + 1)
      }
    }
    const object = (depth: number): string =>
      `{${Array.from({ length: rand(4) }, () => `${JSON.stringify(rand(6) === 0 ? String(rand(3)) : ['a', 'b', 'c', 'dd', str()][rand(5)])}:${value(depth)}`).join(',')}}`
    let copied = 0
    for (let i = 0; i < 5000; i++) {
      const data = object(0)
      const text = line(data)
      const copy = scanned(text)
      const expected = rowPath(text)
      if (copy !== undefined) {
        copied++
        assert.equal(copy, expected, text)
      } else if (expected === data && !CONSERVATIVE_FEATURE.test(data)) assert.fail(`canonical data not copied: ${text}`)
    }
    assert.ok(copied > 500, `only ${copied} copied`)
  })
})
