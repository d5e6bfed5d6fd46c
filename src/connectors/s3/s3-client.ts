import { S3Client } from '@aws-sdk/client-s3'
import { configError, type SluiceError, systemError, transientError } from '../../errors.js'
import type { S3Config } from './s3-spec.js'

/** Options of the client used for a check (answer within seconds) or a sync (retry more). */
export interface S3ClientOptions {
  maxAttempts: number
  connectionTimeoutMs: number
}

export const CHECK_CLIENT: S3ClientOptions = { maxAttempts: 1, connectionTimeoutMs: 3_000 }
export const SYNC_CLIENT: S3ClientOptions = { maxAttempts: 5, connectionTimeoutMs: 10_000 }

/**
 * An S3 client for the config: a custom endpoint (MinIO and other S3-compatible services) uses
 * path-style addressing; checksums only where S3 requires them, since S3-compatible servers
 * often do not accept the SDK's default trailing checksums on streamed uploads.
 */
export function createS3Client(config: S3Config, options: S3ClientOptions): S3Client {
  const endpoint = config.s3_endpoint?.trim() || undefined
  const credentials =
    config.access_key_id && config.secret_access_key
      ? { accessKeyId: config.access_key_id, secretAccessKey: config.secret_access_key }
      : undefined
  return new S3Client({
    region: config.s3_bucket_region?.trim() || 'us-east-1',
    endpoint,
    forcePathStyle: endpoint !== undefined,
    credentials,
    maxAttempts: options.maxAttempts,
    requestHandler: { connectionTimeout: options.connectionTimeoutMs, requestTimeout: 120_000 },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  })
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'TimeoutError'])

function errorCode(e: unknown): string | undefined {
  const err = e as { name?: string; code?: string; Code?: string; cause?: { code?: string } }
  return err?.Code ?? err?.code ?? err?.cause?.code ?? err?.name
}

/** Where the client goes, for messages (never credentials). */
export function endpointLabel(config: S3Config): string {
  return config.s3_endpoint?.trim() || `AWS S3 (${config.s3_bucket_region?.trim() || 'us-east-1'})`
}

/**
 * Translates an S3 failure into a readable error a user can act on: wrong credentials and a
 * missing bucket are config errors; an unreachable endpoint, throttling and 5xx are transient.
 */
export function translateS3Error(e: unknown, config: S3Config, action: string): SluiceError {
  const code = errorCode(e) ?? 'Error'
  const status = (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode
  const where = endpointLabel(config)
  if (code === 'InvalidAccessKeyId' || code === 'SignatureDoesNotMatch' || code === 'InvalidClientTokenId' || code === 'CredentialsProviderError') {
    return configError(`S3 rejected the credentials at ${where} (${code}): check access_key_id and secret_access_key.`, e)
  }
  if (code === 'NoSuchBucket') {
    return configError(`Bucket "${config.s3_bucket_name}" does not exist at ${where}.`, e)
  }
  if (code === 'AccessDenied' || status === 403) {
    return configError(`Access denied while trying to ${action} in bucket "${config.s3_bucket_name}" at ${where}: the credentials lack permission.`, e)
  }
  if (NETWORK_CODES.has(code) || code === 'AbortError' || /ECONNREFUSED|ENOTFOUND|socket hang up|timed? ?out/i.test(String((e as Error)?.message))) {
    return transientError(`Cannot reach the S3 endpoint ${where} (${code}): is the endpoint URL right and the service up?`, e)
  }
  if (code === 'SlowDown' || code === 'RequestTimeout' || (status !== undefined && status >= 500)) {
    return transientError(`S3 at ${where} failed to ${action} (${code}); it may pass on retry.`, e)
  }
  return systemError(`S3 at ${where} failed to ${action}: ${code}: ${(e as Error)?.message ?? String(e)}`, e)
}
