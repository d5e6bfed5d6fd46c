import type {
  AirbyteCatalog,
  AirbyteStream,
  ConfiguredCatalog,
  ConnectorSpecification,
  DestinationSyncMode,
  StateMessage,
  StreamDescriptor,
  SyncMode,
} from '../../protocol/index.js'
import { streamKey } from '../../protocol/index.js'

/*
 * Airbyte protocol v0.5 as it travels between processes (snake_case JSON lines), and the
 * conversions to and from sluice's camelCase protocol types.
 */

export interface WireStreamDescriptor {
  name: string
  namespace?: string | null
}

export interface WireStream {
  name: string
  namespace?: string | null
  json_schema: Record<string, unknown>
  supported_sync_modes?: SyncMode[]
  source_defined_cursor?: boolean
  default_cursor_field?: string[]
  source_defined_primary_key?: string[][]
  is_resumable?: boolean
}

export interface WireCatalog {
  streams: WireStream[]
}

export interface WireConfiguredStream {
  stream: WireStream
  sync_mode: SyncMode
  destination_sync_mode: DestinationSyncMode
  cursor_field?: string[]
  primary_key?: string[][]
  sync_id?: number
  generation_id?: number
  minimum_generation_id?: number
}

export interface WireConfiguredCatalog {
  streams: WireConfiguredStream[]
}

export interface WireStreamState {
  stream_descriptor: WireStreamDescriptor
  stream_state?: unknown
}

export interface WireState {
  type?: 'LEGACY' | 'STREAM' | 'GLOBAL'
  stream?: WireStreamState
  global?: { shared_state?: unknown; stream_states?: WireStreamState[] }
  data?: unknown
  sourceStats?: { recordCount?: number }
  destinationStats?: { recordCount?: number }
}

export interface WireTrace {
  type: 'ERROR' | 'ESTIMATE' | 'STREAM_STATUS' | 'ANALYTICS'
  emitted_at?: number
  error?: { message?: string; internal_message?: string; stack_trace?: string; failure_type?: string; stream_descriptor?: WireStreamDescriptor }
  estimate?: { name: string; namespace?: string | null; type?: 'STREAM' | 'SYNC'; row_estimate?: number; byte_estimate?: number }
  stream_status?: { stream_descriptor: WireStreamDescriptor; status: 'STARTED' | 'RUNNING' | 'COMPLETE' | 'INCOMPLETE' }
  analytics?: { type?: string; value?: unknown }
}

export interface WireSpec {
  documentationUrl?: string
  changelogUrl?: string
  connectionSpecification: Record<string, unknown>
  supportsIncremental?: boolean
  supported_destination_sync_modes?: DestinationSyncMode[]
  protocol_version?: string
  [extra: string]: unknown
}

/** One Airbyte message (a line on a connector's stdout or a destination's stdin). */
export interface WireMessage {
  type: 'RECORD' | 'STATE' | 'LOG' | 'SPEC' | 'CONNECTION_STATUS' | 'CATALOG' | 'TRACE' | 'CONTROL'
  record?: { stream: string; namespace?: string | null; data: Record<string, unknown>; emitted_at?: number }
  state?: WireState
  log?: { level: string; message: string; stack_trace?: string }
  spec?: WireSpec
  connectionStatus?: { status: 'SUCCEEDED' | 'FAILED'; message?: string }
  catalog?: WireCatalog
  trace?: WireTrace
  control?: { type: 'CONNECTOR_CONFIG'; emitted_at?: number; connectorConfig?: { config: Record<string, unknown> } }
}

const MESSAGE_TYPES: ReadonlySet<string> = new Set(['RECORD', 'STATE', 'LOG', 'SPEC', 'CONNECTION_STATUS', 'CATALOG', 'TRACE', 'CONTROL'])

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** True for a JSON value shaped like an Airbyte message (a known `type` and its payload object). */
export function isWireMessage(v: unknown): v is WireMessage {
  if (!isObject(v) || typeof v.type !== 'string' || !MESSAGE_TYPES.has(v.type)) return false
  const payload = v.type === 'CONNECTION_STATUS' ? v.connectionStatus : v[v.type.toLowerCase()]
  return isObject(payload)
}

export function descriptorFromWire(d: WireStreamDescriptor): StreamDescriptor {
  return d.namespace === undefined || d.namespace === null ? { name: d.name } : { name: d.name, namespace: d.namespace }
}

export function descriptorToWire(d: StreamDescriptor): WireStreamDescriptor {
  return d.namespace === undefined || d.namespace === null ? { name: d.name } : { name: d.name, namespace: d.namespace }
}

