import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readAirbyteMessages } from '../../../src/connectors/external/airbyte-message-reader.js'
import type { RecordBatch } from '../../../src/protocol/index.js'
import { createTestDatabase, type TestDatabase } from '../../helpers/pg.js'
import { streamTables } from './pg-test-utils.js'

/*
 * Batches of an external source carry their RECORD lines; the Postgres destination encodes
 * COPY text from those bytes. The same lines loaded through `columns()` (the lines dropped)
 * must land the same rows, in every sync mode and whatever the values.
 */

let db: TestDatabase
let cfg: Record<string, unknown>

before(async () => {
  db = await createTestDatabase('extpg')
  cfg = { ...db.config, schema: 'lines' }
})
after(() => db.drop())

const schema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    big: { type: 'number', airbyte_type: 'integer' },
    amount: { type: 'number' },
    flag: { type: 'boolean' },
    day: { type: 'string', format: 'date' },
    at: { type: 'string', format: 'time', airbyte_type: 'time_without_timezone' },
    atz: { type: 'string', format: 'time', airbyte_type: 'time_with_timezone' },
    ts: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' },
    tsn: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_without_timezone' },
    txt: { type: 'string' },
    obj: { type: 'object', properties: {} },
    arr: { type: 'array', items: {} },
    any: {},
    updated: { type: 'integer' },
  },
}

/** Data objects as a connector writes them (JSON text), one batch each group. */
const BATCHES: Record<string, string[]> = {
  // Canonical JSON: read from the bytes.
  canonical: [
    '{"id":1,"big":123456789012345,"amount":12345.678901,"flag":true,"day":"2024-03-01","at":"12:34:56.000001","atz":"12:34:56+02:00","ts":"2024-01-02T00:00:00+02:00","tsn":"2024-01-01T00:00:01.123456","txt":"tab\\there\\nnew line\\r\\nback\\\\slash \\\\N quote\\" NUL\\u0000gone ñ é 😀 𝔘","obj":{"a":1,"s":"x\\ty","nested":{"list":[1,null]}},"arr":[1,"two",null,{"three":3}],"any":"plain string","updated":1}',
    '{"updated":1,"txt":"","flag":false,"id":2,"amount":-0.5,"ts":"2024-05-06T07:08:09.123Z","tsn":"1999-12-31T23:59:59","day":"0001-01-01","at":"00:00:00","atz":"00:00:00Z","obj":{},"arr":[],"any":{"k":[1,"a\\\\b"]},"extra":{"ignored":true}}',
    '{"id":3,"big":null,"amount":null,"flag":null,"day":null,"at":null,"atz":null,"ts":null,"tsn":null,"txt":null,"obj":null,"arr":null,"any":null,"updated":1}',
    '{"id":3,"amount":0.000001,"txt":"later","any":5,"updated":2}',
  ],
  // Escapes, whitespace and numbers a canonical writer would not write: those lines are parsed.
  spelled: [
    '{"id":4,"txt":"\\u00e9\\u00E9 \\ud83d\\ude00 \\/ \\u0009\\u000a","any":"\\ud83d\\ude00","updated":1}',
    '{ "id" : 5 , "amount" : 1e21 , "big" : 12345678901234 , "txt" : "spaced" , "updated" : 1 }',
    '{"id":6,"amount":1.50,"any":1.0E2,"obj":{"x":1e-7},"txt":"exponents","updated":1}',
    '{"id":7,"amount":123456789012345678901234567890,"txt":"beyond a double","updated":1}',
    '{"id":16,"big":9007199254740993,"txt":"beyond 2^53","updated":1}',
    '{"id":8,"txt":"lone \\ud800 surrogate","updated":1}',
    '{"id":9,"id":10,"txt":"duplicate key","updated":1}',
  ],
  // A value the typed COPY rejects: the batch is typed from staging (NULL with a change).
  rejected: [
    '{"id":11,"txt":"fits","updated":1}',
    '{"id":12,"big":"x","amount":"not a number","ts":"yesterday-ish","txt":"misfit","updated":1}',
    '{"id":13,"big":99999999999999999999,"txt":"overflow","updated":1}',
  ],
  // An object column holding a string: the batch is not encoded from the lines.
  shape: [
    '{"id":14,"txt":"fits too","updated":1}',
    '{"id":15,"obj":"not an object","arr":{"not":"an array"},"txt":"wrong shape","updated":1}',
  ],
}

const recordLine = (stream: string, data: string): string => `{"type":"RECORD","record":{"stream":"${stream}","data":${data},"emitted_at":1}}\n`

