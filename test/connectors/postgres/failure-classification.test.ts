import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { PostgresDestination } from '../../../src/connectors/postgres/index.js'
import { isSluiceError, type SluiceError } from '../../../src/errors.js'
import { rowBatch, type ConfiguredCatalog, type DestinationMessage } from '../../../src/protocol/index.js'
import { createTestDatabase, runOptions, type TestDatabase } from '../../helpers/pg.js'

let db: TestDatabase
const dest = new PostgresDestination()

before(async () => {
  db = await createTestDatabase('pgclass')
})
after(() => db.drop())

const catalog: ConfiguredCatalog = {
  streams: [
    {
      stream: { name: 'ledger', namespace: null, jsonSchema: { type: 'object', properties: { id: { type: 'integer' } } }, supportedSyncModes: ['full_refresh'] },
      syncMode: 'full_refresh',
      destinationSyncMode: 'append',
      cursorField: [],
      primaryKey: [],
      syncId: 1,
      generationId: 1,
      minimumGenerationId: 0,
    },
  ],
}

async function* input(ids: number[]): AsyncGenerator<DestinationMessage> {
  yield rowBatch({ name: 'ledger', namespace: null }, ids.map((id) => ({ id })), { emittedAt: Date.now() })
  yield { type: 'STATE', stream: { name: 'ledger', namespace: null }, data: { last: ids.at(-1) } }
}

async function drain(ids: number[]): Promise<void> {
  for await (const _ of dest.write({ ...db.config, schema: 'dw' }, catalog, input(ids), runOptions())) void _
}

test("a trigger's RAISE EXCEPTION is a config error (no retry), with the trigger's message", async () => {
  await drain([1])
  await db.query(`CREATE FUNCTION dw.closed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the ledger is closed'; END $$;
    CREATE TRIGGER closed BEFORE INSERT ON dw.ledger FOR EACH ROW EXECUTE FUNCTION dw.closed()`)
  const failure = await drain([2]).then(
    () => assert.fail('the write went through the trigger'),
    (e: unknown) => e,
  )
  assert.ok(isSluiceError(failure), String(failure))
  assert.equal((failure as SluiceError).failureType, 'config_error')
  assert.match((failure as SluiceError).message, /the ledger is closed/)
  const { rows } = await db.query('SELECT id::int AS id FROM dw.ledger ORDER BY id')
  assert.deepEqual(rows, [{ id: 1 }], 'nothing of the refused write is visible')
})
