import type { FailureType } from '../../errors.js'
import type { ConnectionStatus, LogLevel, RecordBatch, StateMessage, StreamDescriptor, StreamStatus } from '../../protocol/index.js'
import { descriptorToWire, stateToWire, type WireMessage } from './airbyte-wire.js'

/*
 * Encoders of Airbyte messages as JSON lines: what sluice writes to an external destination's
 * stdin, and what `sluice connector` writes on stdout.
 */

function line(message: WireMessage): string {
  return `${JSON.stringify(message)}\n`
}

/**
 * A batch as Airbyte RECORD lines. The raw lines a source process wrote are reused as they are
 * (no parse, no re-encoding); other batches are encoded row by row into one buffer.
 */
export function recordLines(batch: RecordBatch): Buffer {
  if (batch.airbyteRecordLines !== undefined) return batch.airbyteRecordLines
  // The envelope around each row is the same for the whole batch: build it once.
  const ns = batch.stream.namespace
  const head = `{"type":"RECORD","record":{"stream":${JSON.stringify(batch.stream.name)}${ns === undefined || ns === null ? '' : `,"namespace":${JSON.stringify(ns)}`},"data":`
  const tail = `,"emitted_at":${batch.emittedAt}}}\n`
  const parts: string[] = []
  for (const row of batch.rows()) parts.push(head, JSON.stringify(row), tail)
  return Buffer.from(parts.join(''))
}

export function stateLine(state: StateMessage): string {
  return line({ type: 'STATE', state: stateToWire(state) })
}

export function streamStatusLine(stream: StreamDescriptor, status: StreamStatus, emittedAt = Date.now()): string {
  return line({ type: 'TRACE', trace: { type: 'STREAM_STATUS', emitted_at: emittedAt, stream_status: { stream_descriptor: descriptorToWire(stream), status } } })
}

export function estimateLine(stream: StreamDescriptor, rowEstimate: number | undefined, byteEstimate: number | undefined): string {
  const estimate: NonNullable<NonNullable<WireMessage['trace']>['estimate']> = { name: stream.name, type: 'STREAM' }
  if (stream.namespace !== undefined && stream.namespace !== null) estimate.namespace = stream.namespace
  if (rowEstimate !== undefined) estimate.row_estimate = rowEstimate
  if (byteEstimate !== undefined) estimate.byte_estimate = byteEstimate
  return line({ type: 'TRACE', trace: { type: 'ESTIMATE', emitted_at: Date.now(), estimate } })
}

export function logLine(level: LogLevel, message: string): string {
  return line({ type: 'LOG', log: { level, message } })
}

/** TRACE error: Airbyte's way to say why a connector failed and whether a retry may help. */
export function errorTraceLine(message: string, failureType: FailureType, internalMessage?: string): string {
  const error: NonNullable<NonNullable<WireMessage['trace']>['error']> = { message, failure_type: failureType === 'manual_cancellation' ? 'system_error' : failureType }
  if (internalMessage !== undefined) error.internal_message = internalMessage
  return line({ type: 'TRACE', trace: { type: 'ERROR', emitted_at: Date.now(), error } })
}

export function connectionStatusLine(status: ConnectionStatus): string {
  return line({ type: 'CONNECTION_STATUS', connectionStatus: { status: status.status === 'succeeded' ? 'SUCCEEDED' : 'FAILED', message: status.message } })
}

export function controlConfigLine(config: Record<string, unknown>): string {
  return line({ type: 'CONTROL', control: { type: 'CONNECTOR_CONFIG', emitted_at: Date.now(), connectorConfig: { config } } })
}
