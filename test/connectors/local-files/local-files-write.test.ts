import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { LocalFilesDestination } from '../../../src/connectors/local-files/index.js'
import { type DestinationMessage, rowBatch } from '../../../src/protocol/index.js'
import {
  MIXED_SCHEMA,
  collect,
  configuredStream,
  messages,
  mixedAvroFields,
  mixedRowAsAvro,
  mixedRows,
  readAvro,
  readCsv,
  readJsonl,
  readParquet,
  runOptions,
} from '../../formats/fixtures.js'

/** Every file below `dir` (relative, `/`-separated), hidden ones included. */
async function walk(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = []
  let entries
  try {
    entries = await readdir(path.join(dir, rel), { withFileTypes: true })
  } catch {
    return out
  }
  for (const e of entries) {
    const p = rel ? `${rel}/${e.name}` : e.name
    if (e.isDirectory()) out.push(...(await walk(dir, p)))
    else out.push(p)
  }
  return out.sort()
}

const visible = (files: string[]): string[] => files.filter((f) => !path.basename(f).startsWith('.'))

describe('Local Files write', () => {
  let root: string
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'sluice-lfw-'))
  })
  after(async () => {
    await rm(root, { recursive: true, force: true })
  })

  it('writes Parquet/snappy by default in the S3 layout with typed columns and Airbyte columns', async () => {
    const dest = new LocalFilesDestination()
    const catalog = { streams: [configuredStream('users', MIXED_SCHEMA, { syncId: 42 })] }
    const states = await collect(dest.write({ destination_path: 'default' }, catalog, messages(catalog, 25, 10), runOptions(root)))
    assert.deepEqual(states.map((s) => s.data), [{ cursor: 10 }, { cursor: 20 }, { cursor: 30 }])
    const files = visible(await walk(path.join(root, 'default')))
    assert.equal(files.length, 1)
    assert.match(files[0]!, /^public\/users\/\d{4}_\d{2}_\d{2}_\d{13}_0\.parquet$/)
    const rows = await readParquet(await readFile(path.join(root, 'default', files[0]!)))
    const source = mixedRows(0, 25)
    assert.equal(rows.length, 25)
    for (let i = 0; i < 25; i++) {
      const r = rows[i]!
      const s = source[i]!
      assert.match(String(r._airbyte_raw_id), /^[0-9a-f-]{36}$/)
      assert.equal((r._airbyte_extracted_at as Date).getTime(), 1_714_557_600_123)
      assert.equal(r._airbyte_generation_id, 1n)
      const meta = r._airbyte_meta as { sync_id: bigint; changes: unknown[] }
      assert.equal(meta.sync_id, 42n)
      if (i === 3) {
        assert.equal(r.id, null)
        assert.deepEqual(meta.changes, [{ field: 'id', change: 'NULLED', reason: 'DESTINATION_SERIALIZATION_ERROR' }])
      } else {
        assert.equal(r.id, BigInt(s.id as number))
        assert.deepEqual(meta.changes, [])
      }
      assert.equal(r.name, s.name)
      assert.equal(r.amount, s.amount)
      assert.equal(r.price, Number(s.price))
      assert.equal(r.active, s.active)
      assert.equal((r.born as Date).toISOString().slice(0, 10), s.born)
      assert.equal((r.created_at as Date).getTime(), Date.parse(s.created_at as string))
      assert.equal(r.at, 45_296_789_000n)
      assert.deepEqual(JSON.parse(r.tags as string), s.tags)
      assert.deepEqual(JSON.parse(r.extra as string), s.extra)
    }
  })

  for (const codec of ['UNCOMPRESSED', 'snappy', 'Gzip', 'zstd']) {
    it(`writes Parquet with codec ${codec} that an independent reader decodes`, async () => {
      const dest = new LocalFilesDestination()
      const catalog = { streams: [configuredStream('c', MIXED_SCHEMA)] }
      const dir = `codec-${codec}`
      await collect(dest.write({ destination_path: dir, format: { format_type: 'Parquet', compression_codec: codec } }, catalog, messages(catalog, 300, 100), runOptions(root)))
      const [file] = visible(await walk(path.join(root, dir)))
      const bytes = await readFile(path.join(root, dir, file!))
      const rows = await readParquet(bytes)
      assert.equal(rows.length, 300)
      assert.deepEqual(rows.map((r) => r.amount), mixedRows(0, 300).map((r) => r.amount))
    })
  }

  for (const codec of [undefined, { codec: 'Deflate' }, { codec: 'snappy' }]) {
    it(`writes Avro (${codec?.codec ?? 'no compression_codec'}) that an independent reader decodes as the source rows`, async () => {
      const dest = new LocalFilesDestination()
      const catalog = { streams: [configuredStream('people', MIXED_SCHEMA, { namespace: 'crm', syncId: 9, generationId: 4 })] }
      const dir = `avro-${codec?.codec ?? 'default'}`
      const format = codec ? { format_type: 'Avro', compression_codec: codec } : { format_type: 'avro' }
      const states = await collect(dest.write({ destination_path: dir, format }, catalog, messages(catalog, 60, 25), runOptions(root)))
      assert.equal(states.length, 3)
      const files = visible(await walk(path.join(root, dir)))
      assert.equal(files.length, 1)
      assert.match(files[0]!, /^crm\/people\/\d{4}_\d{2}_\d{2}_\d{13}_0\.avro$/)
      const file = await readAvro(await readFile(path.join(root, dir, files[0]!)))
      assert.equal(file.codec, codec ? codec.codec.toLowerCase() : 'null')
      assert.equal(file.schema.namespace, 'crm')
      assert.deepEqual(file.records.map(mixedAvroFields), mixedRows(0, 60).map(mixedRowAsAvro))
      assert.ok(file.records.every((r) => r._airbyte_generation_id === 4 && (r._airbyte_meta as { sync_id: number }).sync_id === 9))
    })
  }

  it('fails a sync with an Avro codec sluice does not write, leaving no file', async () => {
    const dest = new LocalFilesDestination()
    const catalog = { streams: [configuredStream('x', MIXED_SCHEMA)] }
    const format = { format_type: 'Avro', compression_codec: { codec: 'xz' } }
    await assert.rejects(collect(dest.write({ destination_path: 'avro-xz', format }, catalog, messages(catalog, 5, 5), runOptions(root))), /Avro codec "xz" is not supported by sluice/)
    assert.deepEqual(await walk(path.join(root, 'avro-xz')), [])
  })

  for (const gzip of [true, false]) {
    for (const flatten of [true, false]) {
      it(`writes JSONL (gzip ${gzip}, flattening ${flatten}) that reads back as the source rows`, async () => {
        const dest = new LocalFilesDestination()
        const catalog = { streams: [configuredStream('j', MIXED_SCHEMA, { syncId: 9 })] }
        const dir = `jsonl-${gzip}-${flatten}`
        const format = {
          format_type: 'JSONL',
          flattening: flatten ? 'Root level flattening' : 'No flattening',
          compression: { compression_type: gzip ? 'GZIP' : 'No Compression' },
        }
        await collect(dest.write({ destination_path: dir, format }, catalog, messages(catalog, 50, 20), runOptions(root)))
        const [file] = visible(await walk(path.join(root, dir)))
        assert.ok(file!.endsWith(gzip ? '.jsonl.gz' : '.jsonl'), file)
        const rows = readJsonl(await readFile(path.join(root, dir, file!)), gzip)
        const source = mixedRows(0, 50)
        assert.equal(rows.length, 50)
        for (let i = 0; i < 50; i++) {
          const r = rows[i]!
          assert.deepEqual(Object.keys(r).slice(0, 4), ['_airbyte_raw_id', '_airbyte_extracted_at', '_airbyte_meta', '_airbyte_generation_id'])
          assert.equal(r._airbyte_extracted_at, 1_714_557_600_123)
          assert.deepEqual(r._airbyte_meta, { sync_id: 9, changes: [] })
          assert.equal(r._airbyte_generation_id, 1)
          const { _airbyte_raw_id, _airbyte_extracted_at, _airbyte_meta, _airbyte_generation_id, ...data } = r
          assert.deepEqual(flatten ? data : data._airbyte_data, source[i])
        }
      })
    }
  }

  for (const gzip of [true, false]) {
    for (const flatten of [true, false]) {
      it(`writes CSV (gzip ${gzip}, flattening ${flatten}) with a header and JSON for nested values`, async () => {
        const dest = new LocalFilesDestination()
        const catalog = { streams: [configuredStream('k', MIXED_SCHEMA)] }
        const dir = `csv-${gzip}-${flatten}`
        const format = {
          format_type: 'csv',
          flattening: flatten ? 'Root level flattening' : 'No flattening',
          compression: { compression_type: gzip ? 'GZIP' : 'No Compression' },
        }
        await collect(dest.write({ destination_path: dir, format }, catalog, messages(catalog, 30, 7), runOptions(root)))
        const [file] = visible(await walk(path.join(root, dir)))
        assert.ok(file!.endsWith(gzip ? '.csv.gz' : '.csv'), file)
        const rows = readCsv(await readFile(path.join(root, dir, file!)), gzip)
        const source = mixedRows(0, 30)
        assert.equal(rows.length, 30)
        for (let i = 0; i < 30; i++) {
          const r = rows[i]!
          const s = source[i]!
          assert.equal(r._airbyte_extracted_at, '1714557600123')
          assert.deepEqual(JSON.parse(r._airbyte_meta!), { sync_id: 7, changes: [] })
          if (!flatten) {
            assert.deepEqual(JSON.parse(r._airbyte_data!), s)
            continue
          }
          assert.equal(r.id, String(s.id))
          assert.equal(r.name, s.name ?? '')
          assert.equal(r.active, String(s.active))
          assert.deepEqual(JSON.parse(r.extra!), s.extra)
          assert.deepEqual(JSON.parse(r.tags!), s.tags)
        }
      })
    }
  }

  it('rotates parts by rows, numbering them from 0 with the file name pattern', async () => {
    const dest = new LocalFilesDestination({ maxPartRows: 10 })
    const catalog = { streams: [configuredStream('r', MIXED_SCHEMA, { namespace: '', syncId: 5 })] }
    const config = {
      destination_path: 'rotate',
      format: { format_type: 'JSONL', compression: { compression_type: 'No Compression' } },
      path_format: 'x/${STREAM_NAME}/${YEAR}/',
      file_name_pattern: 'part-{part_number}-sync{sync_id}{format_extension}',
    }
    await collect(dest.write(config, catalog, messages(catalog, 35, 5), runOptions(root)))
    const year = new Date().getUTCFullYear()
    const files = visible(await walk(path.join(root, 'rotate')))
    assert.deepEqual(files, [0, 1, 2, 3].map((n) => `x/r/${year}/part-${n}-sync5.jsonl`))
    let total = 0
    for (const f of files) total += readJsonl(await readFile(path.join(root, 'rotate', f)), false).length
    assert.equal(total, 35)
  })

  it('continues part numbers after existing files in the same directory', async () => {
    const dest = new LocalFilesDestination()
    const catalog = { streams: [configuredStream('p', MIXED_SCHEMA, { mode: 'append' })] }
    const config = { destination_path: 'parts', format: { format_type: 'JSONL' }, path_format: '${STREAM_NAME}/' }
    await collect(dest.write(config, catalog, messages(catalog, 3, 3), runOptions(root)))
    await collect(dest.write(config, catalog, messages(catalog, 3, 3), runOptions(root)))
    assert.deepEqual(visible(await walk(path.join(root, 'parts'))), ['p/0.jsonl.gz', 'p/1.jsonl.gz'])
  })

  it('overwrite removes older generations only after COMPLETE; append keeps them', async () => {
    const dest = new LocalFilesDestination()
    const config = { destination_path: 'gens', format: { format_type: 'JSONL' } }
    const gen = (generationId: number, mode: 'overwrite' | 'append') => ({ streams: [configuredStream('g', MIXED_SCHEMA, { generationId, mode })] })
    await collect(dest.write(config, gen(1, 'overwrite'), messages(gen(1, 'overwrite'), 4, 2), runOptions(root)))
    await new Promise((r) => setTimeout(r, 5))
    await collect(dest.write(config, gen(1, 'append'), messages(gen(1, 'append'), 4, 2), runOptions(root)))
    assert.equal(visible(await walk(path.join(root, 'gens'))).length, 2)

    // A failed overwrite attempt of generation 2 (no COMPLETE) deletes nothing.
    const failing = async function* (): AsyncGenerator<DestinationMessage> {
      yield rowBatch({ name: 'g', namespace: 'public' }, mixedRows(0, 2))
      throw new Error('source died')
    }
    await assert.rejects(collect(dest.write(config, gen(2, 'overwrite'), failing(), runOptions(root))), /source died/)
    assert.equal(visible(await walk(path.join(root, 'gens'))).length, 2)

    await new Promise((r) => setTimeout(r, 5))
    await collect(dest.write(config, gen(2, 'overwrite'), messages(gen(2, 'overwrite'), 6, 3), runOptions(root)))
    const files = visible(await walk(path.join(root, 'gens')))
    assert.equal(files.length, 1)
    const rows = readJsonl(await readFile(path.join(root, 'gens', files[0]!)), true)
    assert.equal(rows.length, 6)
    assert.ok(rows.every((r) => r._airbyte_generation_id === 2))
  })

  it('passes a STATE on only after the file holding its records is renamed into place', async () => {
    const dest = new LocalFilesDestination({ stateFlushMs: 0 })
    const catalog = { streams: [configuredStream('s', MIXED_SCHEMA, { mode: 'append' })] }
    const dir = path.join(root, 'durable')
    let seen = 0
    for await (const state of dest.write({ destination_path: 'durable', format: { format_type: 'JSONL' } }, catalog, messages(catalog, 9, 3), runOptions(root))) {
      seen++
      const files = visible(await walk(dir))
      let rows = 0
      for (const f of files) rows += readJsonl(await readFile(path.join(dir, f)), true).length
      assert.ok(rows >= (state.data as { cursor: number }).cursor, `state ${JSON.stringify(state.data)} passed with only ${rows} rows durable`)
      assert.deepEqual((await walk(dir)).filter((f) => f.endsWith('.sluice-tmp')), [])
    }
    assert.equal(seen, 3)
  })

  it('leaves no partial file visible when the sync fails or is cancelled mid-stream', async () => {
    const dest = new LocalFilesDestination()
    const catalog = { streams: [configuredStream('f', MIXED_SCHEMA)] }
    const failing = async function* (): AsyncGenerator<DestinationMessage> {
      for (let i = 0; i < 5; i++) yield rowBatch({ name: 'f', namespace: 'public' }, mixedRows(i * 100, 100))
      throw new Error('boom')
    }
    await assert.rejects(collect(dest.write({ destination_path: 'fail' }, catalog, failing(), runOptions(root))), /boom/)
    assert.deepEqual(await walk(path.join(root, 'fail')), [])

    const controller = new AbortController()
    const endless = async function* (): AsyncGenerator<DestinationMessage> {
      for (let i = 0; ; i++) {
        if (i === 3) controller.abort()
        yield rowBatch({ name: 'f', namespace: 'public' }, mixedRows(i * 100, 100))
      }
    }
    await assert.rejects(collect(dest.write({ destination_path: 'cancel' }, catalog, endless(), runOptions(root, controller.signal))), /cancelled/)
    assert.deepEqual(await walk(path.join(root, 'cancel')), [])
  })

  it('rejects a destination_path outside the root before writing anything', async () => {
    const dest = new LocalFilesDestination()
    const catalog = { streams: [configuredStream('t', MIXED_SCHEMA)] }
    await assert.rejects(collect(dest.write({ destination_path: '../../etc' }, catalog, messages(catalog, 1, 1), runOptions(root))), /path traversal/)
    await assert.rejects(stat(path.join(root, '..', '..', 'etc', 'public')))
  })
  it('refuses stream names and path formats that would lead outside destination_path', async () => {
    const dest = new LocalFilesDestination()
    const evil = { streams: [configuredStream('../../../escape', MIXED_SCHEMA, { namespace: '' })] }
    await assert.rejects(collect(dest.write({ destination_path: 'inside' }, evil, messages(evil, 2, 2), runOptions(root))), /path traversal/)
    const catalog = { streams: [configuredStream('ok', MIXED_SCHEMA)] }
    await assert.rejects(
      collect(dest.write({ destination_path: 'inside', path_format: '../../${STREAM_NAME}/' }, catalog, messages(catalog, 2, 2), runOptions(root))),
      /path traversal/,
    )
    assert.deepEqual(await walk(path.join(root, '..', 'escape')), [])
  })
})

