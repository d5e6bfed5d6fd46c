import type { FastifyInstance } from 'fastify'
import { JOB_CONFIG_TYPES, JOB_STATUSES, type JobConfigType, type JobListFilter, type JobStatus } from '../../store/job-store.js'
import type { ApiDeps } from '../deps.js'
import { cancelJob, requireJob, requireJobConnection } from '../job-service.js'
import { jobInfo, toAttemptRead, toJobRead } from '../job-reads.js'
import { objectSchema, postRoute, str } from '../route-helpers.js'
import { epochSeconds } from '../epoch-seconds.js'

const int = { type: 'integer' } as const
/** The most jobs one jobs/list page returns: bounds the work of one request. */
const MAX_PAGE_SIZE = 10_000
const connectionIdBody = objectSchema({ connectionId: str }, ['connectionId'])
const jobIdBody = objectSchema({ id: int }, ['id'])
const listBody = objectSchema(
  {
    configTypes: { type: 'array', minItems: 1, items: str },
    configId: str,
    includingJobId: int,
    statuses: { type: 'array', items: { type: 'string', enum: [...JOB_STATUSES] } },
    pagination: objectSchema({ pageSize: { type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE }, rowOffset: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } }),
    createdAtStart: { type: 'string', format: 'date-time' },
    createdAtEnd: { type: 'string', format: 'date-time' },
    updatedAtStart: { type: 'string', format: 'date-time' },
    updatedAtEnd: { type: 'string', format: 'date-time' },
    orderByField: { type: 'string', enum: ['createdAt', 'updatedAt'] },
    orderByMethod: { type: 'string', enum: ['ASC', 'DESC'] },
  },
  ['configTypes'],
)

interface ListBody {
  configTypes: string[]
  configId?: string
  includingJobId?: number
  statuses?: JobStatus[]
  pagination?: { pageSize?: number; rowOffset?: number }
  createdAtStart?: string
  createdAtEnd?: string
  updatedAtStart?: string
  updatedAtEnd?: string
  orderByField?: 'createdAt' | 'updatedAt'
  orderByMethod?: 'ASC' | 'DESC'
}

/** A range bound in epoch ms covering whole seconds, as Airbyte compares its second timestamps. */
function rangeStart(iso: string | undefined): number | undefined {
  return iso === undefined ? undefined : epochSeconds(Date.parse(iso)) * 1000
}

function rangeEnd(iso: string | undefined): number | undefined {
  return iso === undefined ? undefined : epochSeconds(Date.parse(iso)) * 1000 + 999
}

/**
 * `includingJobId`: grows the page (newest-first order) so that it reaches the given job, as
 * Airbyte does; a job outside the filter changes nothing.
 */
async function extendPageTo(deps: ApiDeps, filter: JobListFilter, jobId: number): Promise<void> {
  const target = await deps.jobStore.getJob(jobId)
  if (target === undefined || filter.orderByMethod === 'ASC' || filter.orderByField === 'updatedAt') return
  const newer = await deps.jobStore.listJobs({ ...filter, createdAtStart: target.createdAt, pageSize: Number.MAX_SAFE_INTEGER, rowOffset: 0 })
  const index = newer.jobs.findIndex((j) => j.id === jobId)
  const offset = filter.rowOffset ?? 0
  const pageSize = filter.pageSize ?? 200
  if (index >= offset + pageSize) filter.pageSize = index - offset + 1
}

/**
 * Job endpoints: jobs/get|get_without_logs|get_light|list|cancel|get_last_replication_job.
 */
export function registerJobRoutes(app: FastifyInstance, deps: ApiDeps): void {
  postRoute<{ id: number }>(app, 'jobs/get', { summary: 'A job with its attempts and their logs.', requestSchema: jobIdBody, response: 'JobInfoRead' }, async (body) =>
    jobInfo(deps, await requireJob(deps, body.id)),
  )

  postRoute<{ id: number }>(
    app,
    'jobs/get_without_logs',
    { summary: 'A job with its attempts (logLines empty).', requestSchema: jobIdBody, response: 'JobInfoRead' },
    async (body) => jobInfo(deps, await requireJob(deps, body.id), false),
  )

  postRoute<{ id: number }>(app, 'jobs/get_light', { summary: 'A job without attempts.', requestSchema: jobIdBody, response: 'JobInfoLightRead' }, async (body) => {
    const job = await requireJob(deps, body.id)
    return { job: toJobRead(job, await deps.jobStore.listAttempts(job.id)) }
  })

  postRoute<ListBody>(
    app,
    'jobs/list',
    { summary: 'Jobs of a connection, newest first, with pagination.', requestSchema: listBody, response: 'JobReadList' },
    async (body) => {
      const configTypes = body.configTypes.map((t) => t.toLowerCase()).filter((t): t is JobConfigType => (JOB_CONFIG_TYPES as readonly string[]).includes(t))
      // Only asked for types sluice never stores as jobs (check_connection_source...): nothing to list.
      if (configTypes.length === 0) return { jobs: [], totalJobCount: 0 }
      const filter: JobListFilter = { configTypes, pageSize: body.pagination?.pageSize ?? 200, rowOffset: body.pagination?.rowOffset ?? 0 }
      if (body.configId !== undefined) filter.configId = body.configId
      if (body.statuses !== undefined) filter.statuses = body.statuses
      if (body.orderByField !== undefined) filter.orderByField = body.orderByField
      if (body.orderByMethod !== undefined) filter.orderByMethod = body.orderByMethod
      const ranges = { createdAtStart: rangeStart(body.createdAtStart), createdAtEnd: rangeEnd(body.createdAtEnd), updatedAtStart: rangeStart(body.updatedAtStart), updatedAtEnd: rangeEnd(body.updatedAtEnd) }
      for (const [key, value] of Object.entries(ranges)) if (value !== undefined) filter[key as 'createdAtStart'] = value
      if (body.includingJobId !== undefined) await extendPageTo(deps, filter, body.includingJobId)
      const { jobs, totalJobCount } = await deps.jobStore.listJobs(filter)
      const items = await Promise.all(
        jobs.map(async (job) => {
          const attempts = await deps.jobStore.listAttempts(job.id)
          const read = toJobRead(job, attempts)
          // The seed reads id/status/summary on the item itself; real clients read item.job.
          return {
            job: read,
            attempts: attempts.map(toAttemptRead),
            id: job.id,
            status: job.status,
            configType: job.configType,
            configId: job.configId,
            createdAt: epochSeconds(job.createdAt),
            updatedAt: epochSeconds(job.updatedAt),
            summary: read.summary,
          }
        }),
      )
      return { jobs: items, totalJobCount }
    },
  )

  postRoute<{ id: number }>(
    app,
    'jobs/cancel',
    { summary: 'Cancel a job (a running attempt stops within seconds).', requestSchema: jobIdBody, response: 'JobInfoRead' },
    async (body) => jobInfo(deps, await cancelJob(deps, body.id)),
  )

  postRoute<{ connectionId: string }>(
    app,
    'jobs/get_last_replication_job',
    { summary: 'The newest sync job of a connection, if any.', requestSchema: connectionIdBody, response: 'JobOptionalRead' },
    async (body) => {
      await requireJobConnection(deps, body.connectionId)
      const job = (await deps.jobStore.listJobs({ configId: body.connectionId, configTypes: ['sync', 'refresh'], pageSize: 1 })).jobs[0]
      return job === undefined ? {} : { job: toJobRead(job, await deps.jobStore.listAttempts(job.id)) }
    },
  )
}
