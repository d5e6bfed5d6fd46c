/** Shorter values are not masked: replacing every "1" or "ab" in a log would hide more than it protects. */
const MIN_SECRET_LENGTH = 3

/**
 * Replaces secret values (in clear, as given to a connector) in text bound for the attempt log,
 * also in their JSON-escaped form (a connector printing its config as JSON escapes quotes).
 */
export class SecretMasker {
  #values: string[] = []

  constructor(values: readonly string[] = []) {
    this.add(values)
  }

  /** Adds values (e.g. a rotated token from a CONTROL message). */
  add(values: readonly string[]): void {
    const all = new Set(this.#values)
    for (const v of values) {
      if (v.length < MIN_SECRET_LENGTH) continue
      all.add(v)
      const escaped = JSON.stringify(v).slice(1, -1)
      if (escaped !== v) all.add(escaped)
    }
    // Longest first: a secret containing another is masked whole.
    this.#values = [...all].sort((a, b) => b.length - a.length)
  }

  mask(text: string): string {
    let out = text
    for (const v of this.#values) if (out.includes(v)) out = out.split(v).join('**********')
    return out
  }
}
