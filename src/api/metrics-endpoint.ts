import type { FastifyInstance } from 'fastify'
import { SluiceMetrics, StoreGauges } from '../metrics/index.js'
import type { ApiDeps } from './deps.js'
import { WORKER_STALE_AFTER_MS } from './routes/worker-routes.js'
import { sluiceVersion } from './version.js'

/** Where Prometheus scrapes (its convention; outside the Config API's /api/v1). */
export const METRICS_PATH = '/metrics'

/**
 * Serves `GET /metrics` (Prometheus text format) and times every request by route pattern. The
 * store gauges are read at each scrape, so any API process reports the cluster's queue and
 * workers. Call before the routes are registered, so the hook sees them all.
 */
export function installMetricsEndpoint(app: FastifyInstance, deps: ApiDeps): void {
  // Process metrics come with the composition root's SluiceMetrics (one per process): each set
  // keeps an event-loop monitor running, which tests building many apps would pile up.
  const metrics = deps.metrics ?? new SluiceMetrics({ version: sluiceVersion(), processMetrics: false })
  const gauges = new StoreGauges(metrics.registry, {
    jobStore: deps.jobStore,
    workers: deps.workers,
    staleAfterMs: WORKER_STALE_AFTER_MS,
    ...(deps.now ? { now: deps.now } : {}),
  })
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern keeps the label set small; a URL no route matched is one label value.
    metrics.requestEnded(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime)
  })
  app.get(METRICS_PATH, async (_request, reply) => {
    await gauges.refresh()
    const { contentType, body } = await metrics.exposition()
    return reply.type(contentType).send(body)
  })
}
