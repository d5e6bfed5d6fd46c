import type { StreamDescriptor } from '../protocol/index.js'
import type { ConnectionRecord } from '../store/config-store.js'
import { catalogEntries } from './catalog-entries.js'

/**
 * The streams a sync of this connection works on: the selected streams of its syncCatalog, in
 * catalog order (a job records them as its `enabledStreams`). A stream without a namespace has
 * no `namespace` key, as Airbyte's StreamDescriptor reads.
 */
export function enabledStreams(connection: Pick<ConnectionRecord, 'syncCatalog'>): StreamDescriptor[] {
  return catalogEntries(connection)
    .filter((e) => e.selected)
    .map((e) => (e.stream.namespace ? { name: e.stream.name, namespace: e.stream.namespace } : { name: e.stream.name }))
}
