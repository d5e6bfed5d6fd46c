import { after, before, describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { runAttempt } from '../../../src/engine/index.js'
import { mapBatch } from '../../../src/engine/batch-mapping.js'
import {
  rowBatch,
  type ConfiguredCatalog,
  type DestinationMessage,
  type RunOptions,
  type SourceMessage,
  type StateMessage,
} from '../../../src/protocol/index.js'
import { streamKey } from '../../../src/protocol/index.js'
import { copyTextBatchWithConstants, fieldDecoder } from '../../../src/formats/copy-text-values.js'
import { PostgresSource } from '../../../src/connectors/postgres/postgres-source.js'
import { PostgresDestination } from '../../../src/connectors/postgres/postgres-destination.js'
import { createTestDatabase, memoryLogger, runOptions, type TestDatabase } from '../../helpers/pg.js'
import { collect, configure } from './pg-test-utils.js'
import { createSlot, dropSlots } from './pg-cdc-test-utils.js'

// The initial snapshot of a CDC stream loaded into an empty append_dedup table without merging
// (InitialSnapshotHint), and every way that must fall back to the merge.
let db: TestDatabase
const slots: string[] = []
const destination = new PostgresDestination()
const DIRECT = /Loading the initial snapshot of .* without merging/

before(async () => {
  db = await createTestDatabase('cdcspeed_initial')
})
after(async () => {
  await dropSlots(slots)
  await db.drop()
})

/** Values COPY text must escape, and NULLs. */
const EDGE = ['tab\there', 'new\nline', 'back\\slash', 'unicodé ☃', 'emoji 🎉', '', null]

describe('destination: batches with an initial-snapshot hint', () => {
  const schema = {
    type: 'object',
    properties: {
      id: { type: 'number', airbyte_type: 'integer' },
      v: { type: 'string' },
      _ab_cdc_lsn: { type: 'number', airbyte_type: 'integer' },
      _ab_cdc_deleted_at: { type: 'string' },
    },
  }
  const catalog = (name: string): ConfiguredCatalog => ({
    streams: [
      {
        stream: { name, namespace: null, jsonSchema: schema, supportedSyncModes: ['incremental'] },
        syncMode: 'incremental',
        destinationSyncMode: 'append_dedup',
        cursorField: ['_ab_cdc_lsn'],
        primaryKey: [['id']],
        syncId: 3,
        generationId: 1,
        minimumGenerationId: 0,
      },
    ],
  })
  const cell = (v: string | null): string => (v === null ? '\\N' : v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n'))
  let clock = Date.now()
  /** A COPY-text batch of rows [id, v, lsn, deleted_at], with a hint when `scope` is given. */
  const batch = (name: string, rows: Array<[number, string | null, number, string | null]>, scope?: string, uniqueKey = ['id']): DestinationMessage => ({
    ...rowBatch({ name, namespace: null }, [], { emittedAt: clock++ }),
    count: rows.length,
    pgCopyText: {
      columns: ['id', 'v', '_ab_cdc_lsn', '_ab_cdc_deleted_at'],
      pgTypes: ['integer', 'text', 'bigint', 'text'],
      data: Buffer.from(rows.map((r) => `${r[0]}\t${cell(r[1])}\t${r[2]}\t${cell(r[3])}\n`).join('')),
    },
    ...(scope === undefined ? {} : { initialSnapshot: { scope, uniqueKey } }),
  })
  const state = (name: string, n: number): StateMessage => ({ type: 'STATE', stream: { name, namespace: null }, data: { n } })
  async function write(name: string | string[], input: DestinationMessage[]): Promise<string[]> {
    const options: RunOptions = { ...runOptions(), logger: memoryLogger() }
    async function* messages(): AsyncGenerator<DestinationMessage> {
      yield* input
    }
    const streams = (Array.isArray(name) ? name : [name]).flatMap((n) => catalog(n).streams)
    for await (const echoed of destination.write({ ...db.config, schema: 'dh' }, { streams }, messages(), options)) assert.equal(echoed.type, 'STATE')
    return (options.logger as ReturnType<typeof memoryLogger>).lines
  }
  const table = async (name: string) =>
    (await db.query(`SELECT id, v, _ab_cdc_lsn AS lsn FROM dh.${name} ORDER BY id, _ab_cdc_lsn`)).rows.map((r) => [Number(r.id), r.v, Number(r.lsn)])

  test('an empty table takes the first scope as it is (escapes and NULLs kept); changes after it are merged', async () => {
    const edge = EDGE.map((v, i): [number, string | null, number, string | null] => [i + 1, v, 10, null])
    const logs = await write('fresh', [
      batch('fresh', edge.slice(0, 4), 'A'),
      state('fresh', 1),
      batch('fresh', edge.slice(4), 'A'),
      state('fresh', 2),
      // Streamed changes: an update, a delete, an insert of a new key.
      batch('fresh', [
        [2, 'updated', 20, null],
        [3, null, 21, '2026-01-01T00:00:00Z'],
        [50, 'new', 22, null],
      ]),
      // Hinted rows after a change are merged (an update of key 1 ranks by its cursor).
      batch('fresh', [[1, 'late', 30, null]], 'A'),
      state('fresh', 3),
    ])
    assert.equal(logs.filter((l) => DIRECT.test(l)).length, 1, logs.join('\n'))
    assert.deepEqual(await table('fresh'), [
      [1, 'late', 30],
      [2, 'updated', 20],
      ...edge.slice(3).map((r) => [r[0], r[1], 10]),
      [50, 'new', 22],
    ])
    const meta = await db.query(`SELECT DISTINCT _airbyte_meta::text AS m, _airbyte_generation_id AS g FROM dh.fresh`)
    assert.deepEqual(meta.rows, [{ m: '{"changes": [], "sync_id": 3}', g: '1' }])
  })

  /** A snapshot batch of rows [id, v] whose `_ab_cdc_lsn` (and NULL `_ab_cdc_deleted_at`) travel apart, as the CDC source sends them. */
  const constantBatch = (name: string, rows: Array<[number, string | null]>, lsn: string, scope: string): DestinationMessage => {
    const text = fieldDecoder({ baseType: 'text', isArray: false })
    const made = copyTextBatchWithConstants(
      { name, namespace: null },
      ['id', 'v'],
      ['integer', 'text'],
      [fieldDecoder({ baseType: 'int4', isArray: false }), text],
      [
        { name: '_ab_cdc_lsn', pgType: 'bigint', value: lsn },
        { name: '_ab_cdc_deleted_at', pgType: 'text', value: null },
      ],
      [fieldDecoder({ baseType: 'int8', isArray: false }), text],
      Buffer.from(rows.map((r) => `${r[0]}\t${cell(r[1])}\n`).join('')),
      rows.length,
    )
    made.emittedAt = clock++
    made.initialSnapshot = { scope, uniqueKey: ['id'] }
    return made
  }
  /** Per column of dh.<name>: whether its rows take their value from the catalog, and its default. */
  const columnStorage = async (name: string) =>
    Object.fromEntries(
      (
        await db.query(
          `SELECT a.attname, a.atthasmissing, pg_get_expr(d.adbin, d.adrelid) AS def FROM pg_attribute a
           LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
           WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped`,
          [`dh.${name}`],
        )
      ).rows.map((r) => [r.attname, { missing: r.atthasmissing, default: r.def }]),
    )

  test('constant columns of a snapshot are added after its rows, as their value in the catalog: none stored per row, none left as a default', async () => {
    const edge = EDGE.map((v, i): [number, string | null] => [i + 1, v])
    const logs = await write('constants', [
      constantBatch('constants', edge.slice(0, 4), '10', 'A'),
      constantBatch('constants', edge.slice(4), '10', 'A'),
      state('constants', 1),
      // After the commit the table has the columns: the rest of the scope is COPYed whole.
      constantBatch('constants', [[20, 'after commit']], '10', 'A'),
      state('constants', 2),
      batch('constants', [[2, 'updated', 20, null], [3, null, 21, '2026-01-01T00:00:00Z']]),
      state('constants', 3),
    ])
    assert.equal(logs.filter((l) => DIRECT.test(l)).length, 1, logs.join('\n'))
    assert.deepEqual(await table('constants'), [
      [1, EDGE[0], 10],
      [2, 'updated', 20],
      ...edge.slice(3).map((r) => [r[0], r[1], 10]),
      [20, 'after commit', 10],
    ])
    const storage = await columnStorage('constants')
    assert.deepEqual(storage._ab_cdc_lsn, { missing: true, default: null })
    assert.deepEqual(storage._ab_cdc_deleted_at, { missing: false, default: null })
    assert.deepEqual(storage._airbyte_meta, { missing: true, default: `'{"changes": [], "sync_id": 3}'::jsonb` })
    assert.deepEqual(storage._airbyte_generation_id, { missing: true, default: '1' })
    assert.deepEqual(storage.v, { missing: false, default: null })
    const meta = await db.query(`SELECT DISTINCT _airbyte_meta::text AS m, _airbyte_generation_id AS g, _ab_cdc_deleted_at AS d FROM dh.constants`)
    assert.deepEqual(meta.rows, [{ m: '{"changes": [], "sync_id": 3}', g: '1', d: null }])
    const keyIndexes = await db.query(`SELECT indexdef FROM pg_indexes WHERE schemaname = 'dh' AND tablename = 'constants'`)
    assert.deepEqual(keyIndexes.rows.map((r) => r.indexdef), ['CREATE INDEX constants_id_idx ON dh.constants USING btree (id)'])
  })

  test('tables snapshotted one after the other in one write: a commit for the first does not create the second with every column', async () => {
    await write(['first', 'second'], [
      constantBatch('first', [[1, 'a']], '10', 'A'),
      state('first', 1),
      constantBatch('second', [[1, 'b']], '10', 'B'),
      state('second', 1),
    ])
    assert.deepEqual(await table('first'), [[1, 'a', 10]])
    assert.deepEqual(await table('second'), [[1, 'b', 10]])
    assert.equal((await columnStorage('first'))._ab_cdc_lsn!.missing, true)
    assert.equal((await columnStorage('second'))._ab_cdc_lsn!.missing, true)
  })

  test('constants that change within a scope, a table that exists empty, a constant its column cannot take: every row gets its own value', async () => {
    await write('shifting', [
      constantBatch('shifting', [[1, 'a'], [2, 'b']], '10', 'A'),
      constantBatch('shifting', [[3, 'c']], '11', 'A'),
      state('shifting', 1),
    ])
    assert.deepEqual(await table('shifting'), [[1, 'a', 10], [2, 'b', 10], [3, 'c', 11]])
    assert.equal((await columnStorage('shifting'))._ab_cdc_lsn!.missing, true)

    await write('emptied', [constantBatch('emptied', [[1, 'a']], '10', 'A'), state('emptied', 1)])
    await db.query(`DELETE FROM dh.emptied`)
    const again = await write('emptied', [constantBatch('emptied', [[1, 'a'], [2, 'b']], '12', 'B'), state('emptied', 1)])
    assert.equal(again.filter((l) => DIRECT.test(l)).length, 1, again.join('\n'))
    assert.deepEqual(await table('emptied'), [[1, 'a', 12], [2, 'b', 12]])

    // Not a bigint: the direct COPY fails too, and typing with safe casts NULLs the value with a change.
    const logs = await write('badconst', [constantBatch('badconst', [[1, 'a']], 'not a number', 'A'), state('badconst', 1)])
    assert.equal(logs.filter((l) => DIRECT.test(l)).length, 0, logs.join('\n'))
    const bad = await db.query(`SELECT id, v, _ab_cdc_lsn AS lsn, _airbyte_meta->'changes' AS changes FROM dh.badconst`)
    assert.deepEqual(bad.rows, [{ id: '1', v: 'a', lsn: null, changes: [{ field: '_ab_cdc_lsn', change: 'NULLED', reason: 'DESTINATION_TYPECAST_ERROR' }] }])
  })

  test('a dedup table is created by the first commit, also by a write without records, with its key index', async () => {
    await write('norecords', [state('norecords', 1)])
    const before = await db.query(`SELECT to_regclass('dh.norecords') IS NULL AS missing`)
    assert.equal(before.rows[0]!.missing, true, 'nothing committed, no stream completed: no table yet')
    await write('norecords', [state('norecords', 1), { type: 'STREAM_STATUS', stream: { name: 'norecords', namespace: null }, status: 'COMPLETE' }])
    const made = await db.query(`SELECT indexdef FROM pg_indexes WHERE schemaname = 'dh' AND tablename = 'norecords'`)
    assert.deepEqual(made.rows.map((r) => r.indexdef), ['CREATE INDEX norecords_id_idx ON dh.norecords USING btree (id)'])
  })

  test('a table holding rows when the write begins (a retry after a committed chunk) merges hinted rows: no duplicates', async () => {
    await write('retry', [batch('retry', [[1, 'a', 10, null], [2, 'b', 10, null]], 'A'), state('retry', 1)])
    // The state was never saved: the retry reads the snapshot again, under a new scope.
    const logs = await write('retry', [batch('retry', [[1, 'a', 10, null], [2, 'b', 10, null], [3, 'c', 10, null]], 'B'), state('retry', 1)])
    assert.equal(logs.filter((l) => DIRECT.test(l)).length, 0, logs.join('\n'))
    assert.deepEqual(await table('retry'), [[1, 'a', 10], [2, 'b', 10], [3, 'c', 10]])
  })

  test('the key index is built after the direct load; an empty table left without it gets it; a loaded table is analyzed before its first merge', async () => {
    const keyIndexes = async (name: string) =>
      (await db.query(`SELECT indexdef FROM pg_indexes WHERE schemaname = 'dh' AND tablename = $1`, [name])).rows.map((r) => String(r.indexdef))
    const hasStats = async (name: string) => (await db.query(`SELECT 1 FROM pg_stats WHERE schemaname = 'dh' AND tablename = $1`, [name])).rows.length > 0
    await write('indexed', [batch('indexed', [[1, 'a', 10, null], [2, 'b', 10, null]], 'A'), state('indexed', 1)])
    assert.deepEqual(await keyIndexes('indexed'), ['CREATE INDEX indexed_id_idx ON dh.indexed USING btree (id)'])
    assert.equal(await hasStats('indexed'), false, 'no merge yet, so no ANALYZE')
    await write('indexed', [batch('indexed', [[2, 'changed', 20, null]]), state('indexed', 2)])
    assert.equal(await hasStats('indexed'), true, 'analyzed before the first merge')
    assert.deepEqual(await table('indexed'), [[1, 'a', 10], [2, 'changed', 20]])
    // A write that created the table and died before its first commit leaves it empty, without the index.
    await write('orphan', [batch('orphan', [[1, 'a', 10, null]], 'A'), state('orphan', 1)])
    await db.query(`DELETE FROM dh.orphan; DROP INDEX dh.orphan_id_idx`)
    const logs = await write('orphan', [batch('orphan', [[1, 'a', 10, null]], 'A'), state('orphan', 2)])
    assert.equal(logs.filter((l) => DIRECT.test(l)).length, 1, logs.join('\n'))
    assert.deepEqual(await keyIndexes('orphan'), ['CREATE INDEX orphan_id_idx ON dh.orphan USING btree (id)'])
  })

  test('a second scope in the same write is merged: a key repeated by a later chunk is not doubled', async () => {
    await write('scopes', [
      batch('scopes', [[1, 'a', 10, null], [2, 'old', 10, null]], 'A'),
      state('scopes', 1),
      batch('scopes', [[2, 'moved', 10, null], [3, 'c', 10, null]], 'B'),
      state('scopes', 2),
    ])
    assert.deepEqual(await table('scopes'), [[1, 'a', 10], [2, 'moved', 10], [3, 'c', 10]])
  })

  test('the engine keeps the hint under another name, and drops it when a field selection drops a key column', () => {
    const hinted = batch('orig', [[1, 'a', 10, null]], 'A')
    assert.ok(hinted.type === 'RECORD_BATCH')
    const renamed = { name: 'renamed', namespace: 'x' }
    assert.deepEqual(mapBatch(hinted, renamed, undefined).initialSnapshot, { scope: 'A', uniqueKey: ['id'] })
    assert.deepEqual(mapBatch(hinted, renamed, new Set(['id', 'v'])).initialSnapshot, { scope: 'A', uniqueKey: ['id'] })
    assert.equal(mapBatch(hinted, renamed, new Set(['v'])).initialSnapshot, undefined)
  })

  test('a hint whose unique key is not in the configured key, or an unhinted first batch, never loads directly', async () => {
    const logs = await write('foreign', [batch('foreign', [[1, 'x', 10, null], [1, 'y', 10, null]], 'A', ['v']), state('foreign', 1)])
    assert.equal(logs.filter((l) => DIRECT.test(l)).length, 0)
    assert.deepEqual(await table('foreign'), [[1, 'y', 10]])
    const later = await write('unhinted', [batch('unhinted', [[1, 'x', 10, null]]), batch('unhinted', [[1, 'y', 10, null]], 'A'), state('unhinted', 1)])
    assert.equal(later.filter((l) => DIRECT.test(l)).length, 0)
    assert.deepEqual(await table('unhinted'), [[1, 'y', 10]])
  })
})

describe('CDC snapshot -> Postgres append_dedup', () => {
  async function cdcSetup(t: TestContext, tag: string, tables: string): Promise<Record<string, unknown>> {
    const slot = await createSlot(db, tag)
    slots.push(slot)
    t.after(() => dropSlots([slot]))
    await db.query(`CREATE PUBLICATION pub_${tag} FOR TABLE ${tables}`)
    return { ...db.config, replication_method: { method: 'CDC', replication_slot: slot, publication: `pub_${tag}`, initial_waiting_seconds: 120 } }
  }
  const incremental = async (source: PostgresSource, cfg: Record<string, unknown>, names: string[]) =>
    configure(await source.discover(cfg, runOptions()), { syncMode: 'incremental', destinationSyncMode: 'append_dedup', cursorField: ['_ab_cdc_lsn'], names })
  const latest = (prior: StateMessage[], states: StateMessage[]): StateMessage[] => {
    const byStream = new Map(prior.map((s) => [streamKey(s.stream), s]))
    for (const s of states) byStream.set(streamKey(s.stream), s)
    return [...byStream.values()]
  }
  const snapshotDone = (m: SourceMessage): boolean => m.type === 'STATE' && m.data !== null && !('snapshot' in m.data)

  /** The source, running `afterSnapshot` once the snapshot's last state is out (its changes come with the next sync). */
  class HookedSource extends PostgresSource {
    readonly #afterSnapshot: (() => Promise<void>) | undefined
    constructor(options: ConstructorParameters<typeof PostgresSource>[0], afterSnapshot?: () => Promise<void>) {
      super(options)
      this.#afterSnapshot = afterSnapshot
    }
    override async *read(...args: Parameters<PostgresSource['read']>): AsyncGenerator<SourceMessage> {
      let ran = false
      for await (const m of super.read(...args)) {
        yield m
        if (!ran && snapshotDone(m) && this.#afterSnapshot) {
          ran = true
          await this.#afterSnapshot()
        }
      }
    }
  }

  async function sync(
    source: PostgresSource,
    cfg: Record<string, unknown>,
    catalog: ConfiguredCatalog,
    state: StateMessage[],
    dst: Record<string, unknown>,
    onState?: (states: StateMessage[]) => void,
  ): Promise<{ state: StateMessage[]; logs: string[] }> {
    const logger = memoryLogger()
    let saved = state
    await runAttempt({
      source,
      sourceConfig: cfg,
      destination,
      destinationConfig: { ...db.config, ...dst },
      catalog,
      mapping: { namespaceDefinition: 'destination' },
      state,
      options: { signal: new AbortController().signal, logger, context: { dataDir: '/tmp', localFilesRoot: '/tmp' } },
      async onStateCommitted(states) {
        onState?.(states)
        saved = latest(saved, states)
      },
    })
    return { state: saved, logs: logger.lines }
  }
  async function assertEqual(table: string, target: string): Promise<void> {
    const src = await db.query(`SELECT id, v FROM ${table} ORDER BY id`)
    const dst = await db.query(`SELECT id, v FROM ${target} ORDER BY id`)
    assert.deepEqual(dst.rows.map((r) => ({ id: Number(r.id), v: r.v })), src.rows)
  }

  test('the source marks each chunk with a scope of its own, and only tables whose key is configured', async (t) => {
    await db.query(`CREATE TABLE hinted (id int PRIMARY KEY, v text, pad text DEFAULT repeat('p', 1000)); CREATE TABLE keyless (id int, v text)`)
    await db.query(`INSERT INTO hinted (id, v) SELECT g, 'h' || g FROM generate_series(1, 20) g; INSERT INTO keyless SELECT g, 'k' FROM generate_series(1, 5) g`)
    const cfg = await cdcSetup(t, 'hints', 'hinted, keyless')
    // 7 rows per 8 kB page: 3 chunks of one page.
    const source = new PostgresSource({ batchBytes: 2048, snapshotChunkBytes: 8192 })
    const catalog = configure(await source.discover(cfg, runOptions()), { syncMode: 'incremental', destinationSyncMode: 'append_dedup', primaryKey: [['id']] })
    const { batches } = await collect(source.read(cfg, catalog, [], runOptions()))
    const hinted = batches.filter((b) => b.stream.name === 'hinted')
    assert.ok(hinted.every((b) => b.initialSnapshot !== undefined && b.initialSnapshot.uniqueKey.join() === 'id'))
    assert.equal(new Set(hinted.map((b) => b.initialSnapshot!.scope)).size, 3)
    // The user's key of a table without a primary key promises nothing.
    assert.ok(batches.filter((b) => b.stream.name === 'keyless').every((b) => b.initialSnapshot === undefined))
  })

  test('one chunk into an empty table is loaded directly; changes committed before the sync are merged after it; changes during it come next sync', async (t) => {
    await db.query(`CREATE TABLE accounts (id int PRIMARY KEY, v text)`)
    await db.query(`INSERT INTO accounts SELECT g, 'a' || g FROM generate_series(1, 500) g`)
    await db.query(`INSERT INTO accounts VALUES ${EDGE.map((v, i) => `(${1000 + i}, ${v === null ? 'NULL' : `'${v.replace(/'/g, "''")}'`})`).join(', ')}`)
    const cfg = await cdcSetup(t, 'accounts', 'accounts')
    // In the slot and in the snapshot: the stream replays them after the direct load, in the same write.
    await db.query(`UPDATE accounts SET v = 'changed' WHERE id % 10 = 0; DELETE FROM accounts WHERE id % 7 = 0; INSERT INTO accounts VALUES (600, 'late')`)
    const source = new HookedSource({}, async () => {
      await db.query(`UPDATE accounts SET v = v || '!' WHERE id = 1002`)
    })
    const catalog = await incremental(source, cfg, ['accounts'])
    const first = await sync(source, cfg, catalog, [], { schema: 'dw_accounts' })
    assert.equal(first.logs.filter((l) => DIRECT.test(l)).length, 1, first.logs.join('\n'))
    const lsn = async (id: number) => BigInt((await db.query(`SELECT _ab_cdc_lsn::text AS l FROM dw_accounts.accounts WHERE id = ${id}`)).rows[0]!.l as string)
    assert.ok((await lsn(10)) > (await lsn(1)), 'the update of id 10 was merged over its snapshot row')
    const deleted = await db.query(`SELECT count(*)::int AS n FROM dw_accounts.accounts WHERE id % 7 = 0`)
    assert.equal(deleted.rows[0]!.n, 0)
    const during = await db.query(`SELECT v FROM dw_accounts.accounts WHERE id = 1002`)
    assert.equal(during.rows[0]!.v, EDGE[2], 'the change committed after the sync began waits for the next sync')
    // The next sync streams it, and merges (the table is not empty).
    await db.query(`UPDATE accounts SET v = 'again' WHERE id < 5; DELETE FROM accounts WHERE id = 5`)
    const second = await sync(new PostgresSource(), cfg, catalog, first.state, { schema: 'dw_accounts' })
    assert.equal(second.logs.filter((l) => DIRECT.test(l)).length, 0)
    await assertEqual('accounts', 'dw_accounts.accounts')
  })

  test('the destination committed the snapshot but its state was not saved: the retry merges it, no duplicates', async (t) => {
    await db.query(`CREATE TABLE ledger2 (id int PRIMARY KEY, v text)`)
    await db.query(`INSERT INTO ledger2 SELECT g, 'l' || g FROM generate_series(1, 300) g`)
    const cfg = await cdcSetup(t, 'unsaved', 'ledger2')
    const source = new PostgresSource()
    const catalog = await incremental(source, cfg, ['ledger2'])
    let saved: StateMessage[] = []
    const failure = await sync(source, cfg, catalog, [], { schema: 'dw_unsaved' }, (states) => {
      if (states.some((s) => snapshotDone(s))) throw new Error('state store down')
      saved = latest(saved, states)
    }).then(
      () => undefined,
      (err: Error) => err,
    )
    assert.match(String(failure?.message), /state store down/)
    // The destination committed every snapshot row before the state was lost.
    const committed = await db.query(`SELECT count(*)::int AS n FROM dw_unsaved.ledger2`)
    assert.equal(committed.rows[0]!.n, 300)
    assert.ok(saved.every((s) => s.data !== null && 'snapshot' in s.data), 'only the state before the snapshot was saved')
    await db.query(`UPDATE ledger2 SET v = 'u' WHERE id <= 3; DELETE FROM ledger2 WHERE id = 4`)
    const retry = await sync(source, cfg, catalog, saved, { schema: 'dw_unsaved' })
    assert.equal(retry.logs.filter((l) => DIRECT.test(l)).length, 0, retry.logs.join('\n'))
    const dup = await db.query(`SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM dw_unsaved.ledger2`)
    assert.deepEqual(dup.rows[0], { n: 299, d: 299 })
    await assertEqual('ledger2', 'dw_unsaved.ledger2')
  })

  test('several chunks with rows moving between them: the first chunk loads directly, the rest merge; the raw-table layout too', async (t) => {
    await db.query(`CREATE TABLE moving (id int PRIMARY KEY, v text, pad text DEFAULT repeat('p', 1000))`)
    await db.query(`INSERT INTO moving (id, v) SELECT g, 'm' || g FROM generate_series(1, 40) g`)
    const cfg = await cdcSetup(t, 'moving', 'moving')
    for (const [schema, raw] of [
      ['dw_moving', false],
      ['dw_moving_raw', true],
    ] as const) {
      let chunks = 0
      const source = new PostgresSource({ batchBytes: 2048, snapshotChunkBytes: 8192 })
      const catalog = await incremental(source, cfg, ['moving'])
      // After the first chunk's state: a row of the copied page grows and moves to a later page.
      const hooked = new (class extends PostgresSource {
        override async *read(...args: Parameters<PostgresSource['read']>): AsyncGenerator<SourceMessage> {
          for await (const m of source.read(...args)) {
            yield m
            if (m.type === 'STATE' && m.data !== null && 'snapshot' in m.data && (m.data.snapshot as { page: number }).page > 0 && chunks++ === 0) {
              await db.query(`UPDATE moving SET v = 'moved-${schema}', pad = repeat('q', 2000) WHERE id = 2`)
            }
          }
        }
      })()
      const dst = raw ? { schema, use_raw_tables: true, raw_data_schema: `${schema}_internal` } : { schema }
      const first = await sync(hooked, cfg, catalog, [], dst)
      assert.equal(first.logs.filter((l) => DIRECT.test(l)).length, raw ? 0 : 1, first.logs.join('\n'))
      // The move committed after the sync began: the next sync streams it.
      await sync(source, cfg, catalog, first.state, dst)
      await assertEqual('moving', `${schema}.moving`)
      const dup = await db.query(`SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM ${schema}.moving`)
      assert.equal(dup.rows[0]!.n, dup.rows[0]!.d)
      // The second layout snapshots again from the same slot; its stream replays this change too.
      await db.query(`UPDATE moving SET v = 'm2' WHERE id = 2`)
    }
  })
})
