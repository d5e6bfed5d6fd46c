import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import v8 from 'node:v8'
import vm from 'node:vm'
import { PostgresDestination } from '../../../src/connectors/postgres/postgres-destination.js'
import {
  rowBatch,
  type AirbyteStream,
  type ConfiguredCatalog,
  type DestinationMessage,
  type DestinationSyncMode,
  type SyncMode,
  type StateMessage,
} from '../../../src/protocol/index.js'
import { createTestDatabase, memoryLogger, runOptions, type TestDatabase } from '../../helpers/pg.js'
import { recordMessages, rejection, testState, writeAll } from './pg-test-utils.js'

let db: TestDatabase
let cfg: Record<string, unknown>
const dest = new PostgresDestination()

before(async () => {
  db = await createTestDatabase('pgdst')
  cfg = { ...db.config, schema: 'dw' }
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
  opts: { schema?: Record<string, unknown>; namespace?: string | null; cursor?: string[]; pk?: string[][]; gen?: number; minGen?: number; sync?: SyncMode } = {},
): ConfiguredCatalog {
  const stream: AirbyteStream = {
    name,
    namespace: opts.namespace ?? null,
    jsonSchema: opts.schema ?? usersSchema,
    supportedSyncModes: ['full_refresh', 'incremental'],
  }
  return {
    streams: [
      {
        stream,
        syncMode: opts.sync ?? 'incremental',
        destinationSyncMode: mode,
        cursorField: opts.cursor ?? ['updated_at'],
        primaryKey: opts.pk ?? [['id']],
        syncId: 42,
        generationId: opts.gen ?? 1,
        minimumGenerationId: opts.minGen ?? 0,
      },
    ],
  }
}

const run = (catalog: ConfiguredCatalog, input: AsyncIterable<DestinationMessage>, onState?: (s: StateMessage) => Promise<void>): Promise<StateMessage[]> =>
  writeAll(dest, cfg, catalog, input, onState)

async function rows(table: string, order = 'id'): Promise<Record<string, unknown>[]> {
  return (await db.query(`SELECT * FROM ${table} ORDER BY ${order}`)).rows
}

describe('check', () => {
  test('creates a table in the schema', async () => {
    const r = await dest.check(cfg, runOptions())
    assert.equal(r.status, 'succeeded')
    const probe = await db.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'dw'`)
    assert.equal(probe.rows[0]!.n, 0, 'probe table removed')
  })

  test('fails clearly when the user may not create tables', async () => {
    const role = `sluice_nocreate_${process.pid}`
    await db.query(`CREATE ROLE ${role} LOGIN; CREATE SCHEMA locked; REVOKE CREATE ON SCHEMA public FROM PUBLIC`)
    try {
      const r = await dest.check({ ...cfg, username: role, schema: 'locked' }, runOptions())
      assert.equal(r.status, 'failed')
      assert.match(r.message, /permission denied/)
      // Able to create tables but not temporary ones: staging would fail, so check fails.
      await db.query(`GRANT USAGE, CREATE ON SCHEMA locked TO ${role}; REVOKE TEMP ON DATABASE "${db.name}" FROM PUBLIC`)
      const noTemp = await dest.check({ ...cfg, username: role, schema: 'locked' }, runOptions())
      assert.equal(noTemp.status, 'failed')
      assert.match(noTemp.message, new RegExp(`User "${role}" may not create temporary tables`))
      await db.query(`GRANT TEMP ON DATABASE "${db.name}" TO PUBLIC`)
      const limited = { ...cfg, username: role, schema: 'locked' }
      assert.equal((await dest.check(limited, runOptions())).status, 'succeeded')
      // With just USAGE + CREATE on the schema and TEMP, a write works (no database CREATE).
      for await (const _ of dest.write(limited, catalogOf('lim', 'append'), recordMessages('lim', [[{ id: 1, name: 'x' }], 'COMPLETE']), runOptions())) void _
      assert.equal((await db.query('SELECT count(*)::int AS n FROM locked.lim')).rows[0]!.n, 1)
    } finally {
      await db.query(`DROP SCHEMA locked CASCADE; REVOKE ALL ON SCHEMA locked FROM ${role}`).catch(() => undefined)
      await db.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`)
    }
  })
})

