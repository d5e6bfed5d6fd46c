export { runAttempt, DEFAULT_ENGINE_TUNING, type EngineTuning } from './run-attempt.js'
export { AttemptFailure, isAttemptFailure, toSluiceError, type FailureOrigin } from './attempt-failure.js'
export { mapStreamDescriptor } from './stream-mapper.js'
export type { AttemptInput, AttemptProgress, AttemptResult, NamespaceMapping } from './types.js'
