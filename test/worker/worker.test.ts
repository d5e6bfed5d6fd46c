import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { newWorkspaceRecord } from '../../src/api/workspace-records.js'
import type { DestinationDefinition, Source, SourceDefinition } from '../../src/protocol/index.js'
import { ConnectorRegistry } from '../../src/connectors/registry.js'
import { testDestinationDefinition } from '../../src/connectors/test-destination/index.js'
import type { AttemptInput } from '../../src/engine/types.js'
import { configError, SluiceError, transientError } from '../../src/errors.js'
import { SecretService } from '../../src/secrets/secret-service.js'
import type { AttemptRecord, JobRecord } from '../../src/store/job-store.js'
import type { ConnectionRecord } from '../../src/store/config-store.js'
import { openSqliteDatabase, type SqliteDatabase } from '../../src/store/sqlite/database.js'
import { SqliteConfigStore } from '../../src/store/sqlite/sqlite-config-store.js'
import { emptyStats, SqliteJobStore } from '../../src/store/sqlite/sqlite-job-store.js'
import { configuredCatalog, resetEntries } from '../../src/worker/attempt-catalog.js'
import { catalogEntries } from '../../src/domain/catalog-entries.js'
import { AttemptLog } from '../../src/worker/attempt-log.js'
import { decideRetry, DEFAULT_RETRY_POLICY, retryPolicyFromEnv } from '../../src/worker/retry-policy.js'
import { createJobServices } from '../../src/job-services.js'
import { Worker } from '../../src/worker/worker.js'
import type { RunAttemptFn } from '../../src/worker/worker-options.js'

const SECRET = 'pa55-w0rd-XYZ'

function attempt(n: number, status: AttemptRecord['status'], committed = 0): AttemptRecord {
  return { jobId: 1, attemptNumber: n, status, totalStats: { ...emptyStats(), recordsCommitted: committed }, streamStats: [], failures: [], createdAt: 0, updatedAt: 0 }
}

describe('retry policy (Airbyte defaults)', () => {
  const noJitter = { ...DEFAULT_RETRY_POLICY, jitter: 0 }

  test('complete failures back off 10 s, 30 s, 90 s... and stop after 5 in a row', () => {
    const delays: number[] = []
    const attempts: AttemptRecord[] = []
    for (let n = 0; n < 5; n++) {
      attempts.push(attempt(n, 'failed'))
      const d = decideRetry(attempts, 'transient_error', noJitter)
      if (d.retry) delays.push(d.delayMs)
      else assert.match(d.reason, /5 attempts in a row/)
    }
    assert.deepEqual(delays, [10_000, 30_000, 90_000, 270_000])
  })

  test('partial failures retry at once, reset the streak, and stop after 20', () => {
    const attempts = [attempt(0, 'failed'), attempt(1, 'failed', 5)]
    assert.deepEqual(decideRetry(attempts, 'system_error', noJitter), { retry: true, delayMs: 0 })
    attempts.push(attempt(2, 'failed'))
    assert.deepEqual(decideRetry(attempts, 'system_error', noJitter), { retry: true, delayMs: 10_000 }, 'streak restarted')
    const partials = Array.from({ length: 20 }, (_, i) => attempt(i, 'failed', 1))
    assert.equal(decideRetry(partials, 'transient_error', noJitter).retry, false)
  })

  test('config errors never retry; maxAttempts caps; backoff is capped; env overrides', () => {
    assert.equal(decideRetry([attempt(0, 'failed')], 'config_error', noJitter).retry, false)
    assert.equal(decideRetry([attempt(0, 'failed'), attempt(1, 'failed')], 'transient_error', { ...noJitter, maxAttempts: 2 }).retry, false)
    const capped = decideRetry([attempt(0, 'failed'), attempt(1, 'failed'), attempt(2, 'failed')], 'transient_error', { ...noJitter, backoffMaxMs: 20_000 })
    assert.deepEqual(capped, { retry: true, delayMs: 20_000 })
    const jittered = decideRetry([attempt(0, 'failed')], 'transient_error', DEFAULT_RETRY_POLICY, () => 1)
    assert.deepEqual(jittered, { retry: true, delayMs: 11_000 })
    const env = retryPolicyFromEnv({ SLUICE_MAX_ATTEMPTS: '4', SLUICE_RETRY_BACKOFF_MS: '5' })
    assert.equal(env.maxAttempts, 4)
    assert.equal(env.backoffBaseMs, 5)
    assert.throws(() => retryPolicyFromEnv({ SLUICE_RETRY_BACKOFF_MS: 'soon' }), /SLUICE_RETRY_BACKOFF_MS/)
  })
})