/** One batch read by the external reader, its `rows()` and `columns()` calls counted, and optionally without its lines. */
async function readBatch(stream: string, data: string[], emittedAt: number, withLines: boolean): Promise<{ batch: RecordBatch; rowCalls: () => number }> {
  async function* input(): AsyncGenerator<Buffer> {
    yield Buffer.from(data.map((d) => recordLine(stream, d)).join(''))
  }
  const batches: RecordBatch[] = []
  for await (const item of readAirbyteMessages(input(), { label: 'test source' })) if (item.type === 'RECORD_BATCH') batches.push(item)
  assert.equal(batches.length, 1)
  const read = batches[0]!
  assert.ok(read.airbyteRecordLines)
  let calls = 0
  const batch: RecordBatch = {
    ...read,
    emittedAt,
    rows: () => {
      calls++
      return read.rows()
    },
    columns: () => {
      calls++
      return read.columns!()
    },
  }
  if (!withLines) delete batch.airbyteRecordLines
  return { batch, rowCalls: () => calls }
}

const { write, contents } = streamTables(() => db, () => cfg, schema)

describe('RECORD lines land exactly as their column batches', () => {
  for (const mode of ['overwrite', 'append', 'append_dedup'] as const) {
    test(mode, async () => {
      const t0 = Date.UTC(2024, 6, 1)
      const groups = Object.values(BATCHES)
      const columnBatches = await Promise.all(groups.map((g, i) => readBatch(`cols_${mode}`, g, t0 + i, false)))
      await write(`cols_${mode}`, mode, columnBatches.map((b) => b.batch))
      const lineBatches = await Promise.all(groups.map((g, i) => readBatch(`lines_${mode}`, g, t0 + i, true)))
      await write(`lines_${mode}`, mode, lineBatches.map((b) => b.batch))

      const [canonical, spelled, rejected, shape] = lineBatches.map((b) => b.rowCalls())
      assert.equal(canonical, 0, 'canonical lines are neither parsed nor transposed')
      assert.ok(spelled! > 0, 'lines the scan cannot read in place are parsed')
      assert.ok(columnBatches.every((b) => b.rowCalls() > 0), 'without their lines, batches load through columns()')
      assert.ok(rejected! > 0 && shape! > 0, 'batches the typed COPY cannot take go through staging')

      const expected = await contents(`cols_${mode}`)
      assert.equal(expected.length, mode === 'append_dedup' ? 15 : 16)
      assert.deepEqual(await contents(`lines_${mode}`), expected)

      const ids = await db.query(`SELECT _airbyte_raw_id AS id FROM lines.lines_${mode}`)
      assert.equal(new Set(ids.rows.map((r) => r.id)).size, ids.rows.length, 'raw ids are unique')
      for (const r of ids.rows) assert.match(String(r.id), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/)

      // The values themselves, not only their equality between the paths.
      const row = async (id: number): Promise<Record<string, unknown>> => (await db.query(`SELECT * FROM lines.lines_${mode} WHERE id = $1`, [id])).rows[0]!
      const one = await row(1)
      assert.equal(one.txt, 'tab\there\nnew line\r\nback\\slash \\N quote" NULgone ñ é 😀 𝔘')
      assert.equal(one.big, '123456789012345')
      assert.equal(one.amount, '12345.678901')
      assert.equal(one.flag, true)
      assert.equal((one.ts as Date).toISOString(), '2024-01-01T22:00:00.000Z')
      assert.equal(one.atz, '12:34:56+02')
      assert.deepEqual(one.obj, { a: 1, s: 'x\ty', nested: { list: [1, null] } })
      assert.deepEqual(one.arr, [1, 'two', null, { three: 3 }])
      assert.equal(one.any, 'plain string')
      assert.deepEqual(one._airbyte_meta, { changes: [], sync_id: 7 })
      assert.equal(one._airbyte_generation_id, '3')
      assert.equal((await row(4)).txt, 'éé 😀 / \t\n')
      assert.equal((await row(4)).any, '😀')
      assert.equal((await row(5)).amount, '1000000000000000000000')
      // JSON.parse rounds it to a double, as the column path always did.
      assert.equal((await row(16)).big, '9007199254740992')
      assert.equal((await row(8)).txt, 'lone \ufffd surrogate')
      assert.equal((await row(10)).txt, 'duplicate key')
      const misfit = await row(12)
      assert.equal(misfit.big, null)
      const changed = (misfit._airbyte_meta as { changes: { field: string }[] }).changes
      assert.deepEqual(changed.map((c) => c.field).sort(), ['amount', 'big', 'ts'])
      const wrongShape = await row(15)
      assert.equal(wrongShape.obj, null)
      assert.deepEqual((wrongShape._airbyte_meta as { changes: { field: string }[] }).changes.map((c) => c.field).sort(), ['arr', 'obj'])
      if (mode === 'append_dedup') {
        // Of key 3 the later cursor wins.
        const r = await db.query(`SELECT amount, txt, "any" FROM lines.lines_${mode} WHERE id = 3`)
        assert.deepEqual(r.rows, [{ amount: '0.000001', txt: 'later', any: 5 }])
      }
    })
  }
})
