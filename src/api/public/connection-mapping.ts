import { SluiceError, type ValidationError } from '../../errors.js'
import type { AirbyteStream, DestinationSyncMode, SyncMode } from '../../protocol/index.js'
import type { ConnectionRecord, ScheduleRecord } from '../../store/config-store.js'
import { defaultSyncModes } from '../../domain/catalog-conversion.js'
import { toConnectionRead } from '../connection-service.js'
import type { ConnectionBody } from '../routes/connection-routes.js'

/**
 * The Public API's connection shape <-> the Config API's. The Public API names a stream's sync
 * mode with one word (`incremental_deduped_history` = incremental + append_dedup), its
 * namespace definition `custom_format` (Config: `customformat`) and its schema-change policy
 * `nonBreakingSchemaUpdatesBehavior` (Config: `nonBreakingChangesPreference`).
 */

/** The combined sync modes sluice runs, with their Config API pair. */
const SYNC_MODE_PAIRS = {
  full_refresh_overwrite: ['full_refresh', 'overwrite'],
  full_refresh_overwrite_deduped: ['full_refresh', 'overwrite_dedup'],
  full_refresh_append: ['full_refresh', 'append'],
  incremental_append: ['incremental', 'append'],
  incremental_deduped_history: ['incremental', 'append_dedup'],
} as const satisfies Record<string, readonly [SyncMode, DestinationSyncMode]>

export type PublicSyncMode = keyof typeof SYNC_MODE_PAIRS
export const PUBLIC_SYNC_MODES = Object.keys(SYNC_MODE_PAIRS) as PublicSyncMode[]
/** Modes of Airbyte's enum that need destination features sluice's destinations lack (update, soft delete). */
const UNSUPPORTED_SYNC_MODES = ['full_refresh_update', 'full_refresh_soft_delete', 'incremental_update', 'incremental_soft_delete']
export const ALL_PUBLIC_SYNC_MODES = [...PUBLIC_SYNC_MODES, ...UNSUPPORTED_SYNC_MODES]

const BEHAVIOR_TO_PREFERENCE: Record<string, string> = {
  ignore: 'ignore',
  disable_connection: 'disable',
  propagate_columns: 'propagate_columns',
  propagate_fully: 'propagate_fully',
}

/** The combined mode of a Config API pair (undefined when the pair has no Public name). */
export function publicSyncMode(syncMode: unknown, destinationSyncMode: unknown): PublicSyncMode | undefined {
  return PUBLIC_SYNC_MODES.find((m) => SYNC_MODE_PAIRS[m][0] === syncMode && SYNC_MODE_PAIRS[m][1] === destinationSyncMode)
}

/** The Public modes a stream and a destination support together (`syncModes` of /streams). */
export function publicSyncModes(sourceModes: readonly SyncMode[], destinationModes: readonly DestinationSyncMode[]): PublicSyncMode[] {
  return PUBLIC_SYNC_MODES.filter((m) => sourceModes.includes(SYNC_MODE_PAIRS[m][0]) && destinationModes.includes(SYNC_MODE_PAIRS[m][1]))
}

/** A `StreamConfiguration` as a client writes it. */
export interface PublicStreamConfiguration {
  name: string
  namespace?: string
  syncMode?: string
  cursorField?: string[]
  primaryKey?: string[][]
  selectedFields?: Array<{ fieldPath?: string[] }>
  mappers?: unknown[]
}

/** A `ConnectionCreateRequest` / `ConnectionPatchRequest`. */
export interface PublicConnectionWrite {
  name?: string
  sourceId?: string
  destinationId?: string
  configurations?: { streams?: PublicStreamConfiguration[] }
  schedule?: { scheduleType: string; cronExpression?: string; basicTiming?: string }
  dataResidency?: string
  namespaceDefinition?: string
  namespaceFormat?: string
  prefix?: string
  nonBreakingSchemaUpdatesBehavior?: string
  status?: ConnectionRecord['status']
  tags?: unknown[]
}

