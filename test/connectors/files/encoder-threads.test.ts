import { existsSync } from 'node:fs'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { type FileWriteSettings, LocalFileStore, writeFiles } from '../../../src/connectors/files/index.js'
import { DEFAULT_FILE_NAME_PATTERN } from '../../../src/connectors/files/path-format.js'
import { EncoderPool } from '../../../src/formats/encoder-pool.js'
import type { FormatConfig } from '../../../src/formats/index.js'
import type { ConfiguredCatalog, DestinationMessage, JsonSchema, RecordBatch, StateMessage } from '../../../src/protocol/index.js'
import { collect, configuredStream, readJsonl, readParquet, runOptions } from '../../formats/fixtures.js'

/**
 * writeFiles with encoder threads: COPY text batches (as the Postgres source emits them) are
 * encoded in worker threads; a large stream is spread over concurrent parts, one per thread.
 */

// Two threads whatever the machine (the default leaves one core to the main thread); read lazily.
process.env.SLUICE_ENCODER_THREADS = '2'

const SCHEMA: JsonSchema = { type: 'object', properties: { id: { type: 'integer' }, name: { type: ['null', 'string'] } } }
const STREAM = { name: 'big', namespace: 'public' }

/** A COPY text batch of ids [start, start + n): `id<TAB>name` with escapes and NULLs. */
function copyBatch(start: number, n: number): RecordBatch {
  let text = ''
  for (let i = start; i < start + n; i++) text += `${i}\t${i % 10 === 0 ? '\\N' : `row ${i}\\ttab`}\n`
  const data = Buffer.from(text)
  return {
    type: 'RECORD_BATCH',
    stream: STREAM,
    emittedAt: 1_714_557_600_123,
    count: n,
    bytes: data.length,
    pgCopyText: { columns: ['id', 'name'], pgTypes: ['bigint', 'text'], data },
    rows() {
      throw new Error('the thread path must not decode rows')
    },
  }
}

async function* input(rows: number, batch: number, onState?: (cursor: number) => void): AsyncGenerator<DestinationMessage> {
  for (let start = 0; start < rows; start += batch) {
    yield copyBatch(start, Math.min(batch, rows - start))
    onState?.(start + batch)
    yield { type: 'STATE', stream: STREAM, data: { cursor: start + batch } }
  }
  yield { type: 'STREAM_STATUS', stream: STREAM, status: 'COMPLETE' }
}

function settings(format: FormatConfig, extra: Partial<FileWriteSettings> = {}): FileWriteSettings {
  return {
    basePath: '',
    pathFormat: '${STREAM_NAME}/',
    fileNamePattern: DEFAULT_FILE_NAME_PATTERN,
    format,
    maxPartBytes: 1 << 30,
    maxPartRows: 10_000_000,
    stateFlushMs: 60_000,
    encodeInThreads: true,
    parallelPartsAfterBytes: 64 * 1024,
    ...extra,
  }
}

const PARQUET: FormatConfig = { type: 'Parquet', codec: 'SNAPPY', blockSizeMb: 1, pageSizeKb: 64, dictionaryEncoding: true }
const JSONL: FormatConfig = { type: 'JSONL', gzip: true, flatten: true }