describe('write', () => {
  test('append: Airbyte columns, typed values, STATE only after commit', async () => {
    const cat = catalogOf('users_append', 'append')
    const seen: number[] = []
    const states = await run(
      cat,
      recordMessages('users_append', [
        [
          { id: 1, name: 'ann', score: 1.5, updated_at: '2024-01-01T00:00:00Z', tags: ['a'] },
          { id: 2, name: 'bob\ttab', score: '12345678901234567890.123456789', updated_at: '2024-01-02T00:00:00+02:00', tags: [] },
        ],
        testState('users_append', 1),
        [{ id: 3, name: null, score: null, updated_at: null, tags: null }],
        testState('users_append', 2),
        'COMPLETE',
      ]),
      async (s) => {
        // Another connection already sees every record that preceded the state.
        const n = await db.query(`SELECT count(*)::int AS n FROM dw.users_append`)
        seen.push(n.rows[0]!.n)
        assert.equal(s.data!.n, seen.length)
      },
    )
    assert.equal(states.length, 2)
    assert.deepEqual(seen, [2, 3])
    const r = await rows('dw.users_append')
    assert.equal(r[0]!.id, '1')
    assert.equal(r[1]!.name, 'bob\ttab')
    assert.equal(r[1]!.score, '12345678901234567890.123456789')
    assert.equal((r[1]!.updated_at as Date).toISOString(), '2024-01-01T22:00:00.000Z')
    assert.deepEqual(r[0]!.tags, ['a'])
    assert.deepEqual(r[0]!._airbyte_meta, { changes: [], sync_id: 42 })
    assert.equal(r[0]!._airbyte_generation_id, '1')
    assert.match(String(r[0]!._airbyte_raw_id), /^[0-9a-f-]{36}$/)
    await run(cat, recordMessages('users_append', [[{ id: 1, name: 'again' }], 'COMPLETE']))
    assert.equal((await rows('dw.users_append')).length, 4, 'append keeps old rows')
  })

  test('an append sync never waits for readers of the final table (no DDL on it)', async () => {
    const schema = { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' } } }
    const cat = catalogOf('busy', 'append', { schema })
    const copyBatch = (id: number): DestinationMessage => ({
      ...rowBatch({ name: 'busy', namespace: null }, [{ id, name: `n${id}` }]),
      pgCopyText: { columns: ['id', 'name'], pgTypes: ['integer', 'text'], data: Buffer.from(`${id}\tn${id}\n`) },
    })
    async function* one(id: number): AsyncGenerator<DestinationMessage> {
      yield copyBatch(id)
      yield testState('busy', id)
    }
    await run(cat, one(1))
    const reader = await db.client()
    try {
      await reader.query('BEGIN')
      await reader.query('SELECT count(*) FROM dw.busy')
      // The reader holds its lock until COMMIT: an ALTER TABLE here would block the sync.
      const t0 = Date.now()
      await run(cat, one(2))
      assert.ok(Date.now() - t0 < 3000)
      await reader.query('COMMIT')
    } finally {
      await reader.end()
    }
    const r = await rows('dw.busy')
    assert.deepEqual(r.map((x) => [x.id, x.name]), [['1', 'n1'], ['2', 'n2']])
    assert.deepEqual(r[1]!._airbyte_meta, { changes: [], sync_id: 42 })
    assert.equal(r[1]!._airbyte_generation_id, '1')
  })

  test('an overwrite keeps the write-wide Airbyte columns out of the rows it COPYs before its first commit', async () => {
    const schema = { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' } } }
    const copyBatch = (ids: number[]): DestinationMessage => ({
      ...rowBatch({ name: 'lean', namespace: null }, []),
      count: ids.length,
      pgCopyText: { columns: ['id', 'name'], pgTypes: ['integer', 'text'], data: Buffer.from(ids.map((id) => `${id}\tn${id}\n`).join('')) },
    })
    async function* input(): AsyncGenerator<DestinationMessage> {
      yield copyBatch([1, 2])
      yield testState('lean', 1)
      yield copyBatch([3])
      yield { type: 'STREAM_STATUS', stream: { name: 'lean', namespace: null }, status: 'COMPLETE' }
    }
    await run(catalogOf('lean', 'overwrite', { schema, gen: 7 }), input())
    const r = await rows('dw.lean')
    assert.deepEqual(r.map((x) => [x.id, x._airbyte_meta, x._airbyte_generation_id]), [
      ['1', { changes: [], sync_id: 42 }, '7'],
      ['2', { changes: [], sync_id: 42 }, '7'],
      ['3', { changes: [], sync_id: 42 }, '7'],
    ])
    const stored = await db.query(
      `SELECT attname, atthasmissing FROM pg_attribute WHERE attrelid = 'dw.lean'::regclass AND attname IN ('_airbyte_meta', '_airbyte_generation_id', 'name') ORDER BY attname`,
    )
    assert.deepEqual(stored.rows, [
      { attname: '_airbyte_generation_id', atthasmissing: true },
      { attname: '_airbyte_meta', atthasmissing: true },
      { attname: 'name', atthasmissing: false },
    ])
  })

  test('memory stays flat: batches already written are not retained', async () => {
    v8.setFlagsFromString('--expose-gc')
    const gc = vm.runInNewContext('gc') as () => void
    const schema = { type: 'object', properties: { id: { type: 'integer' }, pad: { type: 'string' } } }
    const line = (i: number): string => `${i}\t${'p'.repeat(390)}\n`
    let retainedMb = 0
    async function* many(): AsyncGenerator<DestinationMessage> {
      for (let b = 0; b < 100; b++) {
        const text = Array.from({ length: 1000 }, (_v, k) => line(b * 1000 + k)).join('')
        yield {
          ...rowBatch({ name: 'flat', namespace: null }, []),
          count: 1000,
          pgCopyText: { columns: ['id', 'pad'], pgTypes: ['integer', 'text'], data: Buffer.from(text) },
        }
        if (b === 90) {
          gc()
          retainedMb = process.memoryUsage().arrayBuffers / 1024 / 1024
        }
      }
      yield testState('flat', 1)
    }
    await run(catalogOf('flat', 'append', { schema }), many())
    assert.equal((await db.query('SELECT count(*)::int AS n FROM dw.flat')).rows[0]!.n, 100_000)
    // 90 batches of 0.4 MB went through: holding them would show ~36 MB here.
    assert.ok(retainedMb < 15, `${retainedMb.toFixed(1)} MB of buffers retained`)
  })

  test('values that do not cast become NULL with a change; the sync goes on', async () => {
    const cat = catalogOf('typing', 'append')
    await run(
      cat,
      recordMessages('typing', [
        [
          { id: 1, name: { nested: true }, score: 'not a number', updated_at: 'yesterday-ish', tags: 'not an array' },
          { id: 'x', name: 'ok', score: 2, updated_at: '2024-01-01T00:00:00Z', tags: ['t'] },
        ],
        'COMPLETE',
      ]),
    )
    const r = await rows('dw.typing', 'name')
    const bad = r.find((x) => x.name === '{"nested":true}')!
    assert.equal(bad.score, null)
    assert.equal(bad.updated_at, null)
    assert.equal(bad.tags, null)
    const fields = (bad._airbyte_meta as { changes: { field: string; change: string; reason: string }[] }).changes
    assert.deepEqual(fields.map((c) => c.field).sort(), ['score', 'tags', 'updated_at'])
    assert.ok(fields.every((c) => c.change === 'NULLED' && c.reason === 'DESTINATION_TYPECAST_ERROR'))
    const other = r.find((x) => x.name === 'ok')!
    assert.equal(other.id, null)
    assert.deepEqual((other._airbyte_meta as { changes: { field: string }[] }).changes.map((c) => c.field), ['id'])
  })

  test('unconstrained_number: false gives Airbyte 2.x decimal(38,9)', async () => {
    const schema = { type: 'object', properties: { id: { type: 'integer' }, x: { type: 'number' } } }
    const out: StateMessage[] = []
    const input = recordMessages('dec', [[{ id: 1, x: 1.1234567891 }, { id: 2, x: '1e40' }], testState('dec', 1)])
    for await (const st of dest.write({ ...cfg, unconstrained_number: false }, catalogOf('dec', 'append', { schema }), input, runOptions())) out.push(st)
    assert.equal(out.length, 1)
    const types = await db.query(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'dw.dec'::regclass AND attname = 'x'`)
    assert.equal(types.rows[0]!.t, 'numeric(38,9)')
    const r = await rows('dw.dec')
    assert.equal(r[0]!.x, '1.123456789')
    // Too large for decimal(38,9): NULL with a change, the sync goes on.
    assert.equal(r[1]!.x, null)
    assert.deepEqual((r[1]!._airbyte_meta as { changes: { field: string }[] }).changes.map((c) => c.field), ['x'])
  })

  test('append_dedup keeps the latest row per key and applies deletes', async () => {
    const cat = catalogOf('users_dedup', 'append_dedup')
    await run(
      cat,
      recordMessages('users_dedup', [
        [
          { id: 1, name: 'v1', updated_at: '2024-01-01T00:00:00Z' },
          { id: 2, name: 'v1', updated_at: '2024-01-01T00:00:00Z' },
          { id: 1, name: 'v2', updated_at: '2024-01-02T00:00:00Z' },
          { id: 3, name: 'v1', updated_at: '2024-01-01T00:00:00Z' },
        ],
        testState('users_dedup', 1),
        'COMPLETE',
      ]),
    )
    assert.deepEqual((await rows('dw.users_dedup')).map((r) => [r.id, r.name]), [['1', 'v2'], ['2', 'v1'], ['3', 'v1']])
    await run(
      cat,
      recordMessages('users_dedup', [
        [
          { id: 2, name: 'v2', updated_at: '2024-01-03T00:00:00Z' },
          { id: 1, name: 'older', updated_at: '2023-01-01T00:00:00Z' },
          { id: 3, name: 'gone', updated_at: '2024-01-05T00:00:00Z', _ab_cdc_deleted_at: '2024-01-05T00:00:00Z' },
        ],
        testState('users_dedup', 2),
        [{ id: 2, name: 'v3', updated_at: '2024-01-03T00:00:00Z' }],
        testState('users_dedup', 3),
        'COMPLETE',
      ]),
    )
    // id 1 keeps v2 (higher cursor), id 2 takes v3 (same cursor, later extraction), id 3 deleted.
    assert.deepEqual((await rows('dw.users_dedup')).map((r) => [r.id, r.name]), [['1', 'v2'], ['2', 'v3']])
  })

  test('dedup of COPY batches (direct path): duplicates within and across batches', async () => {
    const schema = {
      type: 'object',
      properties: { id: { type: 'integer' }, v: { type: 'string' }, c: { type: 'integer' } },
    }
    const cat = catalogOf('ddc', 'append_dedup', { schema, cursor: ['c'] })
    let t = Date.now()
    const copyBatch = (text: string): DestinationMessage => ({
      ...rowBatch({ name: 'ddc', namespace: null }, [], { emittedAt: t++ }),
      count: text.split('\n').length - 1,
      pgCopyText: { columns: ['id', 'v', 'c'], pgTypes: ['integer', 'text', 'integer'], data: Buffer.from(text) },
    })
    async function* input(): AsyncGenerator<DestinationMessage> {
      yield copyBatch('1\ta\t1\n1\tb\t2\n2\tx\t5\n1\tstale\t0\n')
      yield copyBatch('2\ty\t5\n3\tz\t\\N\n')
      yield testState('ddc', 1)
      yield copyBatch('3\tz2\t\\N\n2\told\t4\n1\tc\t2\n')
      yield testState('ddc', 2)
    }
    await run(cat, input())
    // 1: cursor 2 wins, the tie at 2 goes to the later batch; 2: tie at 5 -> later batch, the
    // older cursor 4 arrives later but loses; 3: NULL cursors -> later extraction.
    assert.deepEqual((await rows('dw.ddc')).map((r) => [r.id, r.v, r.c]), [
      ['1', 'c', '2'],
      ['2', 'y', '5'],
      ['3', 'z2', null],
    ])
  })

  test('dedup: a NULL cursor loses to any value, ties on the cursor go to the later extraction', async () => {
    const cat = catalogOf('nulls', 'append_dedup')
    await run(
      cat,
      recordMessages('nulls', [
        [
          { id: 1, name: 'dated', updated_at: '2024-01-01T00:00:00Z' },
          { id: 2, name: 'undated', updated_at: null },
          { id: 3, name: 'first', updated_at: null },
        ],
        testState('nulls', 1),
        [
          { id: 1, name: 'undated later', updated_at: null },
          { id: 2, name: 'dated later', updated_at: '2020-01-01T00:00:00Z' },
          { id: 3, name: 'second', updated_at: null },
        ],
        testState('nulls', 2),
      ]),
    )
    assert.deepEqual((await rows('dw.nulls')).map((r) => [r.id, r.name]), [
      ['1', 'dated'],
      ['2', 'dated later'],
      ['3', 'second'],
    ])
  })

  test('overwrite_dedup keeps only this sync, one row per key', async () => {
    const cat = catalogOf('od', 'overwrite_dedup')
    await run(cat, recordMessages('od', [[{ id: 1, name: 'old', updated_at: '2024-01-01T00:00:00Z' }], 'COMPLETE']))
    await run(
      cat,
      recordMessages('od', [
        [
          { id: 2, name: 'a', updated_at: '2024-01-01T00:00:00Z' },
          { id: 2, name: 'b', updated_at: '2024-01-02T00:00:00Z' },
        ],
        testState('od', 1),
        [{ id: 3, name: 'c', updated_at: '2024-01-01T00:00:00Z' }, { id: 2, name: 'stale', updated_at: '2023-01-01T00:00:00Z' }],
        'COMPLETE',
      ]),
    )
    assert.deepEqual((await rows('dw.od')).map((r) => [r.id, r.name]), [['2', 'b'], ['3', 'c']])
  })

  test('overwrite swaps in only on COMPLETE; readers see the old table until then', async () => {
    const cat = catalogOf('snap', 'overwrite')
    await run(cat, recordMessages('snap', [[{ id: 1, name: 'old' }, { id: 2, name: 'old' }], 'COMPLETE']))
    const reader = await db.client()
    try {
      let sawOld = 0
      async function* slow(): AsyncGenerator<DestinationMessage> {
        yield rowBatch({ name: 'snap', namespace: null }, [{ id: 10, name: 'new' }])
        yield testState('snap', 1)
        // Mid-sync, after a commit: the old table is still whole and readable.
        const r = await reader.query('SELECT name FROM dw.snap ORDER BY id')
        assert.deepEqual(r.rows.map((x) => x.name), ['old', 'old'])
        sawOld++
        yield rowBatch({ name: 'snap', namespace: null }, [{ id: 11, name: 'new' }])
        yield { type: 'STREAM_STATUS', stream: { name: 'snap', namespace: null }, status: 'COMPLETE' }
      }
      await run(cat, slow())
      assert.equal(sawOld, 1)
      const r = await reader.query('SELECT id, name FROM dw.snap ORDER BY id')
      assert.deepEqual(r.rows, [{ id: '10', name: 'new' }, { id: '11', name: 'new' }])
    } finally {
      await reader.end()
    }
    // A sync (a new job: a new generation) that ends without COMPLETE leaves the old data in place.
    await run(catalogOf('snap', 'overwrite', { gen: 2 }), recordMessages('snap', [[{ id: 99, name: 'partial' }]]))
    assert.deepEqual((await rows('dw.snap')).map((r) => r.id), ['10', '11'])
    // An empty successful overwrite of a later job empties the table (the partial rows of generation 2 are dropped).
    await run(catalogOf('snap', 'overwrite', { gen: 3 }), recordMessages('snap', ['COMPLETE']))
    assert.equal((await rows('dw.snap')).length, 0)
  })

  test('overwrite: a retried attempt of the same generation keeps the rows the failed attempt committed', async () => {
    const cat = catalogOf('resumed', 'overwrite', { gen: 5 })
    await run(cat, recordMessages('resumed', [[{ id: 1, name: 'first attempt' }], testState('resumed', 1)]))
    await run(cat, recordMessages('resumed', [[{ id: 2, name: 'second attempt' }], 'COMPLETE']))
    assert.deepEqual((await rows('dw.resumed')).map((r) => r.id), ['1', '2'])
    // The next job (generation 6) starts from an empty temporary table.
    await run(catalogOf('resumed', 'overwrite', { gen: 6 }), recordMessages('resumed', [[{ id: 3, name: 'next job' }], 'COMPLETE']))
    assert.deepEqual((await rows('dw.resumed')).map((r) => r.id), ['3'])
  })

  test('overwrite: a retry after the stream was already swapped in (a later stream failed) keeps the swapped rows', async () => {
    const cat = catalogOf('swapped', 'overwrite', { gen: 7, sync: 'full_refresh' })
    await run(catalogOf('swapped', 'overwrite', { gen: 6, sync: 'full_refresh' }), recordMessages('swapped', [[{ id: 0, name: 'older job' }], 'COMPLETE']))
    await run(cat, recordMessages('swapped', [[{ id: 1, name: 'a' }, { id: 2, name: 'a' }], testState('swapped', 1), 'COMPLETE']))
    // The retry resumes after the saved state: only a row added since, then COMPLETE again.
    await run(cat, recordMessages('swapped', [[{ id: 3, name: 'since' }], testState('swapped', 2), 'COMPLETE']))
    assert.deepEqual((await rows('dw.swapped')).map((r) => r.id), ['1', '2', '3'])
    // A retry that reads nothing more leaves them too.
    await run(cat, recordMessages('swapped', ['COMPLETE']))
    assert.deepEqual((await rows('dw.swapped')).map((r) => r.id), ['1', '2', '3'])
    // The next job (a new generation) replaces them.
    await run(catalogOf('swapped', 'overwrite', { gen: 8, sync: 'full_refresh' }), recordMessages('swapped', [[{ id: 4, name: 'next job' }], 'COMPLETE']))
    assert.deepEqual((await rows('dw.swapped')).map((r) => r.id), ['4'])
  })

  test('a clear (null state + COMPLETE on a truncate stream) empties the table', async () => {
    await run(catalogOf('cleared', 'append'), recordMessages('cleared', [[{ id: 1 }, { id: 2 }], testState('cleared', 1)]))
    assert.equal((await rows('dw.cleared')).length, 2)
    const clear = catalogOf('cleared', 'append', { gen: 2, minGen: 2 })
    const nullState: StateMessage = { type: 'STATE', stream: { name: 'cleared', namespace: null }, data: null }
    const echoed = await run(clear, recordMessages('cleared', [nullState, 'COMPLETE']))
    assert.deepEqual(echoed, [nullState])
    assert.equal((await rows('dw.cleared')).length, 0)
  })

  test('a failure mid-write leaves nothing after the last echoed state', async () => {
    const cat = catalogOf('crash', 'append')
    async function* failing(): AsyncGenerator<DestinationMessage> {
      yield rowBatch({ name: 'crash', namespace: null }, [{ id: 1 }, { id: 2 }])
      yield testState('crash', 1)
      yield rowBatch({ name: 'crash', namespace: null }, [{ id: 3 }])
      throw new Error('source died')
    }
    const echoed: StateMessage[] = []
    const err = await rejection(async () => {
      for await (const s of dest.write(cfg, cat, failing(), runOptions())) echoed.push(s)
    })
    assert.match(err.message, /source died/)
    assert.equal(echoed.length, 1)
    assert.deepEqual((await rows('dw.crash')).map((r) => r.id), ['1', '2'])
  })

  test('a failed or aborted overwrite leaves no _airbyte_tmp table (the raw layout drops its empty ones); the old table stays whole', async () => {
    const tmpExists = async (): Promise<boolean> => (await db.query(`SELECT to_regclass('dw.ow_fail_airbyte_tmp') IS NOT NULL AS found`)).rows[0]!.found === true
    await run(catalogOf('ow_fail', 'overwrite', { gen: 1 }), recordMessages('ow_fail', [[{ id: 1 }, { id: 2 }], 'COMPLETE']))
    async function* failing(): AsyncGenerator<DestinationMessage> {
      yield rowBatch({ name: 'ow_fail', namespace: null }, [{ id: 3 }])
      throw new Error('source died mid-overwrite')
    }
    const err = await rejection(async () => {
      for await (const _ of dest.write(cfg, catalogOf('ow_fail', 'overwrite', { gen: 2 }), failing(), runOptions())) void _
    })
    assert.match(err.message, /source died mid-overwrite/, 'the original error')
    assert.equal(await tmpExists(), false, 'created by the data transaction, gone with it')
    assert.deepEqual((await rows('dw.ow_fail')).map((r) => r.id), ['1', '2'])
    // The raw layout creates its temporary tables up front: a failure drops them.
    const raw = { ...cfg, use_raw_tables: true, raw_data_schema: 'dw_raw_fail' }
    const logger = memoryLogger()
    const rawErr = await rejection(async () => {
      for await (const _ of dest.write(raw, catalogOf('ow_fail', 'overwrite', { gen: 2 }), failing(), { ...runOptions(), logger })) void _
    })
    assert.match(rawErr.message, /source died mid-overwrite/, 'the original error, not the cleanup')
    assert.equal(await tmpExists(), false)
    assert.ok(logger.lines.some((l) => /Dropped "dw"\."ow_fail_airbyte_tmp"/.test(l)), logger.lines.join('\n'))
    assert.deepEqual((await rows('dw.ow_fail')).map((r) => r.id), ['1', '2'])

    const ac = new AbortController()
    async function* hanging(): AsyncGenerator<DestinationMessage> {
      yield rowBatch({ name: 'ow_fail', namespace: null }, [{ id: 4 }])
      ac.abort()
      await new Promise((r) => setTimeout(r, 10_000).unref())
    }
    const aborted = await rejection(async () => {
      for await (const _ of dest.write(cfg, catalogOf('ow_fail', 'overwrite', { gen: 3 }), hanging(), runOptions(ac.signal))) void _
    })
    assert.equal(aborted.code, 'SLUICE_ERR_CANCELLED')
    assert.equal(await tmpExists(), false)
    assert.deepEqual((await rows('dw.ow_fail')).map((r) => r.id), ['1', '2'])

    // Rows committed under a STATE stay for the next attempt of the same generation to resume.
    async function* failsAfterState(): AsyncGenerator<DestinationMessage> {
      yield rowBatch({ name: 'ow_fail', namespace: null }, [{ id: 5 }])
      yield testState('ow_fail', 1)
      throw new Error('source died after a state')
    }
    await rejection(async () => {
      for await (const _ of dest.write(cfg, catalogOf('ow_fail', 'overwrite', { gen: 4 }), failsAfterState(), runOptions())) void _
    })
    assert.equal(await tmpExists(), true)
    assert.deepEqual((await rows('dw.ow_fail_airbyte_tmp')).map((r) => r.id), ['5'])
    assert.deepEqual((await rows('dw.ow_fail')).map((r) => r.id), ['1', '2'])
  })

  test('a cleanup that cannot take its lock is logged and the write still fails with its own error', async () => {
    // The raw layout, whose temporary tables exist from the start of the write.
    const raw = { ...cfg, use_raw_tables: true, raw_data_schema: 'dw_raw_locked' }
    for await (const _ of dest.write(raw, catalogOf('ow_locked', 'overwrite', { gen: 1 }), recordMessages('ow_locked', [[{ id: 1 }], 'COMPLETE']), runOptions())) void _
    const reader = await db.client()
    try {
      async function* failing(): AsyncGenerator<DestinationMessage> {
        // A reader of the temporary table holds its lock past the failure.
        await reader.query('BEGIN')
        await reader.query('SELECT * FROM dw.ow_locked_airbyte_tmp')
        yield rowBatch({ name: 'ow_locked', namespace: null }, [{ id: 2 }])
        throw new Error('source died while the table was read')
      }
      const logger = memoryLogger()
      const err = await rejection(async () => {
        for await (const _ of dest.write(raw, catalogOf('ow_locked', 'overwrite', { gen: 2 }), failing(), { ...runOptions(), logger })) void _
      })
      assert.match(err.message, /source died while the table was read/)
      assert.ok(logger.lines.some((l) => /^warn Could not drop the empty temporary tables of the failed overwrite \("dw"\."ow_locked_airbyte_tmp", "dw_raw_locked"\."dw_raw__stream_ow_locked_airbyte_tmp"\): .*lock timeout/.test(l)), logger.lines.join('\n'))
    } finally {
      await reader.query('ROLLBACK')
      await reader.end()
    }
    assert.deepEqual((await rows('dw.ow_locked')).map((r) => r.id), ['1'])
  })

  test('abort rolls back the open transaction and rejects promptly', async () => {
    const cat = catalogOf('aborted', 'append')
    const ac = new AbortController()
    async function* hanging(): AsyncGenerator<DestinationMessage> {
      yield rowBatch({ name: 'aborted', namespace: null }, [{ id: 1 }])
      yield testState('aborted', 1)
      yield rowBatch({ name: 'aborted', namespace: null }, [{ id: 2 }])
      setTimeout(() => ac.abort(), 50)
      // Stuck producer that ignores the signal (unref'd so the test process can exit).
      await new Promise((r) => setTimeout(r, 10_000).unref())
    }
    const t0 = Date.now()
    const err = await rejection(async () => {
      for await (const _ of dest.write(cfg, cat, hanging(), runOptions(ac.signal))) void _
    })
    assert.equal(err.code, 'SLUICE_ERR_CANCELLED')
    assert.ok(Date.now() - t0 < 2000, 'no hang')
    assert.deepEqual((await rows('dw.aborted')).map((r) => r.id), ['1'])
  })

  test('schema evolution adds columns and keeps values whose type changed', async () => {
    const v1 = { type: 'object', properties: { id: { type: 'integer' }, code: { type: 'string' } } }
    await run(catalogOf('evolve', 'append', { schema: v1 }), recordMessages('evolve', [[{ id: 1, code: 'abc' }], 'COMPLETE']))
    const v2 = {
      type: 'object',
      properties: { id: { type: 'integer' }, code: { type: 'integer' }, extra: { type: 'boolean' } },
    }
    const logger = memoryLogger()
    for await (const _ of dest.write(cfg, catalogOf('evolve', 'append', { schema: v2 }), recordMessages('evolve', [[{ id: 2, code: 7, extra: true }], 'COMPLETE']), { ...runOptions(), logger })) void _
    const r = await rows('dw.evolve')
    assert.equal(r[0]!.code_character_varying, 'abc', 'old text values kept in a renamed column')
    assert.equal(r[1]!.code, '7')
    assert.equal(r[1]!.extra, true)
    assert.ok(logger.lines.some((l) => /changed type/.test(l)))
    // A type change whose values all cast converts the column in place.
    const v3 = { type: 'object', properties: { id: { type: 'integer' }, code: { type: 'number' }, extra: { type: 'boolean' } } }
    await run(catalogOf('evolve', 'append', { schema: v3 }), recordMessages('evolve', [[{ id: 3, code: 1.5 }], 'COMPLETE']))
    assert.deepEqual((await rows('dw.evolve')).map((x) => x.code), [null, '7', '1.5'])
  })

  test('two streams that normalise to one table name get a hash suffix', async () => {
    const schema = { type: 'object', properties: { id: { type: 'integer' } } }
    const a = catalogOf('clash one', 'append', { schema }).streams[0]!
    const b = { ...catalogOf('clash_one', 'append', { schema }).streams[0]! }
    async function* input(): AsyncGenerator<DestinationMessage> {
      yield rowBatch({ name: 'clash one', namespace: null }, [{ id: 1 }])
      yield rowBatch({ name: 'clash_one', namespace: null }, [{ id: 2 }])
    }
    await run({ streams: [a, b] }, input())
    const t = await db.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'dw' AND tablename LIKE 'clash%' ORDER BY 1`)
    assert.equal(t.rows.length, 2)
    assert.equal(t.rows[0]!.tablename, 'clash_one')
    assert.match(t.rows[1]!.tablename, /^clash_one_[0-9a-f]{3}$/)
    assert.deepEqual((await rows(`dw."${t.rows[1]!.tablename}"`)).map((r) => r.id), ['2'])
  })

  test('identifiers are normalised, truncated and de-duplicated', async () => {
    const long = 'L'.repeat(70)
    const schema = {
      type: 'object',
      properties: { 'a b': { type: 'string' }, a_b: { type: 'string' }, 'Ünï"code': { type: 'string' }, [long]: { type: 'string' } },
    }
    await run(catalogOf('Wëird Nämе!', 'append', { schema, namespace: 'My Schema' }), recordMessages('Wëird Nämе!', []))
    // Like Airbyte, tables are created at the start of a sync, even one without records.
    const created = await db.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'My_Schema'`)
    assert.equal(created.rows[0]!.n, 1)
    const input = async function* (): AsyncGenerator<DestinationMessage> {
      yield rowBatch({ name: 'Wëird Nämе!', namespace: 'My Schema' }, [{ 'a b': '1', a_b: '2', 'Ünï"code': '3', [long]: '4' }])
    }
    await run(catalogOf('Wëird Nämе!', 'append', { schema, namespace: 'My Schema' }), input())
    const t = await db.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'My_Schema'`)
    assert.deepEqual(t.rows.map((x) => x.tablename), ['Weird_Nam__'])
    const r = (await db.query(`SELECT * FROM "My_Schema"."Weird_Nam__"`)).rows[0]!
    assert.equal(r.a_b, '1')
    assert.equal(r.a_b_1, '2')
    assert.equal(r.Uni_code, '3')
    assert.equal(r['L'.repeat(63)], '4')
  })
})
