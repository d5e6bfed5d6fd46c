import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { Source } from '../../../src/protocol/index.js'
import { localFilesDefinition } from '../../../src/connectors/local-files/index.js'
import { s3Definition } from '../../../src/connectors/s3/index.js'
import { runAttempt } from '../../../src/engine/index.js'
import { type ConfiguredCatalog, rowBatch, type SourceMessage, type StateMessage } from '../../../src/protocol/index.js'
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { MIXED_SCHEMA, configuredStream, mixedAvroFields, mixedRowAsAvro, mixedRows, readAvro, readParquet, runOptions } from '../../formats/fixtures.js'
import { startS3Server, type S3TestServer } from '../../helpers/s3-server.js'

const ROWS = 5_000
const BATCH = 1_000

/** A source of ROWS mixed rows in batches, with a STATE after each batch. */
const source: Source = {
  spec: { connectionSpecification: {} },
  async check() {
    return { status: 'succeeded', message: 'ok' }
  },
  async discover() {
    return { streams: [] }
  },
  async *read(_config, catalog): AsyncIterable<SourceMessage> {
    for (const s of catalog.streams) {
      const d = { name: s.stream.name, namespace: s.stream.namespace }
      for (let start = 0; start < ROWS; start += BATCH) {
        yield rowBatch(d, mixedRows(start, BATCH))
        yield { type: 'STATE', stream: d, data: { cursor: start + BATCH } }
      }
    }
  },
}

describe('Local Files and S3 through the engine (runAttempt)', () => {
  let root: string
  let s3: S3TestServer
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'sluice-lf-engine-'))
    s3 = await startS3Server()
  })
  after(async () => {
    await s3.close()
    await rm(root, { recursive: true, force: true })
  })

  const catalog: ConfiguredCatalog = { streams: [configuredStream('users', MIXED_SCHEMA)] }

  it('writes Parquet files and commits every state', async () => {
    const committed: StateMessage[] = []
    const result = await runAttempt({
      source,
      sourceConfig: {},
      destination: localFilesDefinition.destination,
      destinationConfig: { destination_path: 'engine' },
      catalog,
      mapping: { namespaceDefinition: 'source' },
      state: [],
      options: runOptions(root),
      onStateCommitted: async (states) => {
        committed.push(...states)
      },
    })
    assert.equal(result.totalStats.recordsCommitted, ROWS)
    assert.deepEqual(committed.at(-1)?.data, { cursor: ROWS })
    const dir = path.join(root, 'engine', 'public', 'users')
    const files = (await readdir(dir)).filter((f) => !f.startsWith('.'))
    let rows = 0
    for (const f of files) rows += (await readParquet(await readFile(path.join(dir, f)))).length
    assert.equal(rows, ROWS)
  })

  it('lands the rows in S3 with the seed config', async () => {
    const committed: StateMessage[] = []
    const result = await runAttempt({
      source,
      sourceConfig: {},
      destination: s3Definition.destination,
      destinationConfig: {
        s3_bucket_name: s3.bucket,
        s3_bucket_path: 'bronze/',
        s3_bucket_region: 'us-east-1',
        access_key_id: 'minioadmin',
        secret_access_key: 'minioadmin',
        s3_endpoint: s3.endpoint,
        format: { format_type: 'Parquet', compression_codec: 'snappy' },
      },
      catalog,
      mapping: { namespaceDefinition: 'source' },
      state: [],
      options: runOptions(root),
      onStateCommitted: async (states) => {
        committed.push(...states)
      },
    })
    assert.equal(result.totalStats.recordsCommitted, ROWS)
    assert.deepEqual(committed.at(-1)?.data, { cursor: ROWS })
  })

  it('lands the rows in S3 as Avro (snappy) that read back as the source rows', async () => {
    const result = await runAttempt({
      source,
      sourceConfig: {},
      destination: s3Definition.destination,
      destinationConfig: {
        s3_bucket_name: s3.bucket,
        s3_bucket_path: 'avro/',
        s3_bucket_region: 'us-east-1',
        access_key_id: 'minioadmin',
        secret_access_key: 'minioadmin',
        s3_endpoint: s3.endpoint,
        format: { format_type: 'Avro', compression_codec: { codec: 'snappy' } },
      },
      catalog,
      mapping: { namespaceDefinition: 'source' },
      state: [],
      options: runOptions(root),
      onStateCommitted: async () => undefined,
    })
    assert.equal(result.totalStats.recordsCommitted, ROWS)
    const client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'minioadmin', secretAccessKey: 'minioadmin' } })
    try {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'avro/' }))
      const keys = (listed.Contents ?? []).map((o) => o.Key!)
      assert.equal(keys.length, 1)
      assert.match(keys[0]!, /^avro\/public\/users\/.*_0\.avro$/)
      const res = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: keys[0] }))
      const file = await readAvro(Buffer.from(await res.Body!.transformToByteArray()))
      assert.equal(file.codec, 'snappy')
      assert.deepEqual(file.records.map(mixedAvroFields), mixedRows(0, ROWS).map(mixedRowAsAvro))
    } finally {
      client.destroy()
    }
  })
})
