import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { runAttempt } from '../../../src/engine/index.js'
import type { Destination } from '../../../src/protocol/index.js'
import { PostgresDestination } from '../../../src/connectors/postgres/postgres-destination.js'
import { PostgresSource } from '../../../src/connectors/postgres/postgres-source.js'
import { rawTableName } from '../../../src/connectors/postgres/pg-identifiers.js'
import { rawDataJson } from '../../../src/connectors/postgres/pg-raw-tables.js'
import {
  rowBatch,
  type AirbyteStream,
  type ConfiguredCatalog,
  type DestinationMessage,
  type DestinationSyncMode,
  type RecordData,
  type StateMessage,
} from '../../../src/protocol/index.js'
import { createTestDatabase, memoryLogger, runOptions, type TestDatabase } from '../../helpers/pg.js'
import { configure, recordMessages, testState, writeAll } from './pg-test-utils.js'

let db: TestDatabase
let cfg: Record<string, unknown>
const dest = new PostgresDestination()

before(async () => {
  db = await createTestDatabase('pgraw')
  cfg = { ...db.config, schema: 'dw', use_raw_tables: true }
})
after(() => db.drop())

const usersSchema = {
  type: 'object',
  properties: {
    id: { type: 'number', airbyte_type: 'integer' },
    name: { type: 'string' },
    score: { type: 'number' },
    updated_at: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' },
    tags: { type: 'array', items: { type: 'string' } },
    _ab_cdc_deleted_at: { type: ['null', 'string'] },
  },
}

function catalogOf(
  name: string,
  mode: DestinationSyncMode,
  opts: { namespace?: string | null; cursor?: string[]; pk?: string[][]; gen?: number } = {},
): ConfiguredCatalog {
  const stream: AirbyteStream = {
    name,
    namespace: opts.namespace ?? null,
    jsonSchema: usersSchema,
    supportedSyncModes: ['full_refresh', 'incremental'],
  }
  return {
    streams: [
      {
        stream,
        syncMode: 'incremental',
        destinationSyncMode: mode,
        cursorField: opts.cursor ?? ['updated_at'],
        primaryKey: opts.pk ?? [['id']],
        syncId: 42,
        generationId: opts.gen ?? 1,
        minimumGenerationId: mode.startsWith('overwrite') ? (opts.gen ?? 1) : 0,
      },
    ],
  }
}

const run = (catalog: ConfiguredCatalog, input: AsyncIterable<DestinationMessage>, onState?: (s: StateMessage) => Promise<void>): Promise<StateMessage[]> =>
  writeAll(dest, cfg, catalog, input, onState)

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await db.query(sql)).rows
}

const u = (id: number, name: string, at: string, extra: Record<string, unknown> = {}): RecordData => ({
  id,
  name,
  score: id * 1.5,
  updated_at: at,
  tags: ['t'],
  ...extra,
})

describe('raw table names', () => {
  test('delimiter grows with runs of underscores; lower-cased; 63 characters', () => {
    assert.equal(rawTableName('public', 'users'), 'public_raw__stream_users')
    assert.equal(rawTableName('a__b', 'x'), 'a__b_raw___stream_x')
    assert.equal(rawTableName('Sales', 'My Orders'), 'sales_raw__stream_my_orders')
    assert.equal(rawTableName('public', 'x'.repeat(80)).length, 63)
  })

  test('NUL characters are removed from values, escaped backslashes kept', () => {
    assert.equal(rawDataJson({ a: 'x\u0000y', b: '\\u0000', c: 12n }), '{"a":"xy","b":"\\\\u0000","c":"12"}')
    assert.equal(rawDataJson({ a: 'a\ud800b', b: '😀' }), '{"a":"a\ufffdb","b":"😀"}')
  })
})