describe('encoder threads', () => {
  let root: string
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'sluice-threads-'))
  })
  after(async () => {
    await rm(root, { recursive: true, force: true })
  })

  async function files(dir: string): Promise<string[]> {
    return (await readdir(path.join(root, dir, 'big'))).filter((f) => !f.startsWith('.'))
  }

  for (const format of [PARQUET, JSONL]) {
    it(`spreads a large stream over concurrent ${format.type} parts with every row exactly once`, async () => {
      const dir = `spread-${format.type}`
      const catalog: ConfiguredCatalog = { streams: [configuredStream('big', SCHEMA)] }
      const store = new LocalFileStore(path.join(root, dir))
      const released: StateMessage[] = []
      const seenWhenReleased: number[] = []
      for await (const s of writeFiles(store, settings(format), catalog, input(60_000, 2_000), runOptions(root))) {
        released.push(s)
        seenWhenReleased.push(existsSync(path.join(root, dir, 'big')) ? (await files(dir)).length : 0)
      }
      assert.equal(released.length, 30)
      assert.deepEqual(released.at(-1)!.data, { cursor: 60_000 })
      // States are held until the parts with their records are complete: none passed before a file existed.
      assert.ok(seenWhenReleased.every((n) => n > 0))
      const names = await files(dir)
      assert.ok(names.length >= 2, `expected concurrent parts, got ${names.join(', ')}`)
      const ids = new Set<number>()
      let total = 0
      for (const name of names) {
        const bytes = await readFile(path.join(root, dir, 'big', name))
        const rows = format.type === 'Parquet' ? await readParquet(bytes) : readJsonl(bytes, true)
        for (const r of rows) {
          const id = Number(r.id)
          ids.add(id)
          total++
          assert.equal(r.name, id % 10 === 0 ? null : `row ${id}\ttab`)
          assert.equal(Number(r._airbyte_generation_id), 1)
        }
      }
      assert.equal(total, 60_000)
      assert.equal(ids.size, 60_000)
    })
  }

  it('rotates parts in the background and passes each STATE only once its records are in complete files', async () => {
    const catalog: ConfiguredCatalog = { streams: [configuredStream('big', SCHEMA)] }
    const store = new LocalFileStore(path.join(root, 'rotated'))
    const format: FormatConfig = { type: 'JSONL', gzip: false, flatten: true }
    const limits = { maxPartBytes: 150_000, parallelPartsAfterBytes: 1 << 30 }
    let released = 0
    for await (const state of writeFiles(store, settings(format, limits), catalog, input(40_000, 2_000), runOptions(root))) {
      const cursor = (state.data as { cursor: number }).cursor
      const ids = new Set<number>()
      for (const name of await files('rotated')) {
        for (const r of readJsonl(await readFile(path.join(root, 'rotated', 'big', name)), false)) ids.add(Number(r.id))
      }
      for (let id = 0; id < Math.min(cursor, 40_000); id++) assert.ok(ids.has(id), `state ${cursor} passed before record ${id} was in a complete file`)
      released++
    }
    assert.equal(released, 20)
    // Bytes come back from the thread after write() returns: rotation lags by up to two batches.
    const rotated = (await files('rotated')).length
    assert.ok(rotated >= 4, `only ${rotated} file(s)`)
  })

  it('keeps a small stream in one part', async () => {
    const catalog: ConfiguredCatalog = { streams: [configuredStream('big', SCHEMA)] }
    const store = new LocalFileStore(path.join(root, 'small'))
    const states = await collect(writeFiles(store, settings(PARQUET, { parallelPartsAfterBytes: 32 << 20 }), catalog, input(20_000, 2_000), runOptions(root)))
    assert.equal(states.length, 10)
    const names = await files('small')
    assert.equal(names.length, 1)
    assert.equal((await readParquet(await readFile(path.join(root, 'small', 'big', names[0]!)))).length, 20_000)
  })

  it('a sync cancelled while threads encode leaves no file and no state', async () => {
    const catalog: ConfiguredCatalog = { streams: [configuredStream('big', SCHEMA)] }
    const store = new LocalFileStore(path.join(root, 'cancelled'))
    const controller = new AbortController()
    const cancelAt = (cursor: number): void => {
      if (cursor >= 30_000) controller.abort()
    }
    const states: StateMessage[] = []
    await assert.rejects(
      (async () => {
        for await (const s of writeFiles(store, settings(PARQUET), catalog, input(60_000, 2_000, cancelAt), runOptions(root, controller.signal))) states.push(s)
      })(),
      (e: Error & { code?: string }) => e.code === 'SLUICE_ERR_CANCELLED',
    )
    assert.equal(states.length, 0)
    // The stream's directory may never have been created; any other read error fails the test.
    const cancelledDir = path.join(root, 'cancelled', 'big')
    const left = existsSync(cancelledDir) ? await readdir(cancelledDir) : []
    assert.deepEqual(left, [])
  })

  it('a thread path failure fails the sync and discards the parts', async () => {
    const catalog: ConfiguredCatalog = { streams: [configuredStream('big', SCHEMA)] }
    const store = new LocalFileStore(path.join(root, 'failed'))
    async function* broken(): AsyncGenerator<DestinationMessage> {
      yield copyBatch(0, 1000)
      // A JSONL thread fails on an impossible column count (it has no decoded rows to fall back on).
      const bad = copyBatch(1000, 1000)
      yield { ...bad, pgCopyText: { ...bad.pgCopyText!, data: Buffer.from('1\tx\tEXTRA\n'.repeat(1000)) } }
      yield copyBatch(2000, 1000)
      yield { type: 'STREAM_STATUS', stream: STREAM, status: 'COMPLETE' }
    }
    await assert.rejects(
      collect(writeFiles(store, settings(JSONL), catalog, broken(), runOptions(root))),
      (e: Error & { code?: string }) => e.code === 'SLUICE_ERR_CONNECTOR_SYSTEM' && /decoded rows are not available/.test(e.message),
    )
    const failedDir = path.join(root, 'failed', 'big')
    const left = existsSync(failedDir) ? await readdir(failedDir) : []
    assert.deepEqual(left, [])
  })

  it('ends an idle thread and starts a new one on demand', async () => {
    const pool = new EncoderPool(1, 50)
    for (let round = 0; round < 2; round++) {
      const chunks: Uint8Array[] = []
      const encoder = pool.open(async (c) => {
        chunks.push(c)
      }, { syncId: 1, generationId: 1 }, [], JSONL)
      await encoder.write(copyBatch(0, 10))
      await encoder.end()
      assert.equal(Buffer.concat(chunks).toString().split('\n').filter(Boolean).length, 10)
      assert.equal(pool.threadCount, 1)
      await new Promise((resolve) => setTimeout(resolve, 300))
      assert.equal(pool.threadCount, 0)
    }
  })
})
