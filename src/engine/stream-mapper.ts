import type { StreamDescriptor } from '../protocol/index.js'
import { streamKey } from '../protocol/index.js'
import type { NamespaceMapping } from './types.js'

/**
 * Maps a source stream descriptor to the one the destination sees (Airbyte §6.1):
 * - namespace: `source` keeps it, `destination` nulls it (destination default), `customformat`
 *   substitutes `${SOURCE_NAMESPACE}` in `namespaceFormat` (a blank result means null);
 * - name: the stream's `aliasName` when set, else its name, then `prefix` prepended when non-blank.
 *   The prefix applies to aliases too: it is a connection-wide rule, the alias a per-stream one.
 */
export function mapStreamDescriptor(mapping: NamespaceMapping, source: StreamDescriptor): StreamDescriptor {
  let namespace: string | null
  switch (mapping.namespaceDefinition) {
    case 'source':
      namespace = source.namespace ? source.namespace : null
      break
    case 'destination':
      namespace = null
      break
    case 'customformat': {
      const formatted = (mapping.namespaceFormat ?? '').replaceAll('${SOURCE_NAMESPACE}', source.namespace ?? '')
      namespace = formatted.trim() === '' ? null : formatted
      break
    }
  }
  const alias = mapping.aliases?.get(streamKey(source))
  const base = alias !== undefined && alias.trim() !== '' ? alias : source.name
  const prefix = mapping.prefix !== undefined && mapping.prefix.trim() !== '' ? mapping.prefix : ''
  return { name: prefix + base, namespace }
}