describe('Destinations V2 layout', () => {
  test('the spec offers the option, off by default, next to raw_data_schema', () => {
    const props = dest.spec.connectionSpecification.properties as Record<string, { type?: string; default?: unknown; title?: string }>
    assert.equal(props.use_raw_tables?.type, 'boolean')
    assert.equal(props.use_raw_tables?.default, false)
    assert.match(props.use_raw_tables?.title ?? '', /Destinations V2 layout/)
    assert.equal(props.raw_data_schema?.default, 'airbyte_internal')
  })

  test('check also creates a table in the raw schema', async () => {
    const r = await dest.check({ ...cfg, raw_data_schema: 'raw_check' }, runOptions())
    assert.equal(r.status, 'succeeded')
    const probe = await rows(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'raw_check'`)
    assert.equal(probe[0]!.n, 0)
  })

  test('append: raw rows keep the JSON, final rows share their raw ids, loaded_at set', async () => {
    const states = await run(
      catalogOf('app', 'append'),
      recordMessages('app', [[u(1, 'a', '2024-01-01T00:00:00Z'), u(2, 'b', '2024-01-02T00:00:00Z')], testState('app', 1), [u(3, 'c', '2024-01-03T00:00:00Z')], testState('app', 2)]),
    )
    assert.deepEqual(states.map((s) => s.data), [{ n: 1 }, { n: 2 }])
    const raw = await rows(
      `SELECT _airbyte_raw_id, _airbyte_data, _airbyte_loaded_at IS NOT NULL AS loaded, _airbyte_meta, _airbyte_generation_id::int AS gen
       FROM airbyte_internal.dw_raw__stream_app ORDER BY (_airbyte_data->>'id')::int`,
    )
    assert.equal(raw.length, 3)
    assert.deepEqual(raw[0]!._airbyte_data, u(1, 'a', '2024-01-01T00:00:00Z'))
    assert.deepEqual(raw.map((r) => r.loaded), [true, true, true])
    assert.deepEqual(raw[0]!._airbyte_meta, { changes: [], sync_id: 42 })
    assert.equal(raw[0]!.gen, 1)
    const fin = await rows(`SELECT id::int, name, score::text, tags, _airbyte_raw_id, _airbyte_meta FROM dw.app ORDER BY id`)
    assert.deepEqual(fin.map((r) => [r.id, r.name, r.score, r.tags]), [[1, 'a', '1.5', ['t']], [2, 'b', '3', ['t']], [3, 'c', '4.5', ['t']]])
    assert.deepEqual(fin.map((r) => r._airbyte_raw_id), raw.map((r) => r._airbyte_raw_id))
    // Same final columns as Direct Load.
    const cols = await rows(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'dw' AND table_name = 'app' ORDER BY ordinal_position`)
    assert.deepEqual(
      cols.map((c) => c.column_name),
      ['id', 'name', 'score', 'updated_at', 'tags', '_ab_cdc_deleted_at', '_airbyte_raw_id', '_airbyte_extracted_at', '_airbyte_meta', '_airbyte_generation_id'],
    )
    // A second sync appends.
    await run(catalogOf('app', 'append'), recordMessages('app', [[u(1, 'a2', '2024-02-01T00:00:00Z')], testState('app', 3)]))
    assert.equal((await rows(`SELECT count(*)::int AS n FROM dw.app`))[0]!.n, 4)
    assert.equal((await rows(`SELECT count(*)::int AS n FROM airbyte_internal.dw_raw__stream_app WHERE _airbyte_loaded_at IS NULL`))[0]!.n, 0)
  })

  test('a value that does not cast: NULL + change in the final table, raw keeps the value, sync goes on', async () => {
    const states = await run(
      catalogOf('bad', 'append'),
      recordMessages('bad', [[u(1, 'ok', '2024-01-01T00:00:00Z'), { ...u(2, 'bad', 'not a date'), score: 'lots', tags: 'nope' }], testState('bad', 1)]),
    )
    assert.equal(states.length, 1)
    const fin = await rows(`SELECT id::int, score, updated_at, tags, _airbyte_meta FROM dw.bad ORDER BY id`)
    assert.equal(fin.length, 2)
    assert.deepEqual(fin[0]!._airbyte_meta, { changes: [], sync_id: 42 })
    assert.equal(fin[1]!.score, null)
    assert.equal(fin[1]!.updated_at, null)
    assert.equal(fin[1]!.tags, null)
    const changes = (fin[1]!._airbyte_meta as { changes: Array<{ field: string; change: string; reason: string }> }).changes
    assert.deepEqual(
      changes.map((c) => c.field).sort(),
      ['score', 'tags', 'updated_at'],
    )
    assert.ok(changes.every((c) => c.change === 'NULLED' && c.reason === 'DESTINATION_TYPECAST_ERROR'))
    const raw = await rows(`SELECT _airbyte_data FROM airbyte_internal.dw_raw__stream_bad WHERE _airbyte_data->>'id' = '2'`)
    assert.deepEqual(raw[0]!._airbyte_data, { ...u(2, 'bad', 'not a date'), score: 'lots', tags: 'nope' })
  })

  test('source-side changes from the record meta reach raw and final meta', async () => {
    const batch = rowBatch({ name: 'chg', namespace: null }, [u(1, 'x', '2024-01-01T00:00:00Z')])
    batch.changes = new Map([[0, [{ field: 'name', change: 'TRUNCATED', reason: 'SOURCE_FIELD_SIZE_LIMITATION' }]]])
    async function* input(): AsyncGenerator<DestinationMessage> {
      yield batch
      yield testState('chg', 1)
    }
    await run(catalogOf('chg', 'append'), input())
    const expected = { changes: [{ field: 'name', change: 'TRUNCATED', reason: 'SOURCE_FIELD_SIZE_LIMITATION' }], sync_id: 42 }
    assert.deepEqual((await rows(`SELECT _airbyte_meta FROM airbyte_internal.dw_raw__stream_chg`))[0]!._airbyte_meta, expected)
    assert.deepEqual((await rows(`SELECT _airbyte_meta FROM dw.chg`))[0]!._airbyte_meta, expected)
  })

  test('STATE is echoed only after raw rows, final rows and loaded marks are committed', async () => {
    const seen: Array<[number, number, number]> = []
    await run(
      catalogOf('st', 'append'),
      recordMessages('st', [[u(1, 'a', '2024-01-01T00:00:00Z')], [u(2, 'b', '2024-01-01T00:00:00Z')], testState('st', 1), [u(3, 'c', '2024-01-01T00:00:00Z')], testState('st', 2)]),
      async () => {
        // Another session sees what the destination committed before it yielded the STATE.
        const r = await rows(
          `SELECT (SELECT count(*)::int FROM airbyte_internal.dw_raw__stream_st) AS raw,
                  (SELECT count(*)::int FROM airbyte_internal.dw_raw__stream_st WHERE _airbyte_loaded_at IS NOT NULL) AS loaded,
                  (SELECT count(*)::int FROM dw.st) AS fin`,
        )
        seen.push([r[0]!.raw as number, r[0]!.loaded as number, r[0]!.fin as number])
      },
    )
    assert.deepEqual(seen, [[2, 2, 2], [3, 3, 3]])
  })

  test('a failure before the STATE leaves neither raw nor final rows of the batch', async () => {
    await run(catalogOf('fail', 'append'), recordMessages('fail', [[u(1, 'a', '2024-01-01T00:00:00Z')], testState('fail', 1)]))
    async function* broken(): AsyncGenerator<DestinationMessage> {
      yield rowBatch({ name: 'fail', namespace: null }, [u(2, 'b', '2024-01-01T00:00:00Z')])
      throw new Error('source died')
    }
    await assert.rejects(run(catalogOf('fail', 'append'), broken()), /source died/)
    assert.equal((await rows(`SELECT count(*)::int AS n FROM airbyte_internal.dw_raw__stream_fail`))[0]!.n, 1)
    assert.equal((await rows(`SELECT count(*)::int AS n FROM dw.fail`))[0]!.n, 1)
  })

  test('overwrite: old raw and final rows stay visible until COMPLETE, then both swap', async () => {
    await run(catalogOf('ow', 'overwrite', { gen: 1 }), recordMessages('ow', [[u(1, 'old', '2024-01-01T00:00:00Z'), u(2, 'old', '2024-01-01T00:00:00Z')], testState('ow', 1), 'COMPLETE']))
    const during: Array<[number, number]> = []
    await run(
      catalogOf('ow', 'overwrite', { gen: 2 }),
      recordMessages('ow', [[u(3, 'new', '2024-01-02T00:00:00Z')], testState('ow', 2), 'COMPLETE', testState('ow', 3)]),
      async (s) => {
        const r = await rows(
          `SELECT (SELECT count(*)::int FROM airbyte_internal.dw_raw__stream_ow) AS raw, (SELECT count(*)::int FROM dw.ow) AS fin`,
        )
        if ((s.data as { n: number }).n === 2) during.push([r[0]!.raw as number, r[0]!.fin as number])
      },
    )
    assert.deepEqual(during, [[2, 2]], 'old data visible before COMPLETE')
    const fin = await rows(`SELECT id::int, name, _airbyte_generation_id::int AS gen FROM dw.ow ORDER BY id`)
    assert.deepEqual(fin, [{ id: 3, name: 'new', gen: 2 }])
    const raw = await rows(`SELECT _airbyte_data->>'name' AS name, _airbyte_loaded_at IS NOT NULL AS loaded FROM airbyte_internal.dw_raw__stream_ow`)
    assert.deepEqual(raw, [{ name: 'new', loaded: true }])
    const tmp = await rows(`SELECT count(*)::int AS n FROM pg_tables WHERE tablename LIKE '%airbyte_tmp'`)
    assert.equal(tmp[0]!.n, 0)
  })

  test('overwrite without COMPLETE keeps the old tables', async () => {
    await run(catalogOf('ow2', 'overwrite', { gen: 1 }), recordMessages('ow2', [[u(1, 'old', '2024-01-01T00:00:00Z')], testState('ow2', 1), 'COMPLETE']))
    await run(catalogOf('ow2', 'overwrite', { gen: 2 }), recordMessages('ow2', [[u(2, 'new', '2024-01-02T00:00:00Z')], testState('ow2', 2)]))
    assert.deepEqual(await rows(`SELECT id::int, name FROM dw.ow2`), [{ id: 1, name: 'old' }])
    assert.deepEqual(await rows(`SELECT _airbyte_data->>'name' AS name FROM airbyte_internal.dw_raw__stream_ow2`), [{ name: 'old' }])
    // A later normal sync takes over the rows the failed overwrite left in the temporary raw table.
    await run(catalogOf('ow2', 'append', { gen: 3 }), recordMessages('ow2', [[u(3, 'appended', '2024-01-03T00:00:00Z')], testState('ow2', 3)]))
    assert.deepEqual(await rows(`SELECT id::int, name FROM dw.ow2 ORDER BY id`), [
      { id: 1, name: 'old' },
      { id: 2, name: 'new' },
      { id: 3, name: 'appended' },
    ])
    const raw = await rows(`SELECT count(*)::int AS n, count(_airbyte_loaded_at)::int AS loaded FROM airbyte_internal.dw_raw__stream_ow2`)
    assert.deepEqual(raw[0], { n: 3, loaded: 3 })
    assert.equal((await rows(`SELECT to_regclass('airbyte_internal.dw_raw__stream_ow2_airbyte_tmp') AS t`))[0]!.t, null)
  })

  test('overwrite: a retry after the stream was already swapped in writes into the swapped raw and final tables', async () => {
    const cat = catalogOf('ow4', 'overwrite', { gen: 2 })
    await run(catalogOf('ow4', 'overwrite', { gen: 1 }), recordMessages('ow4', [[u(0, 'older job', '2024-01-01T00:00:00Z')], testState('ow4', 0), 'COMPLETE']))
    await run(cat, recordMessages('ow4', [[u(1, 'a', '2024-01-01T00:00:00Z')], testState('ow4', 1), 'COMPLETE']))
    await run(cat, recordMessages('ow4', [[u(2, 'since', '2024-01-02T00:00:00Z')], testState('ow4', 2), 'COMPLETE']))
    assert.deepEqual(await rows(`SELECT id::int, name FROM dw.ow4 ORDER BY id`), [
      { id: 1, name: 'a' },
      { id: 2, name: 'since' },
    ])
    const raw = await rows(`SELECT count(*)::int AS n, count(_airbyte_loaded_at)::int AS loaded FROM airbyte_internal.dw_raw__stream_ow4`)
    assert.deepEqual(raw[0], { n: 2, loaded: 2 })
  })

  test('a failed overwrite drops its empty temporary raw and final tables', async () => {
    await run(catalogOf('ow3', 'overwrite', { gen: 1 }), recordMessages('ow3', [[u(1, 'old', '2024-01-01T00:00:00Z')], testState('ow3', 1), 'COMPLETE']))
    async function* failing(): AsyncGenerator<DestinationMessage> {
      yield rowBatch({ name: 'ow3', namespace: null }, [u(2, 'new', '2024-01-02T00:00:00Z')])
      throw new Error('source died mid-overwrite')
    }
    await assert.rejects(async () => {
      for await (const _ of dest.write(cfg, catalogOf('ow3', 'overwrite', { gen: 2 }), failing(), runOptions())) void _
    }, /source died mid-overwrite/)
    const left = await rows(`SELECT to_regclass('airbyte_internal.dw_raw__stream_ow3_airbyte_tmp') AS raw, to_regclass('dw.ow3_airbyte_tmp') AS final`)
    assert.deepEqual(left[0], { raw: null, final: null })
    assert.deepEqual(await rows(`SELECT id::int, name FROM dw.ow3`), [{ id: 1, name: 'old' }])
    assert.deepEqual(await rows(`SELECT _airbyte_data->>'name' AS name FROM airbyte_internal.dw_raw__stream_ow3`), [{ name: 'old' }])
  })

  test('NUL characters and lone surrogates do not fail the load', async () => {
    await run(catalogOf('nul', 'append'), recordMessages('nul', [[u(1, 'x\u0000y', '2024-01-01T00:00:00Z'), u(2, 'a\ud800b', '2024-01-01T00:00:00Z')], testState('nul', 1)]))
    assert.deepEqual(await rows(`SELECT id::int, name FROM dw.nul ORDER BY id`), [
      { id: 1, name: 'xy' },
      { id: 2, name: 'a\ufffdb' },
    ])
    assert.deepEqual((await rows(`SELECT _airbyte_data->>'name' AS n FROM airbyte_internal.dw_raw__stream_nul ORDER BY 1 DESC`)).map((r) => r.n), ['xy', 'a\ufffdb'])
  })

  test('a raw COPY the server rejects fails the write; nothing of the transaction stays', async () => {
    await run(catalogOf('rej', 'append'), recordMessages('rej', [[u(1, 'a', '2024-01-01T00:00:00Z')], testState('rej', 1)]))
    await db.query(`ALTER TABLE airbyte_internal.dw_raw__stream_rej ADD CONSTRAINT no_666 CHECK (_airbyte_data->>'id' <> '666')`)
    const states: StateMessage[] = []
    await assert.rejects(
      run(catalogOf('rej', 'append'), recordMessages('rej', [[u(2, 'b', '2024-01-01T00:00:00Z')], [u(666, 'x', '2024-01-01T00:00:00Z')], [u(3, 'c', '2024-01-01T00:00:00Z')], testState('rej', 2)]), async (s) => {
        states.push(s)
      }),
      /no_666/,
    )
    assert.equal(states.length, 0)
    assert.equal((await rows(`SELECT count(*)::int AS n FROM airbyte_internal.dw_raw__stream_rej`))[0]!.n, 1)
    assert.equal((await rows(`SELECT count(*)::int AS n FROM dw.rej`))[0]!.n, 1)
  })

  test('cancel while the raw COPY is open ends promptly with nothing committed', async () => {
    const ac = new AbortController()
    async function* hanging(): AsyncGenerator<DestinationMessage> {
      yield rowBatch({ name: 'cx', namespace: null }, [u(1, 'a', '2024-01-01T00:00:00Z')])
      setTimeout(() => ac.abort(), 50)
      await new Promise(() => undefined)
    }
    const t0 = Date.now()
    const err = await (async () => {
      try {
        for await (const _ of dest.write(cfg, catalogOf('cx', 'append'), hanging(), runOptions(ac.signal))) assert.fail('no state expected')
      } catch (e) {
        return e as { code?: string }
      }
      return undefined
    })()
    assert.equal(err?.code, 'SLUICE_ERR_CANCELLED')
    assert.ok(Date.now() - t0 < 5000)
    assert.equal((await rows(`SELECT count(*)::int AS n FROM airbyte_internal.dw_raw__stream_cx`))[0]!.n, 0)
  })

  test('append_dedup: latest per key by cursor then extraction; deletes applied, also to later-arriving older rows', async () => {
    const cat = catalogOf('dd', 'append_dedup')
    await run(
      cat,
      recordMessages('dd', [
        [u(1, 'a1', '2024-01-01T00:00:00Z'), u(2, 'b1', '2024-01-01T00:00:00Z'), u(3, 'c1', '2024-01-01T00:00:00Z')],
        // Same batch: key 1 updated twice (highest cursor wins), key 2 with an older cursor (ignored).
        [u(1, 'a3', '2024-01-03T00:00:00Z'), u(1, 'a2', '2024-01-02T00:00:00Z'), u(2, 'b0', '2023-12-31T00:00:00Z')],
        testState('dd', 1),
      ]),
    )
    assert.deepEqual(await rows(`SELECT id::int, name FROM dw.dd ORDER BY id`), [
      { id: 1, name: 'a3' },
      { id: 2, name: 'b1' },
      { id: 3, name: 'c1' },
    ])
    await run(
      cat,
      recordMessages('dd', [
        [u(2, 'b2', '2024-01-05T00:00:00Z'), u(3, 'gone', '2024-01-05T00:00:00Z', { _ab_cdc_deleted_at: '2024-01-05T00:00:00Z' })],
        testState('dd', 2),
      ]),
    )
    assert.deepEqual(await rows(`SELECT id::int, name FROM dw.dd ORDER BY id`), [
      { id: 1, name: 'a3' },
      { id: 2, name: 'b2' },
    ])
    // A row of key 3 older than its delete arrives late: the tombstone in raw still wins.
    await run(cat, recordMessages('dd', [[u(3, 'late', '2024-01-04T00:00:00Z')], testState('dd', 3)]))
    assert.deepEqual((await rows(`SELECT id::int FROM dw.dd ORDER BY id`)).map((r) => r.id), [1, 2])
    // Raw keeps every version (1 + 3 + 2 + 1 rows), all typed.
    const raw = await rows(`SELECT count(*)::int AS n, count(_airbyte_loaded_at)::int AS loaded FROM airbyte_internal.dw_raw__stream_dd`)
    assert.deepEqual(raw[0], { n: 9, loaded: 9 })
    // Final raw ids point at the raw versions that won.
    const won = await rows(
      `SELECT f.id::int, r._airbyte_data->>'name' AS name FROM dw.dd f JOIN airbyte_internal.dw_raw__stream_dd r USING (_airbyte_raw_id) ORDER BY f.id`,
    )
    assert.deepEqual(won, [
      { id: 1, name: 'a3' },
      { id: 2, name: 'b2' },
    ])
  })

  test('overwrite_dedup: the new generation, deduped, replaces the old one on COMPLETE', async () => {
    await run(catalogOf('od', 'overwrite_dedup', { gen: 1 }), recordMessages('od', [[u(1, 'old', '2024-01-01T00:00:00Z'), u(9, 'old', '2024-01-01T00:00:00Z')], testState('od', 1), 'COMPLETE']))
    await run(
      catalogOf('od', 'overwrite_dedup', { gen: 2 }),
      recordMessages('od', [[u(1, 'v1', '2024-01-01T00:00:00Z'), u(2, 'v1', '2024-01-01T00:00:00Z')], testState('od', 2), [u(1, 'v2', '2024-01-02T00:00:00Z')], 'COMPLETE', testState('od', 3)]),
    )
    assert.deepEqual(await rows(`SELECT id::int, name, _airbyte_generation_id::int AS gen FROM dw.od ORDER BY id`), [
      { id: 1, name: 'v2', gen: 2 },
      { id: 2, name: 'v1', gen: 2 },
    ])
    assert.equal((await rows(`SELECT count(*)::int AS n FROM airbyte_internal.dw_raw__stream_od`))[0]!.n, 3)
    const idx = await rows(`SELECT count(*)::int AS n FROM pg_indexes WHERE schemaname = 'airbyte_internal' AND tablename = 'dw_raw__stream_od'`)
    assert.equal(idx[0]!.n, 4, 'primary key, two indexes and the CDC-delete index built on COMPLETE')
  })

  test('pending raw rows (user cleared loaded_at and dropped the final table) are typed again on the next sync', async () => {
    await db.query(`UPDATE airbyte_internal.dw_raw__stream_app SET _airbyte_loaded_at = NULL; DROP TABLE dw.app`)
    await run(catalogOf('app', 'append'), recordMessages('app', [testState('app', 9)]))
    assert.equal((await rows(`SELECT count(*)::int AS n FROM dw.app`))[0]!.n, 4)
    assert.equal((await rows(`SELECT count(*)::int AS n FROM airbyte_internal.dw_raw__stream_app WHERE _airbyte_loaded_at IS NULL`))[0]!.n, 0)
  })

  test('two streams interleaved, with names that only differ after 63 characters', async () => {
    const long = 'x'.repeat(70)
    const a = catalogOf(`${long}a`, 'append').streams[0]!
    const b = catalogOf(`${long}b`, 'append_dedup').streams[0]!
    const sa = { name: `${long}a`, namespace: null }
    const sb = { name: `${long}b`, namespace: null }
    async function* input(): AsyncGenerator<DestinationMessage> {
      yield rowBatch(sa, [u(1, 'a1', '2024-01-01T00:00:00Z')], { emittedAt: 1000 })
      yield rowBatch(sb, [u(1, 'b1', '2024-01-01T00:00:00Z')], { emittedAt: 1001 })
      yield rowBatch(sa, [u(2, 'a2', '2024-01-01T00:00:00Z')], { emittedAt: 1002 })
      yield rowBatch(sb, [u(1, 'b2', '2024-01-02T00:00:00Z')], { emittedAt: 1003 })
      yield { type: 'STATE', stream: sa, data: { a: 1 } }
      yield rowBatch(sa, [u(3, 'a3', '2024-01-01T00:00:00Z')], { emittedAt: 1004 })
      yield { type: 'STATE', stream: sb, data: { b: 1 } }
    }
    const states: StateMessage[] = []
    for await (const st of dest.write(cfg, { streams: [a, b] }, input(), runOptions())) states.push(st)
    assert.deepEqual(states.map((st) => st.data), [{ a: 1 }, { b: 1 }])
    const rawTables = await rows(
      `SELECT tablename FROM pg_tables WHERE schemaname = 'airbyte_internal' AND tablename LIKE 'dw_raw__stream_xxx%' ORDER BY tablename`,
    )
    assert.equal(rawTables.length, 2)
    assert.ok(rawTables.every((r) => (r.tablename as string).length <= 63))
    const counts = await Promise.all(rawTables.map(async (r) => (await rows(`SELECT count(*)::int AS n FROM airbyte_internal."${r.tablename}"`))[0]!.n))
    assert.deepEqual(counts.sort(), [2, 3])
    const finals = await rows(`SELECT tablename FROM pg_tables WHERE schemaname = 'dw' AND tablename LIKE 'xxx%' ORDER BY tablename`)
    assert.equal(finals.length, 2)
    const names = await Promise.all(
      finals.map(async (r) => (await rows(`SELECT string_agg(name, ',' ORDER BY name) AS v FROM dw."${r.tablename}"`))[0]!.v),
    )
    assert.deepEqual(names.sort(), ['a1,a2,a3', 'b2'])
  })

  test('raw tables of names with underscores, capitals and a custom raw schema', async () => {
    const cat = catalogOf('My__Stream', 'append', { namespace: 'Ns_x' })
    const custom = { ...cfg, raw_data_schema: 'Raw Zone' }
    async function* input(): AsyncGenerator<DestinationMessage> {
      yield rowBatch({ name: 'My__Stream', namespace: 'Ns_x' }, [u(1, 'a', '2024-01-01T00:00:00Z')])
      yield { type: 'STATE', stream: { name: 'My__Stream', namespace: 'Ns_x' }, data: {} }
    }
    const states: StateMessage[] = []
    for await (const s of dest.write(custom, cat, input(), runOptions())) states.push(s)
    assert.equal(states.length, 1)
    assert.equal((await rows(`SELECT count(*)::int AS n FROM raw_zone.ns_x_raw___stream_my__stream`))[0]!.n, 1)
    assert.equal((await rows(`SELECT count(*)::int AS n FROM "Ns_x"."My__Stream"`))[0]!.n, 1)
  })
})

