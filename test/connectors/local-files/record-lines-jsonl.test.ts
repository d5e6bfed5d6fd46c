import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { readAirbyteMessages } from '../../../src/connectors/external/airbyte-message-reader.js'
import { JsonlEncoder } from '../../../src/formats/jsonl-encoder.js'
import { ParquetEncoder } from '../../../src/formats/parquet-encoder.js'
import { dataColumns } from '../../../src/formats/stream-columns.js'
import { readParquet } from '../../formats/fixtures.js'
import { isRecordBatch, type RecordBatch } from '../../../src/protocol/index.js'
import { isSluiceError } from '../../../src/errors.js'

/** Record batches as an external source's reader makes them (raw lines kept). */
async function batchesOf(text: Buffer): Promise<RecordBatch[]> {
  async function* input(): AsyncGenerator<Buffer> {
    // Odd chunk sizes: lines cut anywhere, as a pipe delivers them.
    for (let i = 0; i < text.length; i += 97) yield text.subarray(i, i + 97)
  }
  const out: RecordBatch[] = []
  for await (const item of readAirbyteMessages(input(), { label: 'test source', maxBatchRows: 50 })) if (isRecordBatch(item)) out.push(item)
  return out
}

/** The same batch without its raw lines or columns: what the row path encodes. */
function rowsOnly(batch: RecordBatch): RecordBatch {
  return { type: 'RECORD_BATCH', stream: batch.stream, emittedAt: batch.emittedAt, count: batch.count, bytes: batch.bytes, rows: () => batch.rows() }
}

async function encode(batches: RecordBatch[], flatten: boolean): Promise<string> {
  const chunks: Uint8Array[] = []
  const encoder = new JsonlEncoder(async (c) => void chunks.push(c), { syncId: 7, generationId: 3 }, flatten)
  for (const b of batches) await encoder.write(b)
  await encoder.end()
  // Raw ids are random on both paths.
  return Buffer.concat(chunks).toString('utf8').replace(/"_airbyte_raw_id":"[0-9a-f-]{36}"/g, '"_airbyte_raw_id":"ID"')
}

const line = (data: string, envelope = (d: string): string => `{"type":"RECORD","record":{"stream":"s","data":${d},"emitted_at":1}}`): string => `${envelope(data)}\n`

/** Canonical and non-canonical data (one departure from JSON.stringify's output per line): unicode, escapes, nesting, numbers. */
const DATA = [
  '{"id":1,"name":"plain"}',
  '{}',
  '{"u":"é ü 日本 😀 \u2028 \u2029","rtl":"שלום"}',
  '{"esc":"q\\"b\\\\n\\nr\\rt\\tb\\bf\\f","ctl":"\\u0001\\u001f"}',
  '{"slash":"a\\/b"}',
  '{"hex":"\\u00e9"}',
  '{"hex":"\\u0041"}',
  '{"hex":"\\u001F"}',
  '{"pair":"\\ud83d\\ude00"}',
  '{"lone":"\\ud800"}',
  '{"nested":{"deep":[1,[2,[3,{"k":null}]]],"b":true,"c":false},"empty":[],"o":{}}',
  '{"n":[0,-1,1.5,-0.5,0.000001,123456789012345,100000000000000000000,"12345678901234567890"]}',
  '{"big":12345678901234567890}',
  '{"big":1234567890123456}',
  '{"huge":1e400}',
  '{"neg":-0}',
  '{"exp":1E5}',
  '{"tiny":0.0000001}',
  '{"frac":12.50}',
  '{"int":1.0}',
  '{ "spaced":1}',
  '{"spaced":[1, 2]}',
  '{"dup":1,"dup":2,"other":3}',
  '{"o":{"dup":1,"dup":2}}',
  '{"b":1,"2":"two","1":"one"}',
  '{"__proto__":{"a":1},"constructor":2}',
]