function invalid(errors: ValidationError[]): SluiceError {
  return new SluiceError('SLUICE_ERR_INVALID_INPUT', `Invalid connection: ${errors.map((e) => `${e.propertyPath} ${e.message}`).join('; ')}.`, { validationErrors: errors })
}

/** `basicTiming` as Airbyte writes it: "Every 24 hours". */
function basicTiming(schedule: Extract<ScheduleRecord, { type: 'basic' }>): string {
  return `Every ${schedule.units} ${schedule.timeUnit}`
}

/** The Config API's schedule fields of a Public `schedule`. */
function scheduleInput(schedule: NonNullable<PublicConnectionWrite['schedule']>): Pick<ConnectionBody, 'scheduleType' | 'scheduleData'> {
  switch (schedule.scheduleType) {
    case 'manual':
      return { scheduleType: 'manual' }
    case 'cron':
      // The cron expression is Quartz syntax in UTC, as Airbyte's Public API takes it.
      return { scheduleType: 'cron', scheduleData: { cron: { cronExpression: schedule.cronExpression, cronTimeZone: 'UTC' } } }
    default: {
      const match = /^every\s+(\d+)\s+(\w+)$/i.exec(schedule.basicTiming ?? '')
      if (!match) throw invalid([{ propertyPath: 'schedule.basicTiming', invalidValue: schedule.basicTiming ?? 'null', message: "must read 'Every <n> <minutes|hours|days|weeks|months>' for a basic schedule" }])
      return { scheduleType: 'basic', scheduleData: { basicSchedule: { units: Number(match[1]), timeUnit: match[2]?.toLowerCase() } } }
    }
  }
}

/** The Config API's syncCatalog streams of Public stream configurations (validated later against the discovered catalog). */
function streamsInput(streams: readonly PublicStreamConfiguration[]): Array<{ stream: Record<string, unknown>; config: Record<string, unknown> }> {
  const errors: ValidationError[] = []
  const out = streams.map((s, i) => {
    const config: Record<string, unknown> = { selected: true }
    if (s.syncMode !== undefined) {
      const pair = SYNC_MODE_PAIRS[s.syncMode as PublicSyncMode]
      if (pair === undefined) {
        errors.push({
          propertyPath: `configurations.streams[${i}].syncMode`,
          invalidValue: s.syncMode,
          message: `is not supported by sluice's destinations (supported: ${PUBLIC_SYNC_MODES.join(', ')})`,
        })
      } else {
        config.syncMode = pair[0]
        config.destinationSyncMode = pair[1]
      }
    }
    // An empty path is "not chosen" (generated clients send []): the source's default applies.
    if (s.cursorField !== undefined && s.cursorField.length > 0) config.cursorField = s.cursorField
    if (s.primaryKey !== undefined && s.primaryKey.length > 0) config.primaryKey = s.primaryKey
    // Airbyte's field selection: the listed top-level fields (validated with the catalog); none listed = every field.
    if (s.selectedFields !== undefined && s.selectedFields.length > 0) {
      config.fieldSelectionEnabled = true
      config.selectedFields = s.selectedFields
    }
    // Mappers would change what is synced; sluice has none.
    if (s.mappers !== undefined && s.mappers.length > 0) {
      const propertyPath = `configurations.streams[${i}].mappers`
      throw new SluiceError('SLUICE_ERR_UNSUPPORTED', `${propertyPath}: sluice syncs the selected fields of a stream unchanged; mappers are not supported.`, {
        validationErrors: [{ propertyPath, invalidValue: JSON.stringify(s.mappers), message: 'mappers are not supported' }],
      })
    }
    return { stream: s.namespace === undefined ? { name: s.name } : { name: s.name, namespace: s.namespace }, config }
  })
  if (errors.length > 0) throw invalid(errors)
  return out
}