const TYPES_DDL = `
  CREATE SCHEMA typesrc;
  CREATE TYPE typesrc.mood AS ENUM ('happy', 'sad');
  CREATE TABLE typesrc.types (
    id integer PRIMARY KEY, i2 smallint, i8 bigint, n numeric, n2 numeric(10,2), f4 real, f8 double precision,
    b boolean, t text, vc varchar(10), c char(3), d date, tm time, tmtz timetz, ts timestamp, tstz timestamptz,
    j json, jb jsonb, u uuid, by bytea, ai int[], at text[], e typesrc.mood, ip inet, m money, iv interval);
  INSERT INTO typesrc.types VALUES
    (1, 32767, 9223372036854775807, 123456789012345678901234567890.123456789, -12.34, 1.5, 0.1, true,
     E'tab\\tnl\\n bs\\\\ q" é 😀', 'x', 'ab', '2024-02-29', '23:59:59.999999', '10:00:00+02', '2024-01-01 10:00:00.123456',
     '2024-01-01 10:00:00+02', '{"a": [1, 2]}', '{"b": null}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
     '\\xdeadbeef', '{1,NULL,-3}', '{"a b","c,d",NULL,"e\\"f"}', 'sad', '192.168.0.1/24', 1234.56, '1 day 02:03:04'),
    (2, -32768, -9223372036854775808, -0.000000000000000000001, 0, -1e30, 1e308, false, '', '', '', '0001-01-01',
     '00:00:00', '00:00:00-12', '1970-01-01 00:00:00', '2262-04-11 23:47:16.854775+00', 'null', '[]',
     '00000000-0000-0000-0000-000000000000', '\\x', '{}', '{}', 'happy', '::1', -0.01, '-1 years'),
    (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
`

