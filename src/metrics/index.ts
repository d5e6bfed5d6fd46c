export { METRICS_EXPOSURES, metricsExposureFromEnv, type MetricsExposure } from './metrics-exposure.js'
export { SluiceMetrics, type AttemptEnd, type AttemptEndedSample, type SluiceMetricsOptions, type WorkerMetrics } from './sluice-metrics.js'
export { StoreGauges, type StoreGaugeSources } from './store-gauges.js'
