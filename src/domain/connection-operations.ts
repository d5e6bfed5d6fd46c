import type { ConfigStore, OperationRecord } from '../store/config-store.js'

/** The live operations a connection lists, in its order (deleted or missing ones skipped). */
export async function connectionOperations(store: Pick<ConfigStore, 'getOperation'>, operationIds: readonly string[]): Promise<OperationRecord[]> {
  const out: OperationRecord[] = []
  for (const id of operationIds) {
    const op = await store.getOperation(id)
    if (op !== undefined && !op.tombstone) out.push(op)
  }
  return out
}
