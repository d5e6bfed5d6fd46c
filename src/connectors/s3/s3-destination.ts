import { randomUUID } from 'node:crypto'
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3'
import { configError, SluiceError } from '../../errors.js'
import { type FormatConfig, parseFormatConfig } from '../../formats/index.js'
import { DEFAULT_FILE_NAME_PATTERN, DEFAULT_PATH_FORMAT, joinKey } from '../files/path-format.js'
import type {
  ConnectionStatus,
  ConnectorConfig,
  Destination,
  DestinationCapabilities,
  LoadSession,
  RunOptions,
} from '../../protocol/index.js'
import { DEFAULT_FILE_LIMITS, fileLoadSession, type FileLimits, type FileWriteSettings } from '../files/index.js'
import { writeWithLoaders } from '../loader/index.js'
import { CHECK_CLIENT, createS3Client, endpointLabel, SYNC_CLIENT, translateS3Error } from './s3-client.js'
import { S3ObjectStore } from './s3-object-store.js'
import { type S3Config, s3Spec } from './s3-spec.js'

/** Airbyte's S3 default when `format` carries no codec: uncompressed Parquet. */
const DEFAULT_S3_FORMAT: FormatConfig = { type: 'Parquet', codec: 'UNCOMPRESSED', blockSizeMb: 128, pageSizeKb: 1024, dictionaryEncoding: true }

function s3Config(raw: ConnectorConfig): S3Config {
  const config = raw as unknown as S3Config
  if (typeof config.s3_bucket_name !== 'string' || config.s3_bucket_name.trim() === '') throw configError('s3_bucket_name is required.')
  if (config.format === undefined) throw configError('format is required (JSONL, CSV, Parquet or Avro).')
  const endpoint = config.s3_endpoint?.trim()
  if (endpoint && !/^https?:\/\/[^/]/i.test(endpoint)) {
    throw configError(`s3_endpoint "${endpoint}" must be a URL starting with http:// or https:// (for MinIO: http://host:9000).`)
  }
  return config
}

/**
 * The S3 destination (Airbyte's "S3", also for MinIO and other S3-compatible services): JSONL,
 * CSV, Parquet or Avro objects laid out by `s3_path_format`, streamed with multipart uploads.
 */
export class S3Destination implements Destination {
  readonly spec = s3Spec
  readonly capabilities: DestinationCapabilities = {
    supportedSyncModes: ['overwrite', 'append'],
    // Parquet reads COPY text bytes and columns directly; Avro uses columns(); JSONL and CSV use rows().
    acceptsPgCopyText: true,
    acceptsColumns: true,
  }
  readonly #limits: Partial<FileLimits>

  /** `limits` overrides part rotation and state flush bounds (tests use tiny ones). */
  constructor(limits: Partial<FileLimits> = {}) {
    this.#limits = limits
  }

  /** An output format sluice cannot write (an Avro codec, a level out of range) is a 422 at create. */
  validateConfig(raw: ConnectorConfig): void {
    parseFormatConfig(s3Config(raw).format, DEFAULT_S3_FORMAT)
  }

  /** Writes, lists and deletes a probe object under the bucket path. */
  async check(raw: ConnectorConfig, opts: RunOptions): Promise<ConnectionStatus> {
    let config: S3Config
    try {
      this.validateConfig(raw)
      config = s3Config(raw)
    } catch (e) {
      return { status: 'failed', message: (e as Error).message }
    }
    const client = createS3Client(config, CHECK_CLIENT)
    const bucket = config.s3_bucket_name
    const key = joinKey(config.s3_bucket_path ?? '', `_sluice_connection_test_${randomUUID()}`)
    const send = { abortSignal: opts.signal }
    let step = 'write a probe object'
    try {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'sluice connection check' }), send)
      step = 'list objects'
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key }), send)
      if (!listed.Contents?.some((o) => o.Key === key)) {
        return { status: 'failed', message: `The probe object ${key} was written but listing the bucket path did not show it.` }
      }
      step = 'delete the probe object'
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), send)
      return { status: 'succeeded', message: `Wrote, listed and deleted a probe object in s3://${bucket}/${config.s3_bucket_path ?? ''} at ${endpointLabel(config)}.` }
    } catch (e) {
      return { status: 'failed', message: translateS3Error(e, config, step).message }
    } finally {
      client.destroy()
    }
  }

  /** The shared destination loop over a file load session on the bucket. */
  readonly write = writeWithLoaders(async (raw, _catalog, opts) => this.#openSession(raw, opts))

  async #openSession(raw: ConnectorConfig, opts: RunOptions): Promise<LoadSession> {
    const config = s3Config(raw)
    const settings: FileWriteSettings = {
      basePath: config.s3_bucket_path ?? '',
      pathFormat: config.s3_path_format || DEFAULT_PATH_FORMAT,
      fileNamePattern: config.file_name_pattern || DEFAULT_FILE_NAME_PATTERN,
      format: parseFormatConfig(config.format, DEFAULT_S3_FORMAT),
      ...DEFAULT_FILE_LIMITS,
      ...this.#limits,
    }
    const client = createS3Client(config, SYNC_CLIENT)
    const translate = (e: unknown, action: string): Error => (e instanceof SluiceError ? e : translateS3Error(e, config, action))
    return fileLoadSession(new S3ObjectStore(client, config.s3_bucket_name, translate), settings, opts, () => client.destroy())
  }
}