export function specFromWire(spec: WireSpec): ConnectorSpecification {
  const out: ConnectorSpecification = { connectionSpecification: isObject(spec.connectionSpecification) ? spec.connectionSpecification : {} }
  if (typeof spec.documentationUrl === 'string') out.documentationUrl = spec.documentationUrl
  if (Array.isArray(spec.supported_destination_sync_modes)) out.supportedDestinationSyncModes = spec.supported_destination_sync_modes
  if (typeof spec.supportsIncremental === 'boolean') out.supportsIncremental = spec.supportsIncremental
  return out
}

export function specToWire(spec: ConnectorSpecification): WireSpec {
  const out: WireSpec = { connectionSpecification: spec.connectionSpecification }
  if (spec.documentationUrl !== undefined) out.documentationUrl = spec.documentationUrl
  if (spec.supportsIncremental !== undefined) out.supportsIncremental = spec.supportsIncremental
  if (spec.supportedDestinationSyncModes !== undefined) out.supported_destination_sync_modes = spec.supportedDestinationSyncModes
  return out
}

export function streamFromWire(s: WireStream): AirbyteStream {
  const out: AirbyteStream = {
    name: s.name,
    jsonSchema: isObject(s.json_schema) ? s.json_schema : {},
    supportedSyncModes: Array.isArray(s.supported_sync_modes) && s.supported_sync_modes.length > 0 ? s.supported_sync_modes : ['full_refresh'],
  }
  if (s.namespace !== undefined && s.namespace !== null) out.namespace = s.namespace
  if (s.source_defined_cursor !== undefined) out.sourceDefinedCursor = s.source_defined_cursor
  if (s.default_cursor_field !== undefined) out.defaultCursorField = s.default_cursor_field
  if (s.source_defined_primary_key !== undefined) out.sourceDefinedPrimaryKey = s.source_defined_primary_key
  if (s.is_resumable !== undefined) out.isResumable = s.is_resumable
  return out
}

export function streamToWire(s: AirbyteStream): WireStream {
  const out: WireStream = { name: s.name, json_schema: s.jsonSchema, supported_sync_modes: s.supportedSyncModes }
  if (s.namespace !== undefined && s.namespace !== null) out.namespace = s.namespace
  if (s.sourceDefinedCursor !== undefined) out.source_defined_cursor = s.sourceDefinedCursor
  if (s.defaultCursorField !== undefined) out.default_cursor_field = s.defaultCursorField
  if (s.sourceDefinedPrimaryKey !== undefined) out.source_defined_primary_key = s.sourceDefinedPrimaryKey
  if (s.isResumable !== undefined) out.is_resumable = s.isResumable
  return out
}

export function catalogFromWire(c: WireCatalog): AirbyteCatalog {
  return { streams: (Array.isArray(c.streams) ? c.streams : []).map(streamFromWire) }
}

export function catalogToWire(c: AirbyteCatalog): WireCatalog {
  return { streams: c.streams.map(streamToWire) }
}

export function configuredCatalogToWire(c: ConfiguredCatalog): WireConfiguredCatalog {
  return {
    streams: c.streams.map((s) => ({
      stream: streamToWire(s.stream),
      sync_mode: s.syncMode,
      destination_sync_mode: s.destinationSyncMode,
      cursor_field: s.cursorField,
      primary_key: s.primaryKey,
      sync_id: s.syncId,
      generation_id: s.generationId,
      minimum_generation_id: s.minimumGenerationId,
    })),
  }
}

/** Airbyte's configured catalog as a connector receives it; ids default as Airbyte's CDKs do. */
export function configuredCatalogFromWire(c: WireConfiguredCatalog): ConfiguredCatalog {
  return {
    streams: (Array.isArray(c.streams) ? c.streams : []).map((s) => ({
      stream: streamFromWire(s.stream),
      syncMode: s.sync_mode,
      destinationSyncMode: s.destination_sync_mode ?? 'append',
      cursorField: s.cursor_field ?? [],
      primaryKey: s.primary_key ?? [],
      syncId: s.sync_id ?? 0,
      generationId: s.generation_id ?? 0,
      minimumGenerationId: s.minimum_generation_id ?? 0,
    })),
  }
}

/*
 * sluice stores state per stream (the engine commits and saves one stream's state at a time).
 * STREAM states map one to one. GLOBAL and LEGACY states cover the whole connector: they are
 * split into one envelope per stream, each carrying the shared part and a sequence number, and
 * rebuilt before the next read. If an attempt died between two pieces of one split state, the
 * oldest shared part wins, so the source replays (at least once) rather than skips.
 */

