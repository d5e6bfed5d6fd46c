/** A growable output buffer of bytes, shared by the COPY text and JSONL encoders. */
export class ByteSink {
  buf: Buffer
  pos = 0
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size)
  }
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n))
    this.buf.copy(grown, 0, 0, this.pos)
    this.buf = grown
  }
  bytes(src: Uint8Array, start = 0, end = src.length): void {
    const n = end - start
    this.reserve(n)
    if (n < 64) {
      // Most fields are short: a byte loop beats a subarray (an object) plus set per field.
      const buf = this.buf
      let pos = this.pos
      for (let i = start; i < end; i++) buf[pos++] = src[i]!
      this.pos = pos
      return
    }
    this.buf.set(n === src.length ? src : src.subarray(start, end), this.pos)
    this.pos += n
  }
  ascii(s: string): void {
    this.reserve(s.length * 3)
    this.pos += this.buf.write(s, this.pos)
  }
  byte(b: number): void {
    this.reserve(1)
    this.buf[this.pos++] = b
  }
}
