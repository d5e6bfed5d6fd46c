import { createHash } from 'node:crypto'
import type { ConnectorConfig } from '../protocol/index.js'

/** Cache key of a discovered catalog: the definition and the configuration it was discovered with. */
export function configHash(definitionId: string, config: ConnectorConfig): string {
  return createHash('sha256').update(definitionId).update('\u0000').update(canonicalJson(config)).digest('hex')
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}