/** Key of the envelope a split GLOBAL state leaves in each stream's state. */
export const GLOBAL_STATE_KEY = '_sluice_global_state'
/** Key of the envelope a split LEGACY state leaves in each stream's state. */
export const LEGACY_STATE_KEY = '_sluice_legacy_state'

interface StateEnvelope {
  seq: number
  shared_state?: unknown
  data?: unknown
}

let lastSeq = 0
/** Increasing across attempts (a clock) and within one (a counter). */
function nextSeq(): number {
  lastSeq = Math.max(lastSeq + 1, Date.now() * 1000)
  return lastSeq
}

function stateData(value: unknown): Record<string, unknown> | null {
  if (value === undefined || value === null) return null
  return isObject(value) ? value : { value }
}

/**
 * Turns one Airbyte STATE into sluice's per-stream states. `streams` are the configured
 * streams, needed to spread a LEGACY or GLOBAL state.
 */
export function statesFromWire(state: WireState, streams: readonly StreamDescriptor[]): StateMessage[] {
  const type = state.type ?? (state.data !== undefined ? 'LEGACY' : state.global ? 'GLOBAL' : 'STREAM')
  if (type === 'STREAM') {
    if (!state.stream || !isObject(state.stream.stream_descriptor)) return []
    return [{ type: 'STATE', stream: descriptorFromWire(state.stream.stream_descriptor), data: stateData(state.stream.stream_state) }]
  }
  const seq = nextSeq()
  if (type === 'GLOBAL') {
    const perStream = new Map<string, unknown>()
    for (const s of state.global?.stream_states ?? []) perStream.set(streamKey(descriptorFromWire(s.stream_descriptor)), s.stream_state)
    const all = new Map<string, StreamDescriptor>(streams.map((d) => [streamKey(d), d]))
    for (const s of state.global?.stream_states ?? []) {
      const d = descriptorFromWire(s.stream_descriptor)
      if (!all.has(streamKey(d))) all.set(streamKey(d), d)
    }
    return [...all.entries()].map(([key, stream]) => {
      const envelope: StateEnvelope = { seq, shared_state: state.global?.shared_state ?? null }
      const data: Record<string, unknown> = { [GLOBAL_STATE_KEY]: envelope }
      if (perStream.has(key)) data.stream_state = perStream.get(key) ?? null
      return { type: 'STATE', stream, data }
    })
  }
  const envelope: StateEnvelope = { seq, data: state.data ?? null }
  return streams.map((stream) => ({ type: 'STATE', stream, data: { [LEGACY_STATE_KEY]: envelope } }))
}

function envelopeOf(data: Record<string, unknown> | null, key: string): StateEnvelope | undefined {
  const e = data?.[key]
  return isObject(e) && typeof e.seq === 'number' ? (e as unknown as StateEnvelope) : undefined
}

/** The state to hand a source's `--state` file: Airbyte's state array, or a legacy state's blob. */
export function statesToWire(states: readonly StateMessage[]): unknown {
  let legacy: StateEnvelope | undefined
  let shared: StateEnvelope | undefined
  const streamStates: WireStreamState[] = []
  const globalStreams: WireStreamState[] = []
  for (const s of states) {
    if (s.data === null) continue
    const le = envelopeOf(s.data, LEGACY_STATE_KEY)
    if (le) {
      if (!legacy || le.seq < legacy.seq) legacy = le
      continue
    }
    const ge = envelopeOf(s.data, GLOBAL_STATE_KEY)
    if (ge) {
      if (!shared || ge.seq < shared.seq) shared = ge
      if ('stream_state' in s.data) globalStreams.push({ stream_descriptor: descriptorToWire(s.stream), stream_state: s.data.stream_state })
      continue
    }
    streamStates.push({ stream_descriptor: descriptorToWire(s.stream), stream_state: s.data })
  }
  if (legacy) return legacy.data ?? {}
  const out: WireState[] = streamStates.map((stream) => ({ type: 'STREAM', stream }))
  if (shared) out.push({ type: 'GLOBAL', global: { shared_state: shared.shared_state ?? null, stream_states: globalStreams } })
  return out
}

/** A STATE line for a destination: one stream's state, with the record count Airbyte sends along. */
export function stateToWire(state: StateMessage): WireState {
  const out: WireState = { type: 'STREAM', stream: { stream_descriptor: descriptorToWire(state.stream), stream_state: state.data } }
  if (state.recordCount !== undefined) out.sourceStats = { recordCount: state.recordCount }
  return out
}

/** JSON with object keys sorted: equal values give equal text whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (isObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => value[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`)
      .join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}
