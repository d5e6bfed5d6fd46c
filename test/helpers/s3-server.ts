import { mkdtemp, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'

/** The part of s3rver's API the tests use (the package ships no types). */
interface S3rverInstance {
  run(): Promise<AddressInfo>
  close(): Promise<void>
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance
interface AwsAccount {
  createKeyPair(accessKeyId: string, secretAccessKey: string): void
}

const require = createRequire(import.meta.url)

/** MinIO's default credentials, which the seed's S3 destination config uses. */
export const MINIO_ACCESS_KEY = 'minioadmin'
export const MINIO_SECRET_KEY = 'minioadmin'

export interface S3TestServer {
  /** `http://127.0.0.1:<port>` */
  endpoint: string
  bucket: string
  /** Folder where s3rver keeps the objects (for tests that inspect leftovers). */
  directory: string
  close(): Promise<void>
}

/**
 * Starts s3rver on 127.0.0.1 with an OS-assigned port, a temp directory and one bucket, and
 * registers minioadmin/minioadmin. s3rver checks that the access key id exists (a wrong one is
 * rejected with InvalidAccessKeyId) but does not verify SigV4 signatures.
 */
export async function startS3Server(bucket = 'datalake'): Promise<S3TestServer> {
  const S3rver = require('s3rver') as S3rverConstructor
  const account = require('s3rver/lib/models/account.js') as { DUMMY_ACCOUNT: AwsAccount }
  account.DUMMY_ACCOUNT.createKeyPair(MINIO_ACCESS_KEY, MINIO_SECRET_KEY)
  const directory = await mkdtemp(path.join(os.tmpdir(), 'sluice-s3rver-'))
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    vhostBuckets: false,
    configureBuckets: [{ name: bucket }],
  })
  const address = await server.run()
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    directory,
    close: async () => {
      await server.close()
      await rm(directory, { recursive: true, force: true })
    },
  }
}
