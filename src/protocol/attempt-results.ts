import type { FailureType } from '../errors.js'
import type { StreamDescriptor } from './catalog.js'

/*
 * What a sync attempt reports: record and byte counts per stream and the reasons it failed.
 * The engine produces them and the job store keeps them, so they sit below both.
 */

export interface StreamStats {
  recordsEmitted: number
  bytesEmitted: number
  recordsCommitted: number
  bytesCommitted: number
  stateMessagesEmitted: number
}

export interface StreamStatsEntry {
  streamName: string
  streamNamespace?: string
  stats: StreamStats
}

export interface FailureReasonRecord {
  failureOrigin: 'source' | 'destination' | 'replication' | 'persistence' | 'airbyte_platform' | 'unknown'
  failureType: FailureType
  externalMessage: string
  internalMessage?: string
  stacktrace?: string
  retryable: boolean
  /** epoch ms */
  timestamp: number
  streamDescriptor?: StreamDescriptor
}
