import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { RecordData } from '../../src/protocol/index.js'
import { encodeCopyColumns } from '../../src/formats/copy-text-encode.js'
import { encodeRecordLinesCopyText, type RecordLinesCopyColumn } from '../../src/formats/record-lines-copy-text.js'

const line = (data: string): string => `{"type":"RECORD","record":{"stream":"s","data":${data},"emitted_at":1}}\n`

const ROW_END = { idPrefix: '\tabcdefgh-0000-4000-8000-', tail: '\t2024-01-01T00:00:00.000Z\t{"changes":[]}\t3' }

/** The column path's text: the lines parsed and transposed as the external reader does, then encodeCopyColumns. */
function columnPath(text: string, columns: readonly RecordLinesCopyColumn[]): string {
  const rows = parse(text)
  const values = columns.map((c) => rows.map((r) => (Object.hasOwn(r, c.source) ? r[c.source] : undefined)))
  const out = encodeCopyColumns(
    values,
    columns.map((c) => c.json),
    rows.length,
    (r) => ROW_END.idPrefix + r.toString(16).padStart(12, '0') + ROW_END.tail,
  )
  return out.toString('utf8')
}

function parse(text: string): RecordData[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { record: { data: RecordData } }).record.data)
}

/** The encoder's text, and how often it parsed the batch. */
function fromLines(text: string, columns: readonly RecordLinesCopyColumn[], scratch?: Buffer): { text: string | undefined; parses: number } {
  const buf = Buffer.from(text)
  let parses = 0
  const out = encodeRecordLinesCopyText(
    buf,
    text.split('\n').filter((l) => l !== '').length,
    columns,
    ROW_END,
    () => {
      parses++
      return parse(text)
    },
    scratch,
  )
  return { text: out?.toString('utf8'), parses }
}

const COLUMNS: RecordLinesCopyColumn[] = [
  { source: 'id', json: false },
  { source: 'name', json: false },
  { source: 'amount', json: false },
  { source: 'flag', json: false },
  { source: 'ts', json: false },
  { source: 'obj', json: true, shape: 'object' },
  { source: 'arr', json: true, shape: 'array' },
  { source: 'any', json: true },
  { source: 'é 😀', json: false },
  { source: 'text_of_object', json: false },
  { source: 'q"t', json: false },
]

/** Data objects read from their bytes (canonical) and others (parsed); all must encode as the column path does. */
const DATA = [
  '{}',
  '{"id":1,"name":"a","amount":1.5,"flag":true,"ts":"2024-01-02T03:04:05Z","obj":{"a":1},"arr":[1,"x"],"any":"s","é 😀":"u","text_of_object":{"k":[1,{"z":null}]}}',
  // Keys in another order, extra keys, missing keys, nulls.
  '{"extra":{"deep":[1,2]},"flag":false,"id":2,"name":null,"unknown":"x","any":null}',
  '{"any":{"k":"a\\"b\\\\c\\nd"},"name":"q\\"b\\\\s\\nn\\rr\\tt\\bb\\ff/","id":-3}',
  // Control characters written as \u00xx (canonical), NUL dropped as escapeCopy drops it.
  '{"name":"c\\u0001d\\u001fe\\u0000f","any":"\\u0000"}',
  // Raw UTF-8 and an emoji.
  '{"name":"ñ é 日本 😀 \u2028","obj":{"é":"😀"}}',
  // Numbers: canonical ones are copied, others go through JSON.parse.
  '{"amount":0,"id":123456789012345,"any":-0.5}',
  '{"amount":1e21}',
  '{"amount":1E-7,"id":12345678901234567890}',
  '{"amount":1.50,"id":9007199254740993}',
  '{"amount":-0,"any":1e400}',
  '{"amount":1e400}',
  // JSON escapes a canonical writer does not use: parsed.
  '{"name":"\\u00e9\\ud83d\\ude00\\/"}',
  '{"name":"lone \\ud800 surrogate"}',
  '{"name":"\\u000a\\u0009"}',
  // Whitespace: parsed.
  '{ "id" : 7 , "name" : "w s" }',
  // Duplicate key: JSON.parse keeps the last.
  '{"id":1,"id":2}',
  // Escaped key naming a column.
  '{"n\\u0061me":"escaped key","\\"q":1}',
  // A string, number or boolean into an object/array-free column.
  '{"ts":"not a time","flag":"yes","id":"12","text_of_object":[1,"a\\tb"]}',
  '{"é 😀":5,"text_of_object":"plain"}',
  '{"__proto__":{"a":1},"constructor":1,"id":8}',
  // A canonical escaped key naming a column, and more keys than the scanner first keeps room for.
  '{"q\\"t":"quoted key","id":9}',
  `{${Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(',')},"name":"after forty","id":10}`,
]

describe('encodeRecordLinesCopyText', () => {
  it('writes the column path text for each kind of line, alone and in one batch', () => {
    for (const data of DATA) {
      const text = line(data)
      assert.equal(fromLines(text, COLUMNS).text, columnPath(text, COLUMNS), data)
    }
    const all = DATA.map(line).join('')
    assert.equal(fromLines(all, COLUMNS).text, columnPath(all, COLUMNS))
  })

  it('reads canonical lines without parsing the batch', () => {
    const text = [DATA[1]!, DATA[2]!, DATA[3]!, DATA[4]!, DATA[5]!, DATA.at(-2)!, DATA.at(-1)!].map(line).join('')
    const r = fromLines(text, COLUMNS)
    assert.equal(r.parses, 0)
    assert.equal(r.text, columnPath(text, COLUMNS))
  })

  it('parses for lines it cannot read in place', () => {
    const text = line(DATA[1]!) + line('{"amount":1.50}')
    assert.ok(fromLines(text, COLUMNS).parses > 0)
  })

  it('numbers rows in hex for the raw ids, over many rows and a small scratch buffer', () => {
    const lines = Array.from({ length: 70_000 }, (_, i) => line(`{"id":${i},"name":"row ${i}\\t${'x'.repeat(i % 50)}"}`)).join('')
    const r = fromLines(lines, COLUMNS, Buffer.alloc(16))
    assert.equal(r.text, columnPath(lines, COLUMNS))
    assert.match(r.text!.split('\n')[65_536]!, /\t[a-z0-9-]{24}000000010000\t/)
  })

  it('leaves a batch to the other paths when an object or array column holds another value', () => {
    for (const data of ['{"obj":"text"}', '{"obj":[1]}', '{"arr":{"a":1}}', '{"arr":5}', '{"obj":true}']) {
      assert.equal(fromLines(line(DATA[1]!) + line(data), COLUMNS).text, undefined, data)
      // The same from a parsed line.
      assert.equal(fromLines(line(DATA[1]!) + line(data.replace(':', ': ')), COLUMNS).text, undefined, data)
    }
  })

  it('leaves a batch to the other paths when data is not an object or the count differs', () => {
    assert.equal(fromLines(line('[1,2]'), COLUMNS).text, undefined)
    const buf = Buffer.from(line('{"id":1}') + line('{"id":2}'))
    assert.equal(encodeRecordLinesCopyText(buf, 1, COLUMNS, ROW_END, () => parse(buf.toString())), undefined)
    assert.equal(encodeRecordLinesCopyText(buf, 3, COLUMNS, ROW_END, () => parse(buf.toString())), undefined)
  })

  it('fails as the column path does on a line that is not JSON', () => {
    const text = line('{"id":1}') + '{"type":"RECORD","record":{"data":{"id":2}\n'
    assert.throws(() => fromLines(text, COLUMNS), SyntaxError)
  })
})