describe('attempt catalog', () => {
  const conn = {
    syncCatalog: {
      streams: [
        {
          stream: { name: 'a', namespace: 'ns', supportedSyncModes: ['full_refresh', 'incremental'], sourceDefinedCursor: true, defaultCursorField: ['seq'], sourceDefinedPrimaryKey: [['id']] },
          config: { syncMode: 'incremental', destinationSyncMode: 'append_dedup', cursorField: ['user_cursor'], primaryKey: [['other']], selected: true, aliasName: 'a_alias' },
        },
        { stream: { name: 'b', supportedSyncModes: ['full_refresh'] }, config: { syncMode: 'full_refresh', destinationSyncMode: 'overwrite', selected: true } },
        { stream: { name: 'c', supportedSyncModes: ['full_refresh'] }, config: { syncMode: 'full_refresh', destinationSyncMode: 'append', selected: false } },
      ],
    },
  }

  test('source-defined cursor and primary key win; overwrite truncates by generation', () => {
    const entries = catalogEntries(conn)
    assert.deepEqual(entries[0]?.cursorField, ['seq'])
    assert.deepEqual(entries[0]?.primaryKey, [['id']])
    assert.equal(entries[0]?.aliasName, 'a_alias')
    assert.equal(entries[2]?.selected, false)
    const catalog = configuredCatalog(entries.filter((e) => e.selected), 42, new Map([['ns\u0000a', 3], ['\u0000b', 5]]))
    assert.deepEqual(
      catalog.streams.map((s) => [s.stream.name, s.syncId, s.generationId, s.minimumGenerationId]),
      [['a', 42, 3, 0], ['b', 42, 5, 5]],
    )
  })

  test('a reset narrows to its streams and forces full_refresh + overwrite', () => {
    const entries = catalogEntries(conn)
    assert.deepEqual(resetEntries(entries, []).map((e) => e.stream.name), ['a', 'b'])
    const only = resetEntries(entries, [{ name: 'a', namespace: 'ns' }])
    const catalog = configuredCatalog(only, 7, new Map([['ns\u0000a', 4]]), { reset: true })
    assert.deepEqual(catalog.streams.map((s) => [s.stream.name, s.syncMode, s.destinationSyncMode, s.minimumGenerationId]), [['a', 'full_refresh', 'overwrite', 4]])
  })
})

describe('AttemptLog', () => {
  test('scrubs secrets, formats lines, flushes to the store', async () => {
    const db = openSqliteDatabase(':memory:')
    try {
      const store = new SqliteJobStore(db)
      const job = await store.createJob({ configType: 'sync', configId: 'c', streams: [] })
      const log = new AttemptLog(store, job.id, 0, () => Date.UTC(2026, 0, 2, 3, 4, 5))
      log.addSecrets([SECRET, 'ab'])
      log.info(`connecting with password ${SECRET}`)
      log.error('two\nlines about ab')
      await log.flush()
      assert.deepEqual(await store.readLogs(job.id, 0), [
        '2026-01-02 03:04:05 INFO connecting with password **********',
        '2026-01-02 03:04:05 ERROR two',
        '2026-01-02 03:04:05 ERROR lines about ab',
      ])
    } finally {
      db.close()
    }
  })
})

