import type { StreamDescriptor } from './catalog.js'

/** The database sources' cursor state: Airbyte's `cursor_based` shape (version 2), with the record count at the cursor value. */
export interface CursorBasedState {
  version: 2
  state_type: 'cursor_based'
  stream_name: string
  stream_namespace: string
  cursor_field: string[]
  cursor: string
  cursor_record_count: number
}

/** A saved state when it is a cursor state, whichever cursor field it names. */
export function savedCursorState(saved: Record<string, unknown> | null | undefined): CursorBasedState | undefined {
  return saved?.state_type === 'cursor_based' && typeof saved.cursor === 'string' ? (saved as unknown as CursorBasedState) : undefined
}

/** The state after reading: the last cursor value read and its record count, else the prior ones. */
export function cursorBasedState(
  stream: StreamDescriptor,
  cursorField: string,
  last: { cursor: string; count: number } | undefined,
  prior: CursorBasedState | undefined,
): Record<string, unknown> {
  const s: CursorBasedState = {
    version: 2,
    state_type: 'cursor_based',
    stream_name: stream.name,
    stream_namespace: stream.namespace ?? '',
    cursor_field: [cursorField],
    cursor: last ? last.cursor : (prior?.cursor ?? ''),
    cursor_record_count: last ? last.count : (prior?.cursor_record_count ?? 0),
  }
  return s as unknown as Record<string, unknown>
}
