import { promisify } from 'node:util'
import { crc32, deflateRaw } from 'node:zlib'
import { compressSync as snappyCompressSync } from 'snappy'
import type { AvroFormat } from './format-config.js'
import { loadZstd } from './zstd-module.js'

/**
 * Compresses the bytes of one Avro block. Resolves to the pieces of the compressed block (their
 * concatenation is the block's data); a piece may be `data` itself, so the caller copies the
 * pieces before it reuses `data`.
 */
export type BlockCompressor = (data: Buffer) => Promise<Uint8Array[]>

export function avroCodecName(format: AvroFormat): 'null' | 'deflate' | 'snappy' | 'zstandard' {
  switch (format.codec) {
    case 'no compression':
      return 'null'
    case 'Deflate':
      return 'deflate'
    case 'snappy':
      return 'snappy'
    case 'zstandard':
      return 'zstandard'
  }
}

const deflateRawAsync = promisify(deflateRaw)

/**
 * The block compressor of a codec, as Avro's container format defines it: deflate is raw
 * deflate (RFC 1951, no zlib header); snappy is the raw snappy block followed by the CRC-32 of
 * the uncompressed bytes, big-endian; zstandard is one zstd frame.
 */
export function blockCompressor(format: AvroFormat): BlockCompressor {
  switch (format.codec) {
    case 'no compression':
      return async (data) => [data]
    case 'Deflate': {
      const level = format.compressionLevel
      // On zlib's thread pool while the main thread encodes the next block. An output chunk as
      // large as the block: with the 16 KB default each chunk waits for the busy main thread.
      return async (data) => [await deflateRawAsync(data, { level, chunkSize: data.length + (data.length >> 3) + 1024 })]
    }
    case 'snappy':
      return async (data) => {
        const crc = Buffer.allocUnsafe(4)
        crc.writeUInt32BE(crc32(data))
        return [snappyCompressSync(data), crc]
      }
    case 'zstandard': {
      const z = loadZstd()
      if (z instanceof Error) throw z
      const compressor = new z.Compressor()
      compressor.setParameters({ compressionLevel: format.compressionLevel, checksumFlag: format.includeChecksum })
      // Synchronous: about 3 ms per 1 MB block at level 3.
      return async (data) => [compressor.compress(data)]
    }
  }
}
