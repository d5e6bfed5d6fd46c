import { configError, type SluiceError, systemError, transientError } from '../../errors.js'

export const TEST_FAILURE_TYPES = ['config', 'system', 'transient'] as const
export type TestFailureType = (typeof TEST_FAILURE_TYPES)[number]

/** The failure knobs shared by the test source and the test destination. */
export interface FailureKnobs {
  /**
   * Fail once this many records have passed in this run (every run, unless transientFailures is
   * set). The source emits exactly this many; the destination fails on the batch that would exceed it.
   */
  failAfterRecords?: number
  /** Type of the failAfterRecords error (default system). */
  failureType: TestFailureType
  /** Only the first N runs (counted per runKey in the data dir) fail, with a transient error, after failAfterRecords (default 0) records. */
  transientFailures?: number
  runKey: string
  /** Pause before each batch (ms). */
  delayMs: number
}

/** JSON Schema properties of the knobs, merged into both specs. */
export const failureKnobProperties = {
  failAfterRecords: { type: 'integer', minimum: 0, description: 'Fail once this many records have passed in a run.' },
  failureType: { type: 'string', enum: [...TEST_FAILURE_TYPES], default: 'system', description: 'Failure type of failAfterRecords.' },
  transientFailures: { type: 'integer', minimum: 0, description: 'The first N runs fail with a transient error (after failAfterRecords records, default 0).' },
  runKey: { type: 'string', default: 'default', description: 'Key under which runs are counted for transientFailures.' },
  delayMs: { type: 'integer', minimum: 0, default: 0, description: 'Pause before each batch, in milliseconds.' },
} as const

function optionalInteger(config: Record<string, unknown>, key: string): number | undefined {
  const v = config[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw configError(`'${key}' must be a non-negative integer.`)
  return v
}

export function parseFailureKnobs(config: Record<string, unknown>): FailureKnobs {
  const failureType = config.failureType ?? 'system'
  if (!(TEST_FAILURE_TYPES as readonly unknown[]).includes(failureType)) throw configError(`'failureType' must be one of ${TEST_FAILURE_TYPES.join(', ')}.`)
  const runKey = config.runKey ?? 'default'
  if (typeof runKey !== 'string') throw configError(`'runKey' must be a string.`)
  return {
    failAfterRecords: optionalInteger(config, 'failAfterRecords'),
    failureType: failureType as TestFailureType,
    transientFailures: optionalInteger(config, 'transientFailures'),
    runKey,
    delayMs: optionalInteger(config, 'delayMs') ?? 0,
  }
}

/** What this run must do: fail after `afterRecords` records with `error`, or never. */
export interface PlannedFailure {
  afterRecords: number
  error: SluiceError
}

export function planFailure(knobs: FailureKnobs, runNumber: number, side: string): PlannedFailure | undefined {
  if (knobs.transientFailures !== undefined) {
    if (runNumber > knobs.transientFailures) return undefined
    return {
      afterRecords: knobs.failAfterRecords ?? 0,
      error: transientError(`Test ${side}: planned transient failure (run ${runNumber} of ${knobs.transientFailures} failing runs).`),
    }
  }
  if (knobs.failAfterRecords === undefined) return undefined
  const message = `Test ${side}: planned ${knobs.failureType} failure after ${knobs.failAfterRecords} records.`
  const error = knobs.failureType === 'config' ? configError(message) : knobs.failureType === 'transient' ? transientError(message) : systemError(message)
  return { afterRecords: knobs.failAfterRecords, error }
}