describe('AttemptLog size cap', () => {
  const STAMP = '2026-01-02 03:04:05'
  const now = (): number => Date.UTC(2026, 0, 2, 3, 4, 5)
  const bytes = (line: string): number => Buffer.byteLength(line) + 1

  /** The stored log is the marker, then the longest tail of `written` that fits in `cap`. */
  function assertTail(stored: string[], written: string[], cap: number): void {
    const marker = /^2026-01-02 03:04:05 WARN … (\d+) bytes of earlier log dropped \(cap (\d+) bytes\)$/.exec(stored[0] ?? '')
    assert.ok(marker, `first line is the marker: ${stored[0]}`)
    assert.equal(Number(marker[2]), cap)
    const tail = stored.slice(1)
    assert.deepEqual(tail, written.slice(written.length - tail.length), 'the newest lines, in order')
    const keptBytes = tail.reduce((n, l) => n + bytes(l), 0)
    assert.ok(keptBytes <= cap, `${keptBytes} bytes kept`)
    const next = written[written.length - tail.length - 1]
    assert.ok(next !== undefined && keptBytes + bytes(next) > cap, 'the tail is as long as the cap allows')
    assert.equal(Number(marker[1]), written.reduce((n, l) => n + bytes(l), 0) - keptBytes, 'the marker counts every dropped byte')
  }

  test('keeps the newest lines under the cap, one marker on top, on SQLite', async () => {
    const db = openSqliteDatabase(':memory:')
    try {
      const store = new SqliteJobStore(db)
      const job = await store.createJob({ configType: 'sync', configId: 'c', streams: [] })
      const log = new AttemptLog(store, job.id, 0, now, 4096)
      const written: string[] = []
      for (let i = 0; i < 1000; i++) {
        const message = `line ${i} ${'x'.repeat(i % 97)}`
        log.info(message)
        written.push(`${STAMP} INFO ${message}`)
        if (i % 37 === 0) await log.flush()
      }
      await log.flush()
      assertTail(await store.readLogs(job.id, 0), written, 4096)
      log.error('the failure')
      written.push(`${STAMP} ERROR the failure`)
      await log.flush()
      const stored = await store.readLogs(job.id, 0)
      assertTail(stored, written, 4096)
      assert.equal(stored.at(-1), `${STAMP} ERROR the failure`)
    } finally {
      db.close()
    }
  })

  test('under the cap nothing is dropped and no marker is written', async () => {
    const db = openSqliteDatabase(':memory:')
    try {
      const store = new SqliteJobStore(db)
      const job = await store.createJob({ configType: 'sync', configId: 'c', streams: [] })
      const log = new AttemptLog(store, job.id, 0, now, 4096)
      for (let i = 0; i < 100; i++) log.info(`line ${i}`)
      await log.flush()
      const stored = await store.readLogs(job.id, 0)
      assert.equal(stored.length, 100)
      assert.equal(stored[0], `${STAMP} INFO line 0`)
    } finally {
      db.close()
    }
  })

  test('an attempt whose only line is larger than the cap stores the marker alone', async () => {
    const db = openSqliteDatabase(':memory:')
    try {
      const store = new SqliteJobStore(db)
      const job = await store.createJob({ configType: 'sync', configId: 'c', streams: [] })
      const log = new AttemptLog(store, job.id, 0, now, 4096)
      log.error('y'.repeat(5000))
      await log.flush()
      assert.deepEqual(await store.readLogs(job.id, 0), [`${STAMP} WARN … ${bytes(`${STAMP} ERROR ${'y'.repeat(5000)}`)} bytes of earlier log dropped (cap 4096 bytes)`])
    } finally {
      db.close()
    }
  })

  test('a stalled store never gets more than the cap at once; a line larger than the cap is dropped', async () => {
    const db = openSqliteDatabase(':memory:')
    try {
      const inner = new SqliteJobStore(db)
      const job = await inner.createJob({ configType: 'sync', configId: 'c', streams: [] })
      let release: () => void = () => undefined
      const gate = new Promise<void>((resolve) => {
        release = resolve
      })
      const batches: number[] = []
      const store = new Proxy(inner, {
        get(target, prop, receiver) {
          if (prop === 'appendLogs') {
            return async (...args: Parameters<SqliteJobStore['appendLogs']>) => {
              batches.push(args[2].reduce((n, l) => n + bytes(l), 0))
              await gate
              return target.appendLogs(...args)
            }
          }
          const value = Reflect.get(target, prop, receiver) as unknown
          return typeof value === 'function' ? value.bind(target) : value
        },
      })
      const log = new AttemptLog(store, job.id, 0, now, 4096)
      const written: string[] = []
      log.info('x'.repeat(5000))
      written.push(`${STAMP} INFO ${'x'.repeat(5000)}`)
      log.info('first')
      written.push(`${STAMP} INFO first`)
      // The first write waits on the stalled store while everything below comes in.
      const first = log.flush()
      for (let i = 0; i < 5000; i++) {
        log.info(`line ${i} of a connector that logs faster than the store writes`)
        written.push(`${STAMP} INFO line ${i} of a connector that logs faster than the store writes`)
      }
      const flushed = log.flush()
      assert.equal(flushed, first, 'one writer')
      release()
      await flushed
      assert.ok(batches.length >= 2, `${batches.length} batches`)
      for (const b of batches) assert.ok(b <= 4096 + 200, `a batch of ${b} bytes (cap plus the marker)`)
      assertTail(await inner.readLogs(job.id, 0), written, 4096)
    } finally {
      db.close()
    }
  })
})

