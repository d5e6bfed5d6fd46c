import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { readdir } from 'node:fs/promises'
import { after, before, describe, it } from 'node:test'
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3'
import { CHECK_CLIENT, createS3Client, translateS3Error } from '../../../src/connectors/s3/s3-client.js'
import { PART_SIZE, S3ObjectStore } from '../../../src/connectors/s3/s3-object-store.js'
import type { S3Config } from '../../../src/connectors/s3/s3-spec.js'
import type { ObjectSink } from '../../../src/connectors/files/index.js'
import { MINIO_ACCESS_KEY, MINIO_SECRET_KEY, startS3Server, type S3TestServer } from '../../helpers/s3-server.js'

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** Writes `bytes` in chunks of odd sizes (so chunks straddle part boundaries), honouring backpressure. */
async function writeAll(sink: ObjectSink, bytes: Buffer): Promise<void> {
  for (let at = 0, size = 333_333; at < bytes.length; at += size, size = size * 2 + 7) {
    if (!sink.stream.write(bytes.subarray(at, at + size))) await once(sink.stream, 'drain')
  }
}

describe('S3 object store (multipart upload into reused part buffers)', () => {
  let s3: S3TestServer
  let config: S3Config
  let client: S3Client
  let store: S3ObjectStore

  const storeFor = (cfg: S3Config): S3ObjectStore => new S3ObjectStore(createS3Client(cfg, CHECK_CLIENT), cfg.s3_bucket_name, (e, action) => translateS3Error(e, cfg, action))
  const object = async (key: string): Promise<Buffer> => {
    const res = await client.send(new GetObjectCommand({ Bucket: 'datalake', Key: key }))
    return Buffer.from(await res.Body!.transformToByteArray())
  }
  const keys = async (prefix: string): Promise<string[]> =>
    ((await client.send(new ListObjectsV2Command({ Bucket: 'datalake', Prefix: prefix }))).Contents ?? []).map((o) => o.Key!)

  before(async () => {
    s3 = await startS3Server()
    config = { s3_bucket_name: 'datalake', s3_bucket_path: '', s3_bucket_region: 'us-east-1', access_key_id: MINIO_ACCESS_KEY, secret_access_key: MINIO_SECRET_KEY, s3_endpoint: s3.endpoint, format: {} } as S3Config
    client = createS3Client(config, CHECK_CLIENT)
    store = storeFor(config)
  })
  after(async () => {
    client.destroy()
    await s3.close()
  })

  it('stores an object smaller than a part, and an empty one, with their generation', async () => {
    const small = randomBytes(1234)
    const sink = await store.create('small/a.bin', 7)
    await writeAll(sink, small)
    assert.deepEqual(await keys('small/'), [], 'nothing is visible before commit')
    await sink.commit()
    assert.equal(sha(await object('small/a.bin')), sha(small))
    assert.equal(await store.generationOf('small/a.bin'), 7)

    const empty = await store.create('small/empty.bin', 7)
    await empty.commit()
    assert.equal((await object('small/empty.bin')).length, 0)
  })

  it('uploads an object of several parts byte for byte, visible only once complete', async () => {
    const big = randomBytes(PART_SIZE * 3 + 12_345)
    const sink = await store.create('big/b.bin', 3)
    await writeAll(sink, big)
    assert.deepEqual(await keys('big/'), [])
    await sink.commit()
    const back = await object('big/b.bin')
    assert.equal(back.length, big.length)
    assert.equal(sha(back), sha(big))
    const head = await client.send(new HeadObjectCommand({ Bucket: 'datalake', Key: 'big/b.bin' }))
    assert.equal(head.Metadata?.['ab-generation-id'], '3')
  })

  it('abort after parts were uploaded leaves neither the object nor its parts', async () => {
    const sink = await store.create('aborted/c.bin', 1)
    await writeAll(sink, randomBytes(PART_SIZE * 2 + 10))
    await sink.abort()
    assert.deepEqual(await keys('aborted/'), [])
    const leftovers = (await readdir(s3.directory, { recursive: true })).filter((f) => String(f).includes('aborted'))
    assert.deepEqual(leftovers, [])
  })

  it('fails the write with a readable transient error when the server dies mid-upload', async () => {
    const dying = await startS3Server()
    const dyingStore = storeFor({ ...config, s3_endpoint: dying.endpoint })
    const sink = await dyingStore.create('x/d.bin', 1)
    await writeAll(sink, randomBytes(PART_SIZE + 10))
    await dying.close()
    const started = Date.now()
    await assert.rejects(
      (async () => {
        await writeAll(sink, randomBytes(PART_SIZE * 3))
        await sink.commit()
      })(),
      (e: Error & { code?: string }) => e.code === 'SLUICE_ERR_CONNECTOR_TRANSIENT' && /Cannot reach the S3 endpoint/.test(e.message),
    )
    assert.ok(Date.now() - started < 10_000)
    await sink.abort()
  })
})
