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

/**
 * Writes a version 4 UUID as 36 lowercase hex bytes at `pos` of `out`, from 16 random bytes at
 * `at` of `random`; returns the new position.
 */
export function writeUuidHex(random: Uint8Array, at: number, out: Uint8Array, pos: number): number {
  for (let k = 0; k < 16; k++) {
    if (k === 4 || k === 6 || k === 8 || k === 10) out[pos++] = 45
    let b = random[at + k]!
    if (k === 6) b = (b & 0x0f) | 0x40
    else if (k === 8) b = (b & 0x3f) | 0x80
    out[pos++] = HEX_DIGITS[b >> 4]!
    out[pos++] = HEX_DIGITS[b & 15]!
  }
  return pos
}
