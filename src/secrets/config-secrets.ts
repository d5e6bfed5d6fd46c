import type { JsonSchema } from '../protocol/index.js'
import { isEncryptedValue, SECRET_MASK, type SecretService } from './secret-service.js'

/**
 * Secret handling of connector configurations, driven by the connector spec: a field is secret
 * when its schema node says `airbyte_secret: true`. The walk follows nested `properties`,
 * `items` and every applicable branch of `oneOf`/`anyOf`/`allOf`, as Airbyte's
 * JsonSecretsProcessor does.
 */

type Path = Array<string | number>
type LeafFn = (leaf: unknown, path: Path) => unknown

/** Marks a leaf for removal in {@link transformSecretLeaves}. */
const DROP = Symbol('drop')

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function schemaList(node: JsonSchema, key: 'oneOf' | 'anyOf' | 'allOf'): JsonSchema[] {
  const list = node[key]
  return Array.isArray(list) ? list.filter(isObject) : []
}

function isSecretNode(node: JsonSchema): boolean {
  return node.airbyte_secret === true
}

/**
 * A oneOf/anyOf branch applies to a value when every discriminator it declares (a property with
 * `const` or a one-value `enum`) matches the value. Branches without discriminators always apply.
 */
function branchMatches(branch: JsonSchema, value: Record<string, unknown>): boolean {
  const props = isObject(branch.properties) ? branch.properties : {}
  for (const [key, sub] of Object.entries(props)) {
    if (!isObject(sub)) continue
    const expected = 'const' in sub ? sub.const : Array.isArray(sub.enum) && sub.enum.length === 1 ? sub.enum[0] : undefined
    if (expected !== undefined && value[key] !== expected) return false
  }
  return true
}

/** All schema nodes that describe property `key` of `value` under `node`. */
function collectPropertySchemas(node: JsonSchema, value: Record<string, unknown>, out: Map<string, JsonSchema[]>): void {
  if (isObject(node.properties)) {
    for (const [key, sub] of Object.entries(node.properties)) {
      if (!isObject(sub)) continue
      const list = out.get(key) ?? []
      list.push(sub)
      out.set(key, list)
    }
  }
  for (const branch of schemaList(node, 'allOf')) collectPropertySchemas(branch, value, out)
  for (const key of ['oneOf', 'anyOf'] as const) {
    const branches = schemaList(node, key)
    if (branches.length === 0) continue
    const matching = branches.filter((b) => branchMatches(b, value))
    for (const branch of matching.length > 0 ? matching : branches) collectPropertySchemas(branch, value, out)
  }
}

function itemSchemas(nodes: JsonSchema[]): JsonSchema[] {
  const out: JsonSchema[] = []
  for (const n of nodes) {
    if (isObject(n.items)) out.push(n.items)
    for (const key of ['oneOf', 'anyOf', 'allOf'] as const) out.push(...itemSchemas(schemaList(n, key)))
  }
  return out
}

function transform(nodes: JsonSchema[], value: unknown, fn: LeafFn, path: Path): unknown {
  if (nodes.some(isSecretNode)) return fn(value, path)
  if (Array.isArray(value)) {
    const items = itemSchemas(nodes)
    if (items.length === 0) return value
    const out: unknown[] = []
    value.forEach((v, i) => {
      const r = transform(items, v, fn, [...path, i])
      if (r !== DROP) out.push(r)
    })
    return out
  }
  if (!isObject(value)) return value
  const props = new Map<string, JsonSchema[]>()
  for (const n of nodes) collectPropertySchemas(n, value, props)
  const out: Record<string, unknown> = {}
  for (const [key, v] of Object.entries(value)) {
    const sub = props.get(key)
    const r = sub ? transform(sub, v, fn, [...path, key]) : v
    if (r !== DROP) out[key] = r
  }
  return out
}

/** Returns a copy of `config` in which each secret leaf is replaced by `fn(leaf)`. */
function transformSecretLeaves(spec: JsonSchema, config: Record<string, unknown>, fn: LeafFn): Record<string, unknown> {
  return transform([spec], config, fn, []) as Record<string, unknown>
}

function deepMap(value: unknown, fn: (s: string) => unknown): unknown {
  if (typeof value === 'string') return fn(value)
  if (Array.isArray(value)) return value.map((v) => deepMap(v, fn))
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, deepMap(v, fn)]))
  return value
}

function valueAt(root: unknown, path: Path): unknown {
  let cur = root
  for (const p of path) {
    if (typeof p === 'number' ? !Array.isArray(cur) : !isObject(cur)) return undefined
    cur = (cur as Record<string | number, unknown>)[p]
  }
  return cur
}

/** Paths of the secret fields present in `config` (for tests and log redaction). */
export function secretPaths(spec: JsonSchema, config: Record<string, unknown>): string[] {
  const paths: string[] = []
  transformSecretLeaves(spec, config, (leaf, path) => {
    paths.push(path.join('.'))
    return leaf
  })
  return paths
}

/** Encrypts each secret leaf for storage. */
export function encryptSecrets(spec: JsonSchema, config: Record<string, unknown>, secrets: SecretService): Record<string, unknown> {
  return transformSecretLeaves(spec, config, (leaf) => (leaf === null || leaf === undefined ? leaf : secrets.encrypt(leaf)))
}

/** Paths of string values that look like stored ciphertext (never legitimate input). */
export function encryptedLookingPaths(value: unknown, path = ''): string[] {
  if (isEncryptedValue(value)) return [path]
  if (Array.isArray(value)) return value.flatMap((v, i) => encryptedLookingPaths(v, `${path}[${i}]`))
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => encryptedLookingPaths(v, path === '' ? k : `${path}.${k}`))
  }
  return []
}

/** Decrypts every encrypted value of a stored configuration, wherever it is (spec changes cannot hide one). */
export function decryptSecrets(stored: Record<string, unknown>, secrets: SecretService): Record<string, unknown> {
  return deepMap(stored, (s) => (isEncryptedValue(s) ? secrets.decrypt(s) : s)) as Record<string, unknown>
}

/** The configuration as the API returns it: every secret (by spec, or stored encrypted) is the mask. */
export function maskSecrets(spec: JsonSchema, config: Record<string, unknown>): Record<string, unknown> {
  const masked = transformSecretLeaves(spec, config, (leaf) => (leaf === null || leaf === undefined ? leaf : SECRET_MASK))
  return deepMap(masked, (s) => (isEncryptedValue(s) ? SECRET_MASK : s)) as Record<string, unknown>
}

/**
 * Applies an update's masks: each secret leaf equal to the mask takes the value stored at the same
 * path (Airbyte's copySecrets); a mask with nothing stored behind it is dropped, so the spec
 * validation reports the field as missing instead of storing ten asterisks.
 */
export function restoreMaskedSecrets(
  spec: JsonSchema,
  incoming: Record<string, unknown>,
  stored: Record<string, unknown>,
): Record<string, unknown> {
  return transformSecretLeaves(spec, incoming, (leaf, path) => {
    if (leaf !== SECRET_MASK) return leaf
    const previous = valueAt(stored, path)
    return previous === undefined ? DROP : previous
  })
}

/** Every secret value (in clear) of a configuration, to scrub from connector messages and logs. */
export function secretValues(spec: JsonSchema, config: Record<string, unknown>): string[] {
  const values: string[] = []
  transformSecretLeaves(spec, config, (leaf) => {
    if (leaf !== null && leaf !== undefined && leaf !== '') values.push(typeof leaf === 'string' ? leaf : JSON.stringify(leaf))
    return leaf
  })
  return values
}
