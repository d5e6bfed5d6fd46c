/** Small byte-level writers shared by the columnar (Parquet) and text (JSONL) fast paths. */

const TWO_32 = 4_294_967_296
const HEX_DIGITS = Buffer.from('0123456789abcdef')

/**
 * Stores a safe integer as a little-endian int64 in two 32-bit words at index `i` of `words`
 * (a Uint32Array view over a BigInt64Array), without a BigInt; exact for negatives too.
 */
export function setInt64Words(words: Uint32Array, i: number, v: number): void {
  const hi = Math.floor(v / TWO_32)
  words[i * 2] = v - hi * TWO_32
  words[i * 2 + 1] = hi
}

/** Each byte's two lowercase hex digits as one number: high digit << 8 | low digit. */
const HEX_PAIRS = Uint16Array.from({ length: 256 }, (_, b) => (HEX_DIGITS[b >> 4]! << 8) | HEX_DIGITS[b & 15]!)

function hexPair(out: Uint8Array, pos: number, b: number): void {
  const pair = HEX_PAIRS[b]!
  out[pos] = pair >> 8
  out[pos + 1] = pair & 0xff
}

/**
 * Writes a version 4 UUID as 36 lowercase hex bytes at `pos` of `out`, from 16 random bytes at
 * `at` of `random`; returns the new position. Unrolled, with a table of digit pairs: this runs
 * once per record of every Parquet and JSONL file.
 */
export function writeUuidHex(random: Uint8Array, at: number, out: Uint8Array, pos: number): number {
  for (let k = 0; k < 4; k++) hexPair(out, pos + 2 * k, random[at + k]!)
  out[pos + 8] = 45
  hexPair(out, pos + 9, random[at + 4]!)
  hexPair(out, pos + 11, random[at + 5]!)
  out[pos + 13] = 45
  hexPair(out, pos + 14, (random[at + 6]! & 0x0f) | 0x40)
  hexPair(out, pos + 16, random[at + 7]!)
  out[pos + 18] = 45
  hexPair(out, pos + 19, (random[at + 8]! & 0x3f) | 0x80)
  hexPair(out, pos + 21, random[at + 9]!)
  out[pos + 23] = 45
  for (let k = 0; k < 6; k++) hexPair(out, pos + 24 + 2 * k, random[at + 10 + k]!)
  return pos + 36
}
