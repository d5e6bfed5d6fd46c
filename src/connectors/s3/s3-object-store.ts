import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  type CompletedPart,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { Writable } from 'node:stream'
import { finished } from 'node:stream/promises'
import type { ObjectSink, ObjectStore } from '../files/index.js'

/** User metadata key Airbyte writes on every object (`x-amz-meta-ab-generation-id`). */
export const GENERATION_METADATA = 'ab-generation-id'

/**
 * S3 multipart part size. Above S3's 5 MB minimum so a 200 MB file is 25 requests, not 40 (each
 * request costs the server a fixed amount of work); small enough that the buffers stay bounded.
 */
export const PART_SIZE = 8 * 1024 * 1024

/** Parts uploading at once per object; one more buffer is being filled meanwhile. */
const PARTS_IN_FLIGHT = 2

/**
 * One object written as a multipart upload. Writes are copied into fixed part buffers, which are
 * reused once their part is uploaded: no per-chunk allocation, and the writer's own buffers are
 * free again as soon as `write` returns. An object smaller than one part is a single PutObject at
 * commit. Nothing is visible under the key before the upload completes; `abort` ends the
 * multipart upload so no part stays behind.
 */
class MultipartSink extends Writable {
  readonly #client: S3Client
  readonly #bucket: string
  readonly #key: string
  readonly #metadata: Record<string, string>
  readonly #translate: (e: unknown, action: string) => Error
  readonly #spare: Buffer[] = []
  readonly #uploading = new Set<Promise<void>>()
  readonly #parts: CompletedPart[] = []
  #buffer: Buffer | undefined
  #filled = 0
  #uploadId: Promise<string> | undefined
  #failure: Error | undefined

  constructor(client: S3Client, bucket: string, key: string, metadata: Record<string, string>, translate: (e: unknown, action: string) => Error) {
    super({ highWaterMark: 1024 * 1024 })
    this.#client = client
    this.#bucket = bucket
    this.#key = key
    this.#metadata = metadata
    this.#translate = translate
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (e?: Error | null) => void): void {
    this.#append(chunk).then(() => done(), done)
  }

  async #append(chunk: Buffer): Promise<void> {
    let at = 0
    while (at < chunk.length) {
      if (this.#failure) throw this.#failure
      this.#buffer ??= this.#spare.pop() ?? Buffer.allocUnsafe(PART_SIZE)
      const n = Math.min(chunk.length - at, PART_SIZE - this.#filled)
      chunk.copy(this.#buffer, this.#filled, at, at + n)
      this.#filled += n
      at += n
      if (this.#filled === PART_SIZE) await this.#sendPart()
    }
  }

  /** Starts uploading the full buffer as the next part; waits while PARTS_IN_FLIGHT are uploading. */
  async #sendPart(): Promise<void> {
    const buffer = this.#buffer!
    const size = this.#filled
    this.#buffer = undefined
    this.#filled = 0
    const partNumber = this.#parts.length + 1
    this.#parts.push({ PartNumber: partNumber })
    this.#uploadId ??= this.#client
      .send(new CreateMultipartUploadCommand({ Bucket: this.#bucket, Key: this.#key, Metadata: this.#metadata }))
      .then((r) => r.UploadId as string)
    const upload = (async () => {
      try {
        const UploadId = await this.#uploadId!
        const r = await this.#client.send(
          new UploadPartCommand({ Bucket: this.#bucket, Key: this.#key, UploadId, PartNumber: partNumber, Body: buffer.subarray(0, size), ContentLength: size }),
        )
        this.#parts[partNumber - 1] = { PartNumber: partNumber, ETag: r.ETag }
        this.#spare.push(buffer)
      } catch (e) {
        this.#failure ??= this.#translate(e, `upload ${this.#key}`)
      }
    })()
    this.#uploading.add(upload)
    void upload.then(() => this.#uploading.delete(upload))
    while (this.#uploading.size >= PARTS_IN_FLIGHT) await Promise.race(this.#uploading)
    if (this.#failure) throw this.#failure
  }

  override _final(done: (e?: Error | null) => void): void {
    this.#complete().then(() => done(), done)
  }

  async #complete(): Promise<void> {
    if (this.#uploadId === undefined) {
      // Smaller than one part: a single request.
      const body = (this.#buffer ?? Buffer.alloc(0)).subarray(0, this.#filled)
      try {
        await this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: this.#key, Body: body, ContentLength: body.length, Metadata: this.#metadata }))
      } catch (e) {
        throw this.#translate(e, `upload ${this.#key}`)
      }
      return
    }
    if (this.#filled > 0) await this.#sendPart()
    await Promise.all(this.#uploading)
    if (this.#failure) throw this.#failure
    try {
      const UploadId = await this.#uploadId
      await this.#client.send(
        new CompleteMultipartUploadCommand({ Bucket: this.#bucket, Key: this.#key, UploadId, MultipartUpload: { Parts: this.#parts } }),
      )
    } catch (e) {
      throw this.#translate(e, `upload ${this.#key}`)
    }
  }

  /** Ends the multipart upload (if one started) once no part is uploading any more. */
  async abortUpload(): Promise<void> {
    this.#failure ??= new Error('upload abandoned')
    await Promise.all(this.#uploading)
    const UploadId = await this.#uploadId?.catch(() => undefined)
    if (UploadId === undefined) return
    await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: this.#key, UploadId }))
  }
}

/**
 * A bucket as an object store. Objects stream through a multipart upload (two parts uploading,
 * one filling); an object becomes visible only when the upload completes. A failure or abort
 * aborts the multipart upload, so nothing partial remains.
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
    const sink = new MultipartSink(this.#client, this.#bucket, key, { [GENERATION_METADATA]: String(generationId) }, this.#translate)
    return {
      stream: sink,
      commit: async () => {
        sink.end()
        await finished(sink)
      },
      abort: async () => {
        sink.destroy()
        await sink.abortUpload().catch(() => undefined)
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
