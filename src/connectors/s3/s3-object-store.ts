import { DeleteObjectsCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { PassThrough } from 'node:stream'
import type { ObjectSink, ObjectStore } from '../../formats/index.js'

/** User metadata key Airbyte writes on every object (`x-amz-meta-ab-generation-id`). */
export const GENERATION_METADATA = 'ab-generation-id'

/** S3 multipart part size: the minimum S3 allows, so a part buffer stays small. */
const PART_SIZE = 5 * 1024 * 1024

/**
 * A bucket as an object store. Objects stream through a multipart upload (one part buffered at a
 * time); an object becomes visible only when the upload completes. A failure or abort destroys
 * the body, which makes lib-storage abort the multipart upload, so nothing partial remains.
 */
export class S3ObjectStore implements ObjectStore {
  readonly #client: S3Client
  readonly #bucket: string
  readonly #translate: (e: unknown, action: string) => Error

  constructor(client: S3Client, bucket: string, translate: (e: unknown, action: string) => Error) {
    this.#client = client
    this.#bucket = bucket
    this.#translate = translate
  }

  async create(key: string, generationId: number): Promise<ObjectSink> {
    const body = new PassThrough({ highWaterMark: 1024 * 1024 })
    const upload = new Upload({
      client: this.#client,
      params: { Bucket: this.#bucket, Key: key, Body: body, Metadata: { [GENERATION_METADATA]: String(generationId) } },
      partSize: PART_SIZE,
      queueSize: 2,
      leavePartsOnError: false,
    })
    const done = upload.done()
    // A failed upload stops reading the body: fail the writer instead of leaving it waiting for drain.
    done.catch((e: unknown) => body.destroy(this.#translate(e, `upload ${key}`)))
    return {
      stream: body,
      commit: async () => {
        body.end()
        try {
          await done
        } catch (e) {
          throw this.#translate(e, `upload ${key}`)
        }
      },
      abort: async () => {
        body.destroy(new Error('upload abandoned'))
        await done.catch(() => undefined)
      },
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    let token: string | undefined
    do {
      let page
      try {
        page = await this.#client.send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: prefix, ContinuationToken: token }))
      } catch (e) {
        throw this.#translate(e, `list ${prefix}`)
      }
      for (const o of page.Contents ?? []) if (o.Key) yield o.Key
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
  }

  async generationOf(key: string): Promise<number> {
    try {
      const head = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }))
      const n = Number(head.Metadata?.[GENERATION_METADATA] ?? 0)
      return Number.isFinite(n) ? n : 0
    } catch (e) {
      throw this.#translate(e, `read the metadata of ${key}`)
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return
    try {
      const res = await this.#client.send(
        new DeleteObjectsCommand({ Bucket: this.#bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }),
      )
      if (res.Errors?.length) throw Object.assign(new Error(res.Errors[0]?.Message ?? 'delete failed'), { Code: res.Errors[0]?.Code })
    } catch (e) {
      throw this.#translate(e, `delete ${keys.length} object(s)`)
    }
  }
}