/** The Config API body of a Public create or patch: only the fields the caller sent. */
export function toConnectionBody(write: PublicConnectionWrite): ConnectionBody {
  const body: ConnectionBody = {}
  if (write.name !== undefined) body.name = write.name
  if (write.sourceId !== undefined) body.sourceId = write.sourceId
  if (write.destinationId !== undefined) body.destinationId = write.destinationId
  if (write.status !== undefined) body.status = write.status
  if (write.prefix !== undefined) body.prefix = write.prefix
  if (write.namespaceFormat !== undefined) body.namespaceFormat = write.namespaceFormat
  if (write.namespaceDefinition !== undefined) body.namespaceDefinition = write.namespaceDefinition === 'custom_format' ? 'customformat' : (write.namespaceDefinition as ConnectionRecord['namespaceDefinition'])
  if (write.nonBreakingSchemaUpdatesBehavior !== undefined) body.nonBreakingChangesPreference = BEHAVIOR_TO_PREFERENCE[write.nonBreakingSchemaUpdatesBehavior]
  if (write.dataResidency !== undefined) body.geography = write.dataResidency
  if (write.tags !== undefined) body.tags = write.tags
  if (write.schedule !== undefined) Object.assign(body, scheduleInput(write.schedule))
  if (write.configurations?.streams !== undefined) body.syncCatalog = { streams: streamsInput(write.configurations.streams) }
  return body
}

/** `ConnectionResponse` of a stored connection: its selected streams with their combined mode. */
export function toConnectionResponse(conn: ConnectionRecord): Record<string, unknown> {
  const read = toConnectionRead(conn)
  const schedule: Record<string, unknown> = { scheduleType: conn.schedule.type }
  if (conn.schedule.type === 'cron') schedule.cronExpression = conn.schedule.cronExpression
  if (conn.schedule.type === 'basic') schedule.basicTiming = basicTiming(conn.schedule)
  const preference = String(read.nonBreakingChangesPreference)
  const streams = conn.syncCatalog.streams
    .filter((e) => e.config.selected !== false)
    .map((e) => {
      const s: Record<string, unknown> = { name: e.stream.name }
      if (typeof e.stream.namespace === 'string' && e.stream.namespace !== '') s.namespace = e.stream.namespace
      const mode = publicSyncMode(e.config.syncMode, e.config.destinationSyncMode)
      if (mode !== undefined) s.syncMode = mode
      s.cursorField = Array.isArray(e.config.cursorField) ? e.config.cursorField : []
      s.primaryKey = Array.isArray(e.config.primaryKey) ? e.config.primaryKey : []
      if (e.config.fieldSelectionEnabled === true && Array.isArray(e.config.selectedFields)) s.selectedFields = e.config.selectedFields
      return s
    })
  const response: Record<string, unknown> = {
    connectionId: conn.connectionId,
    name: conn.name,
    sourceId: conn.sourceId,
    destinationId: conn.destinationId,
    workspaceId: conn.workspaceId,
    status: conn.status,
    schedule,
    dataResidency: read.geography,
    nonBreakingSchemaUpdatesBehavior: Object.keys(BEHAVIOR_TO_PREFERENCE).find((k) => BEHAVIOR_TO_PREFERENCE[k] === preference) ?? 'ignore',
    namespaceDefinition: conn.namespaceDefinition === 'customformat' ? 'custom_format' : conn.namespaceDefinition,
    prefix: conn.prefix,
    configurations: { streams },
    createdAt: conn.createdAt,
    tags: Array.isArray(read.tags) ? read.tags : [],
  }
  if (conn.namespaceFormat !== undefined) response.namespaceFormat = conn.namespaceFormat
  return response
}

/** The mode a stream gets when the caller names none (the Config API's default pair, `defaultSyncModes`). */
export function defaultPublicSyncMode(stream: AirbyteStream, destinationModes: readonly DestinationSyncMode[]): PublicSyncMode | undefined {
  const pair = defaultSyncModes(stream, destinationModes)
  return pair === undefined ? undefined : publicSyncMode(pair[0], pair[1])
}
