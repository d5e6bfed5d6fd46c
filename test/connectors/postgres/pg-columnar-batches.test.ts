import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { rowBatch, type RecordBatch, type RecordData } from '../../../src/protocol/index.js'
import { createTestDatabase, type TestDatabase } from '../../helpers/pg.js'
import { streamTables } from './pg-test-utils.js'

/*
 * Column batches (`columns()`) are COPYed straight into the final table; row batches are
 * staged and typed. Both must land the same rows.
 */

let db: TestDatabase
let cfg: Record<string, unknown>

before(async () => {
  db = await createTestDatabase('pgcol')
  cfg = { ...db.config, schema: 'col' }
})
after(() => db.drop())

const schema = {
  type: 'object',
  properties: {
    id: { type: 'number', airbyte_type: 'integer' },
    big: { type: 'integer' },
    amount: { type: 'number' },
    score: { type: 'number' },
    flag: { type: 'boolean' },
    ts: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' },
    tsn: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_without_timezone' },
    day: { type: 'string', format: 'date' },
    at: { type: 'string', format: 'time', airbyte_type: 'time_without_timezone' },
    txt: { type: 'string' },
    obj: { type: 'object', properties: {} },
    arr: { type: 'array', items: {} },
    any: {},
    updated: { type: 'integer' },
  },
}

const awkward = 'tab\there\nnew line\r\nback\\slash \\N not null, NUL\u0000gone, ñ é 😀 𝔘 \u0301'

/** Values that fit their columns: a column batch of these goes straight to the target. */
const fitting: RecordData[] = [
  {
    id: 1,
    big: '9007199254740993',
    amount: '12345678901234567890.123456789',
    score: 0.1,
    flag: true,
    ts: '2024-01-02T00:00:00+02:00',
    tsn: '2024-01-01T00:00:01.123456',
    day: '2024-03-01',
    at: '12:34:56.000001',
    txt: awkward,
    obj: { a: 1, s: 'x\ty', nested: { list: [1, null] } },
    arr: [1, 'two', null, { three: 3 }],
    any: 'plain string',
    updated: 1,
  },
  {
    id: 2,
    big: BigInt('-9223372036854775808'),
    amount: -0,
    score: Number.NaN,
    flag: false,
    ts: new Date('2024-05-06T07:08:09.123Z'),
    tsn: '1999-12-31T23:59:59',
    day: '0001-01-01',
    at: '00:00:00',
    txt: '',
    obj: {},
    arr: [],
    any: { k: [1, 'a\\b'] },
    updated: 1,
  },
  // Everything NULL, and the same key again with a later cursor (dedup keeps this one).
  { id: 3, big: null, amount: null, score: null, flag: null, ts: null, tsn: null, day: null, at: null, txt: null, obj: null, arr: null, any: null, updated: 1 },
  { id: 3, amount: 1e21, score: -1.5e-7, txt: 'later', any: 5, updated: 2 },
]

/** Values typing must NULL with a change: a column batch of these falls back to staging. */
const misfits: RecordData[] = [
  { id: 4, big: 'x', amount: 'not a number', txt: 'misfit', obj: 'not an object', arr: { not: 'an array' }, updated: 1 },
  { id: 5, big: '99999999999999999999', tsn: 'yesterday-ish', txt: 'overflow', updated: 1 },
]

/** A batch with both views whose `rows()` calls are counted. */
function columnBatch(name: string, rows: RecordData[], emittedAt: number): { batch: RecordBatch; rowCalls: () => number } {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r)))]
  const columns = names.map((n) => rows.map((r) => r[n]))
  let calls = 0
  const base = rowBatch({ name, namespace: null }, [], { emittedAt, bytes: 1 })
  const batch: RecordBatch = {
    ...base,
    count: rows.length,
    rows: () => {
      calls++
      return rows
    },
    columns: () => ({ names, columns }),
  }
  return { batch, rowCalls: () => calls }
}

const { write, contents } = streamTables(() => db, () => cfg, schema)

describe('column batches land exactly as row batches', () => {
  for (const mode of ['overwrite', 'append', 'append_dedup'] as const) {
    test(mode, async () => {
      const t0 = Date.UTC(2024, 6, 1)
      await write(`rows_${mode}`, mode, [
        rowBatch({ name: `rows_${mode}`, namespace: null }, fitting, { emittedAt: t0, bytes: 1 }),
        rowBatch({ name: `rows_${mode}`, namespace: null }, misfits, { emittedAt: t0 + 1, bytes: 1 }),
      ])
      const direct = columnBatch(`cols_${mode}`, fitting, t0)
      const fallback = columnBatch(`cols_${mode}`, misfits, t0 + 1)
      await write(`cols_${mode}`, mode, [direct.batch, fallback.batch])
      assert.equal(direct.rowCalls(), 0, 'a fitting column batch builds no row objects')
      assert.ok(fallback.rowCalls() > 0, 'a batch that does not fit goes through staging')

      const expected = await contents(`rows_${mode}`)
      assert.equal(expected.length, mode === 'append_dedup' ? 5 : 6)
      assert.deepEqual(await contents(`cols_${mode}`), expected)

      const ids = await db.query(`SELECT _airbyte_raw_id AS id FROM col.cols_${mode}`)
      assert.equal(new Set(ids.rows.map((r) => r.id)).size, ids.rows.length, 'raw ids are unique')
      for (const r of ids.rows) assert.match(String(r.id), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/)

      const one = (await db.query(`SELECT * FROM col.cols_${mode} WHERE id = 1`)).rows[0]!
      assert.equal(one.txt, awkward.replace('\u0000', ''))
      assert.equal(one.big, '9007199254740993')
      assert.equal(one.amount, '12345678901234567890.123456789')
      assert.equal((one.ts as Date).toISOString(), '2024-01-01T22:00:00.000Z')
      assert.deepEqual(one.obj, { a: 1, s: 'x\ty', nested: { list: [1, null] } })
      assert.deepEqual(one._airbyte_meta, { changes: [], sync_id: 7 })
      assert.equal(one._airbyte_generation_id, '3')
      const misfit = (await db.query(`SELECT * FROM col.cols_${mode} WHERE txt = 'misfit'`)).rows[0]!
      assert.equal(misfit.obj, null)
      const changed = (misfit._airbyte_meta as { changes: { field: string; change: string }[] }).changes
      assert.deepEqual(changed.map((c) => c.field).sort(), ['amount', 'arr', 'big', 'obj'])
      if (mode === 'append_dedup') {
        // NaN is NULL, -0 is 0, and of key 3 the later cursor wins.
        const r = await db.query(`SELECT id, amount, score, txt FROM col.cols_${mode} WHERE id IN (2, 3) ORDER BY id`)
        assert.deepEqual(r.rows, [
          { id: '2', amount: '0', score: null, txt: '' },
          { id: '3', amount: '1000000000000000000000', score: '-0.00000015', txt: 'later' },
        ])
      }
    })
  }

})
