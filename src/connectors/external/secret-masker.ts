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

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/**
 * Every value of `config` under a field its spec marks `airbyte_secret` (through `properties`,
 * `items` and `oneOf`/`anyOf`/`allOf` branches), in clear: what a connector's logs must not show.
 */
export function specSecretValues(schema: unknown, config: unknown): string[] {
  const out = new Set<string>()
  const collect = (v: unknown): void => {
    if (typeof v === 'string') out.add(v)
    else if (typeof v === 'number' || typeof v === 'boolean') out.add(String(v))
    else if (Array.isArray(v)) v.forEach(collect)
    else if (isObject(v)) {
      out.add(JSON.stringify(v))
      Object.values(v).forEach(collect)
    }
  }
  const walk = (s: unknown, v: unknown): void => {
    if (!isObject(s) || v === undefined || v === null) return
    if (s.airbyte_secret === true) {
      collect(v)
      return
    }
    for (const key of ['oneOf', 'anyOf', 'allOf']) {
      const branches = s[key]
      if (Array.isArray(branches)) for (const b of branches) walk(b, v)
    }
    if (isObject(v) && isObject(s.properties)) for (const [k, sub] of Object.entries(s.properties)) walk(sub, v[k])
    if (Array.isArray(v) && s.items !== undefined) for (const item of v) walk(s.items, item)
  }
  walk(schema, config)
  return [...out]
}