describe('Postgres -> Postgres through runAttempt', () => {
  test('every type lands in the V2 final table exactly as in the Direct Load one', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'sluice-pg-raw-'))
    try {
      await db.query(TYPES_DDL)
      const srcCfg = { ...db.config, schemas: ['typesrc'], replication_method: { method: 'Standard' } }
      const options = { signal: new AbortController().signal, logger: memoryLogger(), context: { dataDir: root, localFilesRoot: root } }
      const source = new PostgresSource()
      const catalog = configure(await source.discover(srcCfg, options), { names: ['types'] })
      for (const [schema, useRaw] of [['dl', false], ['v2', true]] as const) {
        await runAttempt({
          source,
          sourceConfig: srcCfg,
          destination: dest,
          destinationConfig: { ...db.config, schema, use_raw_tables: useRaw },
          catalog,
          mapping: { namespaceDefinition: 'destination' },
          state: [],
          options,
          onStateCommitted: async () => undefined,
        })
      }
      const columns = async (schema: string): Promise<unknown[]> =>
        (await rows(`SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = '${schema}' AND table_name = 'types' ORDER BY ordinal_position`)).map((r) => [r.column_name, r.data_type])
      assert.deepEqual(await columns('v2'), await columns('dl'))
      const content = async (schema: string): Promise<unknown[]> => {
        const c = await db.client()
        try {
          await c.query(`SET TimeZone TO 'UTC'`)
          const r = await c.query({ text: `SELECT to_jsonb(r0w) - '_airbyte_raw_id' - '_airbyte_extracted_at' AS v FROM ${schema}.types r0w ORDER BY id`, rowMode: 'array' })
          return r.rows
        } finally {
          await c.end()
        }
      }
      const v2 = await content('v2')
      assert.equal(v2.length, 3)
      assert.deepEqual(v2, await content('dl'))
      const raw = await rows(`SELECT _airbyte_data->>'n' AS n, _airbyte_data->>'t' AS t FROM airbyte_internal.v2_raw__stream_types ORDER BY (_airbyte_data->>'id')::int`)
      assert.deepEqual(raw[0], { n: '123456789012345678901234567890.123456789', t: 'tab\tnl\n bs\\ q" é 😀' })
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })


  test('a sync killed mid-way resumes without loss or duplicates in raw and final tables', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'sluice-pg-raw-'))
    try {
      await db.query(`CREATE SCHEMA kill; CREATE TABLE kill.ledger (id integer PRIMARY KEY, seq integer NOT NULL, v text);
        INSERT INTO kill.ledger SELECT g, g / 2, repeat('v', 50) FROM generate_series(1, 3000) g`)
      const srcCfg = { ...db.config, schemas: ['kill'], replication_method: { method: 'Standard' } }
      const dstCfg = { ...db.config, schema: 'killed', use_raw_tables: true }
      const source = new PostgresSource({ batchBytes: 4096, checkpointRows: 200 })
      const options = { signal: new AbortController().signal, logger: memoryLogger(), context: { dataDir: root, localFilesRoot: root } }
      const catalog = configure(await source.discover(srcCfg, options), { names: ['ledger'], syncMode: 'incremental', destinationSyncMode: 'append', cursorField: ['seq'] })
      let batches = 0
      const dying: Destination = {
        spec: dest.spec,
        capabilities: dest.capabilities,
        check: (c, o) => dest.check(c, o),
        write(c, cat, input, o) {
          async function* counted(): AsyncGenerator<DestinationMessage> {
            for await (const m of input) {
              if (m.type === 'RECORD_BATCH' && ++batches === 6) throw new Error('worker killed')
              yield m
            }
          }
          return dest.write(c, cat, counted(), o)
        },
      }
      const committed: StateMessage[] = []
      const attempt = (destination: Destination, state: StateMessage[]): Promise<unknown> =>
        runAttempt({
          source,
          sourceConfig: srcCfg,
          destination,
          destinationConfig: dstCfg,
          catalog,
          mapping: { namespaceDefinition: 'destination' },
          state,
          options,
          async onStateCommitted(states) {
            committed.push(...states)
          },
        })
      await assert.rejects(attempt(dying, []))
      assert.ok(committed.length > 0, 'some states were committed before the kill')
      const partial = (await rows(`SELECT count(*)::int AS n FROM killed.ledger`))[0]!.n as number
      assert.ok(partial > 0 && partial < 3000, `partial rows ${partial}`)
      assert.equal((await rows(`SELECT count(*)::int AS n FROM airbyte_internal.killed_raw__stream_ledger`))[0]!.n, partial)
      await attempt(dest, committed.slice(-1))
      const fin = await rows(`SELECT count(*)::int AS n, count(DISTINCT id)::int AS d, min(id)::int AS lo, max(id)::int AS hi FROM killed.ledger`)
      assert.deepEqual(fin[0], { n: 3000, d: 3000, lo: 1, hi: 3000 })
      const raw = await rows(
        `SELECT count(*)::int AS n, count(DISTINCT _airbyte_data->>'id')::int AS d, count(_airbyte_loaded_at)::int AS loaded FROM airbyte_internal.killed_raw__stream_ledger`,
      )
      assert.deepEqual(raw[0], { n: 3000, d: 3000, loaded: 3000 })
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })

  test('full refresh overwrite then incremental append_dedup with raw tables', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'sluice-pg-raw-'))
    try {
      await db.query(`CREATE SCHEMA src; CREATE TABLE src.items (id int PRIMARY KEY, label text, n numeric, at timestamptz);
        INSERT INTO src.items SELECT i, 'item ' || i, i * 0.1, '2024-01-01'::timestamptz + i * interval '1 hour' FROM generate_series(1, 2500) i`)
      const srcCfg = { ...db.config, schemas: ['src'], replication_method: { method: 'Standard' } }
      const dstCfg = { ...db.config, schema: 'out', use_raw_tables: true }
      const options = { signal: new AbortController().signal, logger: memoryLogger(), context: { dataDir: root, localFilesRoot: root } }
      const source = new PostgresSource()
      const discovered = await source.discover(srcCfg, options)
      const attempt = async (catalog: ConfiguredCatalog, state: StateMessage[]): Promise<StateMessage[]> => {
        const committed: StateMessage[] = []
        await runAttempt({
          source,
          sourceConfig: srcCfg,
          destination: dest,
          destinationConfig: dstCfg,
          catalog,
          mapping: { namespaceDefinition: 'destination' },
          state,
          options,
          async onStateCommitted(states) {
            committed.push(...states)
          },
        })
        return committed
      }
      await attempt(configure(discovered, { names: ['items'] }), [])
      const full = await rows(`SELECT count(*)::int AS n, sum(n)::text AS s FROM out.items`)
      assert.deepEqual(full[0], { n: 2500, s: '312625.0' })
      assert.equal((await rows(`SELECT count(*)::int AS n FROM airbyte_internal.out_raw__stream_items`))[0]!.n, 2500)

      const inc = configure(discovered, { names: ['items'], syncMode: 'incremental', destinationSyncMode: 'append_dedup', cursorField: ['at'] })
      const st = await attempt(inc, [])
      await db.query(`UPDATE src.items SET label = 'changed', at = at + interval '1 year' WHERE id <= 10`)
      await attempt(inc, st.slice(-1))
      const fin = await rows(`SELECT count(*)::int AS n, count(*) FILTER (WHERE label = 'changed')::int AS changed FROM out.items`)
      assert.deepEqual(fin[0], { n: 2500, changed: 10 })
      const sample = await rows(`SELECT label, n::text, at FROM out.items WHERE id = 7`)
      assert.deepEqual(sample[0], { label: 'changed', n: '0.7', at: new Date('2025-01-01T07:00:00Z') })
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })
})
