import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { s3Definition } from '../../../src/connectors/s3/index.js'
import { ConnectorRegistry } from '../../../src/connectors/registry.js'
import { builtinDefinitions } from '../../../src/connectors/builtin-definitions.js'
import { runOptions } from '../../formats/fixtures.js'
import { startS3Server, type S3TestServer } from '../../helpers/s3-server.js'

/** A loopback port with nothing listening on it. */
async function deadPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe('S3 check', () => {
  let s3: S3TestServer
  const opts = runOptions('/tmp')
  const dest = s3Definition.destination
  const config = (over: Record<string, unknown> = {}) => ({
    s3_bucket_name: s3.bucket,
    s3_bucket_path: 'bronze/',
    s3_bucket_region: 'us-east-1',
    access_key_id: 'minioadmin',
    secret_access_key: 'minioadmin',
    s3_endpoint: s3.endpoint,
    format: { format_type: 'Parquet', compression_codec: 'snappy' },
    ...over,
  })

  before(async () => {
    s3 = await startS3Server()
  })
  after(async () => {
    await s3.close()
  })

  it('is registered with Airbyte\'s id and name', () => {
    const d = new ConnectorRegistry(builtinDefinitions()).getDestination('4816b78f-1489-44c1-9060-4b19d5fa9362')
    assert.equal(d?.name, 'S3')
    assert.equal(d?.dockerRepository, 'airbyte/destination-s3')
  })

  it('succeeds and leaves no probe object', async () => {
    const status = await dest.check(config(), opts)
    assert.equal(status.status, 'succeeded', status.message)
    const { S3Client, ListObjectsV2Command } = await import('@aws-sdk/client-s3')
    const client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'minioadmin', secretAccessKey: 'minioadmin' } })
    const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket }))
    client.destroy()
    assert.equal(listed.KeyCount ?? 0, 0)
  })

  it('reports wrong credentials without echoing the secret', async () => {
    const status = await dest.check(config({ access_key_id: 'wrong-key', secret_access_key: 'sup3r-secret' }), opts)
    assert.equal(status.status, 'failed')
    assert.match(status.message, /rejected the credentials/)
    assert.doesNotMatch(status.message, /sup3r-secret/)
  })

  it('reports a missing bucket', async () => {
    const status = await dest.check(config({ s3_bucket_name: 'no-such-bucket' }), opts)
    assert.equal(status.status, 'failed')
    assert.match(status.message, /Bucket "no-such-bucket" does not exist/)
  })

  it('reports an unreachable endpoint within seconds', async () => {
    const started = Date.now()
    const status = await dest.check(config({ s3_endpoint: `http://127.0.0.1:${await deadPort()}` }), opts)
    assert.equal(status.status, 'failed')
    assert.match(status.message, /Cannot reach the S3 endpoint/)
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`)
  })

  it('reports an endpoint without a scheme before connecting', async () => {
    const status = await dest.check(config({ s3_endpoint: 'minio:9000' }), opts)
    assert.equal(status.status, 'failed')
    assert.match(status.message, /must be a URL starting with http:\/\/ or https:\/\//)
  })

  it('reports an unsupported Parquet codec before connecting', async () => {
    const status = await dest.check(config({ format: { format_type: 'Parquet', compression_codec: 'LZO' } }), opts)
    assert.equal(status.status, 'failed')
    assert.match(status.message, /Unsupported Parquet compression_codec "LZO"/)
  })

  it('accepts an Avro format it writes', async () => {
    const status = await dest.check(config({ format: { format_type: 'Avro', compression_codec: { codec: 'Deflate', compression_level: 5 } } }), opts)
    assert.equal(status.status, 'succeeded', status.message)
  })

  it('refuses an Avro codec sluice does not write, and a level out of range, before connecting', async () => {
    // A dead endpoint: the answer must come from the config, not from S3.
    const offline = { s3_endpoint: `http://127.0.0.1:${await deadPort()}` }
    const bzip2 = await dest.check(config({ ...offline, format: { format_type: 'Avro', compression_codec: { codec: 'bzip2' } } }), opts)
    assert.equal(bzip2.status, 'failed')
    assert.equal(bzip2.message, 'Avro codec "bzip2" is not supported by sluice; sluice writes "no compression", "Deflate", "snappy", "zstandard".')
    const xz = await dest.check(config({ ...offline, format: { format_type: 'Avro', compression_codec: { codec: 'xz', compression_level: 6 } } }), opts)
    assert.match(xz.message, /Avro codec "xz" is not supported by sluice/)
    const level = await dest.check(config({ ...offline, format: { format_type: 'Avro', compression_codec: { codec: 'Deflate', compression_level: 12 } } }), opts)
    assert.equal(level.status, 'failed')
    assert.equal(level.message, 'format.compression_codec.compression_level for Deflate must be an integer from 0 to 9; got 12.')
  })
})
