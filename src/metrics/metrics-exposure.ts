import { SluiceError } from '../errors.js'

/**
 * Who may read `GET /metrics`: `off` (no endpoint), `public` (open, like health) or `auth`
 * (the API token, when one is set, as for every other call).
 */
export const METRICS_EXPOSURES = ['off', 'public', 'auth'] as const
export type MetricsExposure = (typeof METRICS_EXPOSURES)[number]

/** Reads `SLUICE_METRICS` (default `public`); an unknown value stops the start with the accepted ones. */
export function metricsExposureFromEnv(env: NodeJS.ProcessEnv): MetricsExposure {
  const value = (env.SLUICE_METRICS ?? '').trim().toLowerCase()
  if (value === '') return 'public'
  if ((METRICS_EXPOSURES as readonly string[]).includes(value)) return value as MetricsExposure
  throw new SluiceError('SLUICE_ERR_INVALID_INPUT', `SLUICE_METRICS must be one of ${METRICS_EXPOSURES.join(', ')}; got "${env.SLUICE_METRICS}".`)
}
