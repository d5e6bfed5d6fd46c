import { createHash } from 'node:crypto'

/** Postgres truncates identifiers longer than this many bytes. */
export const PG_MAX_IDENTIFIER_LENGTH = 63

/** Quotes an identifier for SQL: always quoted, so case, spaces, quotes and reserved words survive. */
export function quoteIdent(name: string): string {
  if (name.includes('\u0000')) throw new Error('identifier contains a NUL character')
  return `"${name.replace(/"/g, '""')}"`
}

/** `"schema"."table"`. */
export function qualified(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`
}

/** A string literal for DDL where parameters are not allowed (COMMENT, defaults). */
export function quoteLiteral(value: string): string {
  if (value.includes('\u0000')) throw new Error('literal contains a NUL character')
  const escaped = value.replace(/'/g, "''")
  return value.includes('\\') ? ` E'${escaped.replace(/\\/g, '\\\\')}'` : `'${escaped}'`
}

/**
 * Airbyte's Postgres name normalisation (semantics §3.7): Unicode NFKD without combining marks,
 * whitespace runs to `_`, anything outside ASCII `[A-Za-z0-9_]` to `_`, at most 63 characters.
 * Case is kept (final names are quoted).
 */
export function normalizeIdentifier(name: string): string {
  const ascii = name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/\s+/gu, '_')
    .replace(/[^A-Za-z0-9_]/g, '_')
  const out = ascii.slice(0, PG_MAX_IDENTIFIER_LENGTH)
  return out === '' ? '_' : out
}

/**
 * Maps source column names to unique normalised final column names. A later column whose
 * normalised name collides (`a b` vs `a_b`) gets `_1`, `_2`...; when that would exceed 63
 * characters the name keeps a prefix and a suffix around its length (Airbyte's i18n style).
 */
export function uniqueColumnNames(names: readonly string[], reserved: readonly string[] = []): Map<string, string> {
  // Quoted Postgres names are case-sensitive, so only exact duplicates collide.
  const taken = new Set(reserved)
  const out = new Map<string, string>()
  for (const name of names) {
    const base = normalizeIdentifier(name)
    let candidate = base
    for (let i = 1; taken.has(candidate); i++) {
      candidate = `${base}_${i}`
      if (candidate.length > PG_MAX_IDENTIFIER_LENGTH) {
        const affix = Math.floor((PG_MAX_IDENTIFIER_LENGTH - 5) / 2)
        candidate = `${base.slice(0, affix)}${base.length}${base.slice(-affix)}_${i}`.slice(-PG_MAX_IDENTIFIER_LENGTH)
      }
    }
    taken.add(candidate)
    out.set(name, candidate)
  }
  return out
}

/** Table name used when two streams normalise to the same final table (Airbyte §3.7). */
export function collisionTableName(namespace: string, name: string): string {
  const hash = createHash('sha1').update(`${namespace}&airbyte&${name}`).digest('hex').slice(0, 3)
  return `${normalizeIdentifier(name).slice(0, PG_MAX_IDENTIFIER_LENGTH - 4)}_${hash}`
}

/** A derived table name (`<base><suffix>`) that still fits in 63 characters. */
export function suffixedName(base: string, suffix: string): string {
  return base.slice(0, PG_MAX_IDENTIFIER_LENGTH - suffix.length) + suffix
}

/**
 * The Destinations V2 raw table of a stream (semantics §3.1): `<namespace><delimiter><name>`,
 * normalised and lower-cased. The delimiter `_raw` + `_`×(L+1) + `stream_`, L the longest run
 * of `_` in either part (at least 1), cannot occur inside them, so distinct streams do not meet:
 * `public`/`users` -> `public_raw__stream_users`, `a__b`/`x` -> `a__b_raw___stream_x`.
 */
export function rawTableName(namespace: string, name: string): string {
  const longest = Math.max(1, ...[...`${namespace}${name}`.matchAll(/_+/g)].map((m) => m[0].length))
  const delimiter = `_raw${'_'.repeat(longest + 1)}stream_`
  return normalizeIdentifier(`${namespace}${delimiter}${name}`).toLowerCase()
}
