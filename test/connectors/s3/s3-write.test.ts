import assert from 'node:assert/strict'
import { readdir } from 'node:fs/promises'
import { after, before, describe, it } from 'node:test'
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { S3Destination } from '../../../src/connectors/s3/index.js'
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
  zstdNapi,
} from '../../formats/fixtures.js'
import { startS3Server, type S3TestServer } from '../../helpers/s3-server.js'

describe('S3 write', () => {
  let s3: S3TestServer
  let client: S3Client
  const opts = runOptions('/tmp')

  /** The seed's own destination config, verbatim except for the endpoint and bucket path. */
  const seedConfig = (bucketPath = 'bronze/', format: Record<string, unknown> = { format_type: 'Parquet', compression_codec: 'snappy' }) => ({
    s3_bucket_name: 'datalake',
    s3_bucket_path: bucketPath,
    s3_bucket_region: 'us-east-1',
    access_key_id: 'minioadmin',
    secret_access_key: 'minioadmin',
    s3_endpoint: s3.endpoint,
    format,
  })

  async function keys(prefix: string): Promise<string[]> {
    const out: string[] = []
    let token: string | undefined
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: 'datalake', Prefix: prefix, ContinuationToken: token }))
      for (const o of page.Contents ?? []) out.push(o.Key!)
      token = page.NextContinuationToken
    } while (token)
    return out.sort()
  }

  async function body(key: string): Promise<Buffer> {
    const res = await client.send(new GetObjectCommand({ Bucket: 'datalake', Key: key }))
    return Buffer.from(await res.Body!.transformToByteArray())
  }

  before(async () => {
    s3 = await startS3Server('datalake')
    client = new S3Client({
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'minioadmin', secretAccessKey: 'minioadmin' },
    })
  })
  after(async () => {
    client.destroy()
    await s3.close()
  })

  it('lands the seed pipeline as snappy Parquet under bronze/ with Airbyte keys and generation metadata', async () => {
    const dest = new S3Destination()
    const catalog = { streams: [configuredStream('customers', MIXED_SCHEMA, { generationId: 3 })] }
    const states = await collect(dest.write(seedConfig(), catalog, messages(catalog, 120, 50), opts))
    assert.equal(states.length, 3)
    const [key, ...rest] = await keys('bronze/')
    assert.deepEqual(rest, [])
    assert.match(key!, /^bronze\/public\/customers\/\d{4}_\d{2}_\d{2}_\d{13}_0\.parquet$/)
    const head = await client.send(new HeadObjectCommand({ Bucket: 'datalake', Key: key }))
    assert.equal(head.Metadata?.['ab-generation-id'], '3')
    const rows = await readParquet(await body(key!))
    assert.equal(rows.length, 120)
    const source = mixedRows(0, 120)
    assert.deepEqual(rows.map((r) => r.name), source.map((r) => r.name))
    assert.deepEqual(rows.map((r) => r.price), source.map((r) => Number(r.price)))
    assert.ok(rows.every((r) => r._airbyte_generation_id === 3n))
  })

  for (const format of [
    { format_type: 'JSONL', compression: { compression_type: 'GZIP' } },
    { format_type: 'CSV', flattening: 'Root level flattening', compression: { compression_type: 'No Compression' } },
    { format_type: 'Parquet', compression_codec: 'ZSTD' },
    { format_type: 'Parquet', compression_codec: 'gzip' },
    { format_type: 'Parquet' },
  ]) {
    it(`writes ${JSON.stringify(format)} that reads back as the source rows`, async () => {
      const dest = new S3Destination()
      const prefix = `fmt-${Math.random().toString(36).slice(2)}/`
      const catalog = { streams: [configuredStream('orders', MIXED_SCHEMA)] }
      await collect(dest.write(seedConfig(prefix, format), catalog, messages(catalog, 40, 15), opts))
      const [key] = await keys(prefix)
      const bytes = await body(key!)
      const source = mixedRows(0, 40)
      if (format.format_type === 'JSONL') {
        const rows = readJsonl(bytes, true)
        assert.deepEqual(rows.map((r) => r._airbyte_data), source)
      } else if (format.format_type === 'CSV') {
        const rows = readCsv(bytes, false)
        assert.deepEqual(rows.map((r) => r.name), source.map((r) => r.name ?? ''))
        assert.deepEqual(rows.map((r) => JSON.parse(r.extra!)), source.map((r) => r.extra))
      } else {
        const rows = await readParquet(bytes)
        assert.deepEqual(rows.map((r) => r.amount), source.map((r) => r.amount))
        assert.deepEqual(rows.map((r) => r.tags), source.map((r) => JSON.stringify(r.tags)))
      }
    })
  }

  it('lands an Avro/snappy sync as .avro objects that read back as the source rows', async () => {
    const dest = new S3Destination()
    const catalog = { streams: [configuredStream('customers', MIXED_SCHEMA, { generationId: 5, syncId: 77 })] }
    const format = { format_type: 'Avro', compression_codec: { codec: 'snappy' } }
    const states = await collect(dest.write(seedConfig('avro/', format), catalog, messages(catalog, 120, 50), opts))
    assert.deepEqual(states.map((s) => s.data), [{ cursor: 50 }, { cursor: 100 }, { cursor: 150 }])
    const [key, ...rest] = await keys('avro/')
    assert.deepEqual(rest, [])
    assert.match(key!, /^avro\/public\/customers\/\d{4}_\d{2}_\d{2}_\d{13}_0\.avro$/)
    const head = await client.send(new HeadObjectCommand({ Bucket: 'datalake', Key: key }))
    assert.equal(head.Metadata?.['ab-generation-id'], '5')
    const file = await readAvro(await body(key!))
    assert.equal(file.codec, 'snappy')
    assert.equal(file.schema.name, 'customers')
    const source = mixedRows(0, 120)
    assert.equal(file.records.length, 120)
    assert.deepEqual(file.records.map(mixedAvroFields), source.map(mixedRowAsAvro))
    for (const [i, r] of file.records.entries()) {
      assert.equal(r._airbyte_extracted_at, 1_714_557_600_123)
      assert.equal(r._airbyte_generation_id, 5)
      const changes = i === 3 ? [{ field: 'id', change: 'NULLED', reason: 'DESTINATION_SERIALIZATION_ERROR' }] : []
      assert.deepEqual(r._airbyte_meta, { sync_id: 77, changes })
    }
    assert.equal(new Set(file.records.map((r) => r._airbyte_raw_id)).size, 120)
  })

  for (const codec of [{ codec: 'no compression' }, { codec: 'Deflate', compression_level: 6 }, { codec: 'zstandard', compression_level: 3, include_checksum: true }]) {
    it(`rotates Avro parts (${codec.codec}) into complete files that hold every row once`, { skip: codec.codec === 'zstandard' && !zstdNapi ? 'zstd-napi not installed' : false }, async () => {
      // Part bytes grow a block (1 MB) at a time, so a row bound makes the rotation here.
      const dest = new S3Destination({ maxPartRows: 1000 })
      const prefix = `avro-rot-${codec.codec.replace(' ', '-')}/`
      const catalog = { streams: [configuredStream('orders', MIXED_SCHEMA)] }
      await collect(dest.write(seedConfig(prefix, { format_type: 'Avro', compression_codec: codec }), catalog, messages(catalog, 3000, 250), opts))
      const all = await keys(prefix)
      assert.equal(all.length, 3)
      const records = []
      for (const [n, k] of all.entries()) {
        assert.match(k, new RegExp(`_${n}\\.avro$`))
        const file = await readAvro(await body(k))
        assert.equal(file.codec, codec.codec === 'no compression' ? 'null' : codec.codec.toLowerCase())
        records.push(...file.records)
      }
      assert.deepEqual(records.map(mixedAvroFields), mixedRows(0, 3000).map(mixedRowAsAvro))
    })
  }

  it('expands every path format variable once per sync and rotates parts by size', async () => {
    const dest = new S3Destination({ maxPartBytes: 20_000 })
    const catalog = { streams: [configuredStream('évé nts', MIXED_SCHEMA, { namespace: 'app', syncId: 11 })] }
    const config = {
      ...seedConfig('vars', { format_type: 'JSONL', compression: { compression_type: 'No Compression' } }),
      s3_path_format: '${NAMESPACE}/${STREAM_NAME}/${YEAR}/${MONTH}/${DAY}/${HOUR}${MINUTE}${SECOND}_${MILLISECOND}_${EPOCH}/${UUID}/',
      file_name_pattern: '{date}_{date:yyyy_MM}_s{sync_id}_p{part_number}_{timestamp}{format_extension}',
    }
    const before = Date.now()
    await collect(dest.write(config, catalog, messages(catalog, 200, 20), opts))
    const all = await keys('vars/')
    assert.ok(all.length >= 3, `expected several parts, got ${all.length}`)
    const re =
      /^vars\/app\/eve_nts\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})(\d{2})(\d{2})_(\d{4})_(\d{13})\/([0-9a-f-]{36})\/(\d{4})_(\d{2})_(\d{2})_(\d{4})_(\d{2})_s11_p(\d+)_(\d{13})\.jsonl$/
    const dirs = new Set<string>()
    const parts: number[] = []
    for (const k of all) {
      const m = re.exec(k)
      assert.ok(m, k)
      const epoch = Number(m[8])
      assert.ok(epoch >= before - 5 && epoch <= Date.now(), 'EPOCH is the sync start')
      const start = new Date(epoch)
      assert.equal(m[1], String(start.getUTCFullYear()))
      assert.equal(Number(m[2]), start.getUTCMonth() + 1)
      assert.equal(Number(m[7]), start.getUTCMilliseconds())
      dirs.add(k.slice(0, k.lastIndexOf('/')))
      parts.push(Number(m[15]))
    }
    assert.equal(dirs.size, 1, 'time variables and UUID are fixed for the whole sync')
    assert.deepEqual(parts.sort((a, b) => a - b), [...parts.keys()])
    let rows = 0
    for (const k of all) rows += readJsonl(await body(k), false).length
    assert.equal(rows, 200)
  })

  it('overwrite deletes older generations after COMPLETE; append keeps them', async () => {
    const dest = new S3Destination()
    const config = seedConfig('gen/', { format_type: 'JSONL' })
    const cat = (generationId: number, mode: 'overwrite' | 'append') => ({ streams: [configuredStream('g', MIXED_SCHEMA, { generationId, mode })] })
    await collect(dest.write(config, cat(1, 'append'), messages(cat(1, 'append'), 5, 5), opts))
    await new Promise((r) => setTimeout(r, 3))
    await collect(dest.write(config, cat(1, 'append'), messages(cat(1, 'append'), 5, 5), opts))
    assert.equal((await keys('gen/')).length, 2)
    // Another stream under the same bucket path must survive g's overwrite.
    await collect(dest.write(config, { streams: [configuredStream('other', MIXED_SCHEMA, { mode: 'append' })] }, messages({ streams: [configuredStream('other', MIXED_SCHEMA)] }, 2, 2), opts))

    // Overwrite of generation 2: until COMPLETE the two old objects stay (the new one is still uploading).
    const input = messages(cat(2, 'overwrite'), 4, 2)
    const seenBeforeComplete: number[] = []
    const spy = async function* (): AsyncGenerator<DestinationMessage> {
      for await (const m of input) {
        if (m.type === 'STREAM_STATUS') seenBeforeComplete.push((await keys('gen/public/g/')).length)
        yield m
      }
    }
    await collect(dest.write(config, cat(2, 'overwrite'), spy(), opts))
    assert.deepEqual(seenBeforeComplete, [2])
    const left = await keys('gen/public/g/')
    assert.equal(left.length, 1)
    const head = await client.send(new HeadObjectCommand({ Bucket: 'datalake', Key: left[0] }))
    assert.equal(head.Metadata?.['ab-generation-id'], '2')
    assert.equal((await keys('gen/public/other/')).length, 1)
  })

  it('a sync interrupted in the middle of a multipart upload leaves no object', async () => {
    const dest = new S3Destination()
    const catalog = { streams: [configuredStream('big', MIXED_SCHEMA)] }
    let sent = 0
    const failing = async function* (): AsyncGenerator<DestinationMessage> {
      // About 12 MB of JSONL: an 8 MB part is uploaded before the failure.
      for (let i = 0; i < 30; i++) {
        yield rowBatch({ name: 'big', namespace: 'public' }, mixedRows(i * 1000, 1000))
        sent++
      }
      throw new Error('source connection lost')
    }
    const config = seedConfig('interrupted/', { format_type: 'JSONL', compression: { compression_type: 'No Compression' } })
    await assert.rejects(collect(dest.write(config, catalog, failing(), opts)), /source connection lost/)
    assert.equal(sent, 30)
    assert.deepEqual(await keys('interrupted/'), [])
    // s3rver keeps in-progress multipart parts as files: none may be left behind.
    const leftovers = (await readdir(s3.directory, { recursive: true })).filter((f) => String(f).includes('interrupted'))
    assert.deepEqual(leftovers, [])

    // A cancel mid-upload behaves the same.
    const controller = new AbortController()
    const endless = async function* (): AsyncGenerator<DestinationMessage> {
      for (let i = 0; ; i++) {
        if (i === 20) controller.abort()
        yield rowBatch({ name: 'big', namespace: 'public' }, mixedRows(i * 1000, 1000))
      }
    }
    await assert.rejects(collect(dest.write(config, catalog, endless(), runOptions('/tmp', controller.signal))), /cancelled/)
    assert.deepEqual(await keys('interrupted/'), [])
  })

  it('completes a multi-part upload of a large object', async () => {
    const dest = new S3Destination()
    const catalog = { streams: [configuredStream('large', MIXED_SCHEMA)] }
    const config = seedConfig('large/', { format_type: 'JSONL', compression: { compression_type: 'No Compression' } })
    await collect(dest.write(config, catalog, messages(catalog, 25_000, 5_000), opts))
    const [key] = await keys('large/')
    const bytes = await body(key!)
    assert.ok(bytes.length > 10 * 1024 * 1024, `object is ${bytes.length} bytes`)
    const rows = readJsonl(bytes, false)
    assert.equal(rows.length, 25_000)
    assert.deepEqual(rows[24_999]!._airbyte_data, mixedRows(24_999, 1)[0])
  })

  it('fails a sync with a readable config error when the bucket is missing', async () => {
    const dest = new S3Destination()
    const catalog = { streams: [configuredStream('x', MIXED_SCHEMA)] }
    await assert.rejects(
      collect(dest.write({ ...seedConfig(), s3_bucket_name: 'missing' }, catalog, messages(catalog, 5, 5), opts)),
      (e: Error & { code?: string }) => e.code === 'SLUICE_ERR_CONNECTOR_CONFIG' && /Bucket "missing" does not exist/.test(e.message),
    )
  })
})