describe('Worker with a scripted engine', () => {
  let db: SqliteDatabase
  let configStore: SqliteConfigStore
  let jobStore: SqliteJobStore
  let workspaceId: string
  let outDir: string
  const secrets = new SecretService(randomBytes(32))
  const secretSourceSpec = {
    connectionSpecification: { type: 'object', properties: { password: { type: 'string', airbyte_secret: true }, host: { type: 'string' } } },
  }
  const scriptedSource: Source = {
    spec: secretSourceSpec,
    check: async () => ({ status: 'succeeded' as const, message: 'ok' }),
    discover: async () => ({ streams: [] }),
    read: async function* () {},
  }
  const sourceDef: SourceDefinition = {
    kind: 'source',
    definitionId: randomUUID(),
    name: 'Scripted',
    dockerRepository: 'x',
    dockerImageTag: '0',
    documentationUrl: 'x',
    releaseStage: 'alpha',
    supportLevel: 'none',
    sourceType: 'custom',
    source: scriptedSource,
  }
  const destinationDef: DestinationDefinition = testDestinationDefinition
  const registry = new ConnectorRegistry([sourceDef, destinationDef])

  before(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'sluice-worker-'))
    db = openSqliteDatabase(':memory:')
    configStore = new SqliteConfigStore(db)
    jobStore = new SqliteJobStore(db)
    const ws = newWorkspaceRecord({ name: 'w', slug: 'w' })
    await configStore.putWorkspace(ws)
    workspaceId = ws.workspaceId
  })
  after(async () => {
    db.close()
    await rm(outDir, { recursive: true, force: true })
  })

  async function connection(): Promise<ConnectionRecord> {
    const sourceId = randomUUID()
    const destinationId = randomUUID()
    await configStore.putActor({ id: sourceId, kind: 'source', workspaceId, definitionId: sourceDef.definitionId, name: 's', configuration: { host: 'db', password: secrets.encrypt(SECRET) }, tombstone: false, createdAt: 0 })
    await configStore.putActor({ id: destinationId, kind: 'destination', workspaceId, definitionId: destinationDef.definitionId, name: 'd', configuration: { path: outDir }, tombstone: false, createdAt: 0 })
    const conn: ConnectionRecord = {
      connectionId: randomUUID(),
      workspaceId,
      name: 'c',
      sourceId,
      destinationId,
      status: 'active',
      namespaceDefinition: 'source',
      prefix: 'pre_',
      syncCatalog: {
        streams: [
          { stream: { name: 'inc', supportedSyncModes: ['incremental'] }, config: { syncMode: 'incremental', destinationSyncMode: 'append', cursorField: ['u'], selected: true } },
          { stream: { name: 'full', supportedSyncModes: ['full_refresh'] }, config: { syncMode: 'full_refresh', destinationSyncMode: 'overwrite', selected: true } },
        ],
      },
      schedule: { type: 'manual' },
      operationIds: [],
      extra: {},
      createdAt: 0,
      updatedAt: 0,
    }
    await configStore.putConnection(conn)
    return conn
  }

  function worker(runAttempt: RunAttemptFn, extra: Partial<ConstructorParameters<typeof Worker>[0]> = {}): Worker {
    return new Worker({
      jobStore,
      configStore,
      registry,
      secrets,
      context: { dataDir: outDir, localFilesRoot: outDir },
      runAttempt,
      pollIntervalMs: 10,
      heartbeatMs: 20,
      retry: { backoffBaseMs: 0, maxAttempts: 2 },
      ...extra,
    })
  }

  async function waitJob(id: number, statuses: string[]): Promise<JobRecord> {
    for (let i = 0; i < 500; i++) {
      const job = await jobStore.getJob(id)
      if (job && statuses.includes(job.status)) return job
      await new Promise((r) => setTimeout(r, 10))
    }
    assert.fail(`job ${id} never reached ${statuses.join('/')}: ${(await jobStore.getJob(id))?.status}`)
  }

  test('decrypted configs, generations, state and mapping reach the engine; state is saved', async () => {
    const conn = await connection()
    await jobStore.saveState(conn.connectionId, [
      { stream: { name: 'inc' }, state: { u: 5 } },
      { stream: { name: 'full' }, state: { page: 9 } },
    ])
    let seen: AttemptInput | undefined
    const w = worker(async (input) => {
      seen = input
      await input.onStateCommitted([{ type: 'STATE', stream: { name: 'inc' }, data: { u: 6 } }])
      return { totalStats: { ...emptyStats(), recordsEmitted: 1, recordsCommitted: 1 }, streamStats: [] }
    })
    await w.start()
    const job = await jobStore.createJob({ configType: 'sync', configId: conn.connectionId, streams: [] })
    await waitJob(job.id, ['succeeded', 'failed'])
    await w.stop()
    assert.ok(seen)
    assert.deepEqual(seen.sourceConfig, { host: 'db', password: SECRET })
    assert.deepEqual(seen.state, [{ type: 'STATE', stream: { name: 'inc' }, data: { u: 5 } }], 'full_refresh state was cleared')
    assert.deepEqual(seen.catalog.streams.map((s) => [s.stream.name, s.syncId, s.generationId, s.minimumGenerationId]), [['inc', job.id, 0, 0], ['full', job.id, 1, 1]])
    assert.equal(seen.mapping.prefix, 'pre_')
    assert.equal(seen.emptySource, undefined)
    const saved = await jobStore.getState(conn.connectionId)
    assert.deepEqual(saved, [{ stream: { name: 'inc' }, state: { u: 6 } }])
    assert.equal((await jobStore.getJob(job.id))?.status, 'succeeded')
  })

  test('a config the source updates during the run (rotated token) is stored encrypted and used next time', async () => {
    const conn = await connection()
    const rotated = 'rotated-T0KEN-42'
    const w = worker(async (input) => {
      await input.options.onConfigUpdate?.({ password: rotated })
      return { totalStats: emptyStats(), streamStats: [] }
    })
    await w.start()
    const job = await jobStore.createJob({ configType: 'sync', configId: conn.connectionId, streams: [] })
    await waitJob(job.id, ['succeeded', 'failed'])
    await w.stop()
    const stored = await configStore.getActor('source', conn.sourceId)
    assert.ok(stored)
    assert.equal(stored.configuration.host, 'db', 'keys not in the update are kept')
    assert.notEqual(stored.configuration.password, rotated, 'the secret is encrypted at rest')
    assert.equal(secrets.decrypt(String(stored.configuration.password)), rotated)
    const logs = await jobStore.readLogs(job.id, 0)
    assert.ok(logs.some((l) => l.includes('Saved the source configuration')))
    assert.ok(!logs.some((l) => l.includes(rotated)), 'the new secret never reaches the log')
  })

  test('secrets are scrubbed from logs and failure messages; transient errors retry up to maxAttempts', async () => {
    const conn = await connection()
    const w = worker(async (input) => {
      input.options.logger.info(`opening db with ${SECRET}`)
      throw transientError(`auth failed for password ${SECRET}`)
    })
    await w.start()
    const job = await jobStore.createJob({ configType: 'sync', configId: conn.connectionId, streams: [] })
    await waitJob(job.id, ['failed'])
    await w.stop()
    const attempts = await jobStore.listAttempts(job.id)
    assert.equal(attempts.length, 2)
    const failure = attempts[0]?.failures[0]
    assert.equal(failure?.failureType, 'transient_error')
    assert.equal(failure?.externalMessage, 'auth failed for password **********')
    const logs = (await jobStore.readLogs(job.id, 0)).join('\n')
    assert.ok(logs.includes('opening db with **********'), logs)
    assert.ok(!logs.includes(SECRET))
    assert.ok(!JSON.stringify(attempts).includes(SECRET))
  })

  test('a cancel that arrives while the attempt fails on its own ends the job cancelled, not retried', async () => {
    const conn = await connection()
    let calls = 0
    const w = worker(async () => {
      calls++
      // The cancel lands in the store, then the attempt fails before a heartbeat notices it.
      await jobStore.requestCancel((await jobStore.activeJob(conn.connectionId))!.id)
      throw transientError('network blip')
    }, { heartbeatMs: 60_000 })
    await w.start()
    const job = await jobStore.createJob({ configType: 'sync', configId: conn.connectionId, streams: [] })
    await waitJob(job.id, ['cancelled', 'failed', 'succeeded'])
    await w.stop()
    assert.equal((await jobStore.getJob(job.id))?.status, 'cancelled')
    assert.equal(calls, 1)
  })

  test('a connection whose sync jobs only failed for 7 days is turned off', async () => {
    const conn = await connection()
    let clock = Date.now() - 8 * 86_400_000
    const now = (): number => clock
    const store = new SqliteJobStore(db, { now })
    const old = await store.createJob({ configType: 'sync', configId: conn.connectionId, streams: [] })
    const claimed = await store.claimNext('w-old', 60_000)
    assert.equal(claimed?.job.id, old.id)
    await store.finishAttempt(old.id, 0, 'w-old', { status: 'failed', failures: [] }, { status: 'failed' })
    clock += 8 * 86_400_000
    const w = worker(async () => {
      throw configError('still broken')
    }, { jobStore: store, now })
    await w.start()
    const job = await store.createJob({ configType: 'sync', configId: conn.connectionId, streams: [] })
    for (let i = 0; i < 300 && (await configStore.getConnection(conn.connectionId))?.status === 'active'; i++) await new Promise((r) => setTimeout(r, 10))
    await w.stop()
    assert.equal((await store.getJob(job.id))?.status, 'failed')
    assert.equal((await configStore.getConnection(conn.connectionId))?.status, 'inactive', 'two failed jobs, the first 8 days ago')
  })

  test('a reset runs an empty source over its streams, once bumped', async () => {
    const conn = await connection()
    await jobStore.saveState(conn.connectionId, [{ stream: { name: 'inc' }, state: { u: 5 } }])
    let seen: AttemptInput | undefined
    const w = worker(async (input) => {
      seen = input
      return { totalStats: emptyStats(), streamStats: [] }
    })
    await w.start()
    const job = await jobStore.createJob({ configType: 'reset_connection', configId: conn.connectionId, streams: [{ name: 'inc' }] })
    await waitJob(job.id, ['succeeded'])
    await w.stop()
    assert.equal(seen?.emptySource, true)
    assert.deepEqual(seen?.state, [])
    assert.deepEqual(seen?.catalog.streams.map((s) => [s.stream.name, s.syncMode, s.destinationSyncMode, s.generationId, s.minimumGenerationId]), [['inc', 'full_refresh', 'overwrite', 1, 1]])
    assert.deepEqual(await jobStore.getState(conn.connectionId), [])
  })

  test('stop() aborts running attempts: failed (system_error) and the job runnable again at once', async () => {
    const conn = await connection()
    const w = worker(
      (input) =>
        new Promise((_, reject) => {
          input.options.signal.addEventListener('abort', () => reject(new SluiceError('SLUICE_ERR_CANCELLED', 'aborted')))
        }),
    )
    await w.start()
    const job = await jobStore.createJob({ configType: 'sync', configId: conn.connectionId, streams: [] })
    await waitJob(job.id, ['running'])
    await w.stop()
    const after = await jobStore.getJob(job.id)
    assert.equal(after?.status, 'incomplete')
    const [a] = await jobStore.listAttempts(job.id)
    assert.equal(a?.status, 'failed')
    assert.equal(a?.failures[0]?.failureType, 'system_error')
    await jobStore.requestCancel(job.id)
  })

  test('a new job wakes sleeping slots at once (embedded store notifies the worker service)', async () => {
    const conn = await connection()
    const services = createJobServices({ env: { SLUICE_WORKER_POLL_MS: '60000', SLUICE_SCHEDULER_TICK_MS: '3600000' }, scheduler: false })
    const deps = { configStore, jobStore, registry, secrets, context: { dataDir: outDir, localFilesRoot: outDir }, logger: pino({ level: 'silent' }) }
    for (const service of services) await service.start(deps)
    try {
      // Let every slot fall asleep for a minute, then create a job.
      await new Promise((r) => setTimeout(r, 100))
      const t0 = Date.now()
      const job = await jobStore.createJob({ configType: 'sync', configId: conn.connectionId, streams: [] })
      await waitJob(job.id, ['running', 'succeeded', 'failed', 'incomplete'])
      assert.ok(Date.now() - t0 < 2000, `claimed after ${Date.now() - t0} ms`)
      await jobStore.requestCancel(job.id)
      await waitJob(job.id, ['cancelled', 'succeeded', 'failed'])
    } finally {
      for (const service of services.reverse()) await service.stop()
    }
  })

  test('recovery: only expired leases are taken over unless the store is single-process', async () => {
    const conn1 = await connection()
    const conn2 = await connection()
    const expired = await jobStore.createJob({ configType: 'sync', configId: conn1.connectionId, streams: [] })
    const live = await jobStore.createJob({ configType: 'sync', configId: conn2.connectionId, streams: [] })
    // Two attempts held by another worker: one lease long gone, one fresh.
    const c1 = await jobStore.claimNext('dead-worker', 1, Date.now() - 60_000)
    const c2 = await jobStore.claimNext('live-worker', 60_000)
    assert.equal(c1?.job.id, expired.id)
    assert.equal(c2?.job.id, live.id)
    const w = worker(async () => ({ totalStats: emptyStats(), streamStats: [] }))
    assert.equal(await w.recover(false), 1)
    const [lost] = await jobStore.listAttempts(expired.id)
    assert.equal(lost?.status, 'failed')
    assert.match(lost?.failures[0]?.externalMessage ?? '', /worker running this attempt stopped/)
    assert.equal((await jobStore.getJob(expired.id))?.status, 'incomplete')
    assert.equal((await jobStore.getAttempt(live.id, 0))?.status, 'running')
    assert.equal(await w.recover(true), 1, 'single-process: every running attempt is lost')
    assert.equal((await jobStore.getJob(live.id))?.status, 'incomplete')
    for (const id of [expired.id, live.id]) await jobStore.requestCancel(id)
  })
})