describe('External source -> JSONL from raw record lines', () => {
  const envelopes = [
    (d: string): string => `{"type":"RECORD","record":{"stream":"s","data":${d},"emitted_at":1}}`,
    (d: string): string => `{"type": "RECORD", "record": {"namespace": null, "stream": "s", "data": ${d}, "emitted_at": 1, "meta": {"changes": []}}}`,
    (d: string): string => `{"record":{"emitted_at":1,"data":${d},"stream":"s"},"type":"RECORD"}`,
  ]
  for (const flatten of [false, true]) {
    it(`writes the bytes the row path writes (${flatten ? 'root-level flattening' : 'no flattening'})`, async () => {
      const text = Buffer.from(envelopes.flatMap((env) => DATA.map((d) => line(d, env))).join(''))
      const batches = await batchesOf(text)
      assert.equal(batches.reduce((n, b) => n + b.count, 0), DATA.length * envelopes.length)
      assert.ok(batches.every((b) => b.airbyteRecordLines !== undefined))
      const fast = await encode(batches, flatten)
      const rows = await encode(batches.map(rowsOnly), flatten)
      assert.equal(fast, rows)
      // The data really is there (not two identical wrong outputs).
      const first = JSON.parse(fast.split('\n')[0]!) as Record<string, unknown>
      assert.deepEqual(flatten ? { id: first.id, name: first.name } : first._airbyte_data, { id: 1, name: 'plain' })
    })
  }

  it('writes the bytes the row path writes for lines that are not valid UTF-8', async () => {
    const text = Buffer.concat([Buffer.from(line('{"a":"ok é"}')), Buffer.from(line('{"a":"\xff\xfe"}'), 'latin1'), Buffer.from(line('{"b":"é"}'))])
    const batches = await batchesOf(text)
    assert.equal(await encode(batches, false), await encode(batches.map(rowsOnly), false))
  })

  it('fails on a line that is not JSON as the row path does', async () => {
    const text = Buffer.from(line('{"a":1}') + '{"type":"RECORD","record":{"stream":"s","data":{"a":01}}}\n')
    const batches = await batchesOf(text)
    const failure = (e: unknown): boolean => isSluiceError(e) && e.code === 'SLUICE_ERR_CONNECTOR_PROTOCOL' && /not valid JSON/.test(e.message)
    await assert.rejects(encode(batches, false), failure)
    await assert.rejects(encode(batches.map(rowsOnly), false), failure)
  })

  for (const flatten of [false, true]) {
    it(`grows its output when parsed rows print longer than their lines (${flatten ? 'root-level flattening' : 'no flattening'})`, async () => {
      // 1e20 prints as 21 digits: each non-canonical line's row is far longer than the line.
      const long = `{"a":[${Array.from({ length: 200 }, () => '1e20').join(',')}]}`
      // Canonical lines after them are copied from the lines' copy, which an output that did not
      // grow would have overwritten.
      const text = Buffer.from([line(long), line('{}'), line(long), line(long), line('{"id":1}'), line('{"id":2,"s":"x\\ty"}'), line('{"id":3,"n":[1.5,-2]}')].join(''))
      const batches = await batchesOf(text)
      const fast = await encode(batches, flatten)
      assert.equal(fast, await encode(batches.map(rowsOnly), flatten))
      assert.equal(fast.split('\n').filter((l) => l !== '').length, 7)
    })
  }

  it('hands out output that later batches do not overwrite (the work buffer is reused)', async () => {
    const chunks: Uint8Array[] = []
    const encoder = new JsonlEncoder(async (c) => void chunks.push(c), { syncId: 7, generationId: 3 }, false)
    const first = await batchesOf(Buffer.from([1, 2, 3].map((id) => line(`{"id":${id},"name":"first"}`)).join('')))
    const second = await batchesOf(Buffer.from(Array.from({ length: 40 }, (_, id) => line(`{"id":${id},"name":"second batch, longer"}`)).join('')))
    for (const b of first) await encoder.write(b)
    const firstOutput = Buffer.from(Buffer.concat(chunks))
    for (const b of second) await encoder.write(b)
    assert.ok(chunks.length >= 2)
    assert.deepEqual(Buffer.from(chunks[0]!), firstOutput)
    const ids = Buffer.concat(chunks).toString('utf8').trim().split('\n').map((l) => (JSON.parse(l) as { _airbyte_data: { id: number; name: string } })._airbyte_data)
    assert.deepEqual(ids.slice(0, 3), [1, 2, 3].map((id) => ({ id, name: 'first' })))
    assert.equal(ids.length, 43)
  })

  it('writes the Parquet rows the row path writes through columns()', async () => {
    const schema = { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' }, tags: { type: 'array' }, o: { type: 'object' }, absent: { type: 'string' } } }
    const text = Buffer.from(['{"id":1,"name":"a","tags":[1,"x"]}', '{"name":"b","o":{"k":null},"id":2}', '{}', '{"id":4,"name":null,"extra":true}'].map((d) => line(d)).join(''))
    const batches = await batchesOf(text)
    assert.ok(batches.every((b) => b.columns !== undefined))
    const parquet = async (input: RecordBatch[]): Promise<Record<string, unknown>[]> => {
      const chunks: Uint8Array[] = []
      const encoder = new ParquetEncoder(async (c) => void chunks.push(c), { syncId: 7, generationId: 3 }, dataColumns(schema), { codec: 'SNAPPY', blockSizeMb: 128, pageSizeKb: 1024, dictionaryEncoding: true })
      for (const b of input) await encoder.write(b)
      await encoder.end()
      return (await readParquet(Buffer.concat(chunks))).map((r) => ({ ...r, _airbyte_raw_id: 'ID' }))
    }
    const viaColumns = await parquet(batches)
    assert.deepEqual(viaColumns, await parquet(batches.map(rowsOnly)))
    assert.deepEqual(viaColumns.map((r) => [r.id, r.name]), [[1n, 'a'], [2n, 'b'], [null, null], [4n, null]])
  })
})
