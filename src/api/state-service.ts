import { SluiceError, type ValidationError } from '../errors.js'
import { streamKey, type StreamDescriptor } from '../protocol/index.js'
import type { StreamStateRecord } from '../store/job-store.js'
import type { ApiDeps } from './deps.js'
import { descriptorRead } from './job-reads.js'

/** Airbyte's `ConnectionState` as sluice keeps it: per stream (`stream`) or nothing (`not_set`). */
export async function readConnectionState(deps: Pick<ApiDeps, 'jobStore'>, connectionId: string): Promise<Record<string, unknown>> {
  const states = (await deps.jobStore.getState(connectionId)).filter((s) => s.state !== null)
  if (states.length === 0) return { stateType: 'not_set', connectionId }
  return {
    stateType: 'stream',
    connectionId,
    streamState: states.map((s) => ({ streamDescriptor: descriptorRead(s.stream), streamState: s.state })),
  }
}

/** A `ConnectionState` as a client writes it. */
export interface ConnectionStateWrite {
  stateType: string
  streamState?: Array<{ streamDescriptor: { name: string; namespace?: string | null }; streamState?: Record<string, unknown> | null }> | null
  globalState?: unknown
  state?: unknown
}

function invalid(propertyPath: string, invalidValue: string, message: string): SluiceError {
  const validationErrors: ValidationError[] = [{ propertyPath, invalidValue, message }]
  return new SluiceError('SLUICE_ERR_INVALID_INPUT', `${propertyPath}: ${message}.`, { validationErrors })
}

/**
 * Replaces the whole state of a connection (state/create_or_update_safe): the streams listed get
 * the given state, the others none. Refused with 423 while the connection has a job that has not
 * ended (a sync would overwrite it), and with 422 for the global and legacy state types, which
 * sluice's connectors do not keep.
 */
export async function replaceConnectionState(deps: Pick<ApiDeps, 'jobStore'>, connectionId: string, write: ConnectionStateWrite): Promise<Record<string, unknown>> {
  const type = write.stateType.toLowerCase()
  if (type !== 'stream' && type !== 'not_set') {
    throw invalid('connectionState.stateType', write.stateType, 'sluice keeps per-stream state only: use stream or not_set')
  }
  const active = await deps.jobStore.activeJob(connectionId)
  if (active !== undefined) {
    throw new SluiceError('SLUICE_ERR_SYNC_RUNNING', `Job ${active.id} of connection ${connectionId} is ${active.status}: its state cannot be replaced until it ends.`, { httpStatus: 423 })
  }
  const next: StreamStateRecord[] = []
  const seen = new Set<string>()
  ;(type === 'stream' ? (write.streamState ?? []) : []).forEach((s, i) => {
    const name = s.streamDescriptor?.name
    if (typeof name !== 'string' || name === '') throw invalid(`connectionState.streamState[${i}].streamDescriptor.name`, 'null', 'is required')
    const stream: StreamDescriptor = { name, namespace: s.streamDescriptor.namespace ?? null }
    if (seen.has(streamKey(stream))) throw invalid(`connectionState.streamState[${i}].streamDescriptor`, name, 'is listed twice')
    seen.add(streamKey(stream))
    next.push({ stream, state: s.streamState ?? null })
  })
  // Written first, then the streams no longer listed are cleared: a crash in between leaves old
  // state for streams the caller dropped, never a stream without the state it was given.
  await deps.jobStore.saveState(connectionId, next)
  const dropped = (await deps.jobStore.getState(connectionId)).filter((s) => !seen.has(streamKey(s.stream))).map((s) => s.stream)
  if (dropped.length > 0) await deps.jobStore.clearState(connectionId, dropped)
  return readConnectionState(deps, connectionId)
}
