import { createRequire } from 'node:module'

/** The part of zstd-napi used here (an optional dependency: it compiles when no prebuilt binary downloads). */
export interface ZstdModule {
  Compressor: new () => {
    setParameters(parameters: { compressionLevel?: number; checksumFlag?: boolean }): void
    compress(data: Uint8Array): Buffer
  }
}

let zstd: ZstdModule | Error | undefined

/** zstd-napi, loaded once on first use, or why it could not be loaded. */
export function loadZstd(): ZstdModule | Error {
  if (zstd === undefined) {
    try {
      zstd = createRequire(import.meta.url)('zstd-napi') as ZstdModule
    } catch (e) {
      zstd = e instanceof Error ? e : new Error(String(e))
    }
  }
  return zstd
}

/** Why zstandard cannot be written here, or undefined when it can. */
export function zstandardUnavailable(): string | undefined {
  const z = loadZstd()
  return z instanceof Error ? `the optional package zstd-napi could not be loaded (${z.message.split('\n')[0]})` : undefined
}

/** The codec name written to the `avro.codec` header entry (Avro specification names). */
