import type { FastifyInstance } from 'fastify'
import { JOB_STATUSES, type JobListFilter, type JobRecord, type JobStatus } from '../../store/job-store.js'
import type { ApiDeps } from '../deps.js'
import { cancelJob, requireJob, startRefresh, startReset, startSync } from '../job-service.js'
import { configTypesOf, PUBLIC_JOB_TYPES, toJobResponse, type PublicJobType } from './job-response.js'
import { pageRequest, pageResponse } from './public-paging.js'
import { dateQuery, enumQuery, stringQuery, uuidList, uuidQuery } from './public-query.js'
import { invalidParam, publicRoute, type PublicCall } from './public-route.js'
import { rangeBound } from './public-time.js'

const createBody = {
  type: 'object',
  properties: { connectionId: { type: 'string', format: 'uuid' }, jobType: { type: 'string', enum: [...PUBLIC_JOB_TYPES] } },
  required: ['connectionId', 'jobType'],
}

/** Airbyte's `queued` is sluice's `pending`. */
const STATUS_FILTERS = [...JOB_STATUSES, 'queued'] as const

function jobIdParam(call: PublicCall<unknown>): number {
  const value = call.params.jobId ?? ''
  if (!/^\d+$/.test(value)) throw invalidParam('jobId', value, 'must be an integer')
  return Number(value)
}

async function jobResponse(deps: ApiDeps, job: JobRecord): Promise<Record<string, unknown>> {
  return toJobResponse(job, await deps.jobStore.listAttempts(job.id))
}

/** `orderBy=createdAt|DESC` (Airbyte's `field|method`). */
function orderBy(query: Record<string, unknown>): Pick<JobListFilter, 'orderByField' | 'orderByMethod'> {
  const value = stringQuery(query, 'orderBy')
  if (value === undefined) return {}
  const match = /^(createdAt|updatedAt)\|(ASC|DESC)$/i.exec(value)
  if (!match) throw invalidParam('orderBy', value, "must be 'createdAt|ASC', 'createdAt|DESC', 'updatedAt|ASC' or 'updatedAt|DESC'")
  return { orderByField: match[1]?.toLowerCase() === 'createdat' ? 'createdAt' : 'updatedAt', orderByMethod: match[2]?.toUpperCase() === 'ASC' ? 'ASC' : 'DESC' }
}

function newestFirst(filter: JobListFilter): (a: JobRecord, b: JobRecord) => number {
  const field = filter.orderByField ?? 'createdAt'
  const sign = filter.orderByMethod === 'ASC' ? 1 : -1
  return (a, b) => sign * (a[field] - b[field] || a.id - b.id)
}

/** POST /jobs, GET /jobs, GET /jobs/{jobId}, DELETE /jobs/{jobId} (cancel): the Config API's job rules, Airbyte's Public API shape. */
export function registerPublicJobRoutes(scope: FastifyInstance, deps: ApiDeps): void {
  publicRoute<{ connectionId: string; jobType: PublicJobType }>(
    scope,
    'POST',
    '/jobs',
    { summary: 'Start a sync, reset (clear) or refresh of a connection.', body: createBody, response: 'JobResponse' },
    async ({ body }) => {
      switch (body.jobType) {
        case 'sync':
          return jobResponse(deps, await startSync(deps, body.connectionId))
        case 'reset':
        case 'clear':
          return jobResponse(deps, await startReset(deps, body.connectionId, []))
        case 'refresh':
          // Airbyte's refresh of a whole connection: every stream again from scratch, older records dropped at the end.
          return jobResponse(deps, await startRefresh(deps, body.connectionId, 'truncate', []))
      }
    },
  )

  publicRoute(scope, 'GET', '/jobs/:jobId', { summary: 'A job.', response: 'JobResponse' }, async (call) =>
    jobResponse(deps, await requireJob(deps, jobIdParam(call))),
  )

  publicRoute(scope, 'DELETE', '/jobs/:jobId', { summary: 'Cancel a job (200 with the job).', response: 'JobResponse' }, async (call) =>
    jobResponse(deps, await cancelJob(deps, jobIdParam(call))),
  )

  publicRoute(
    scope,
    'GET',
    '/jobs',
    {
      summary: 'Jobs, newest first unless orderBy says otherwise.',
      query: {
        connectionId: { type: 'string', format: 'uuid' },
        workspaceIds: { type: 'array', items: { type: 'string', format: 'uuid' } },
        jobType: { type: 'string', enum: [...PUBLIC_JOB_TYPES] },
        status: { type: 'string', enum: [...STATUS_FILTERS] },
        createdAtStart: { type: 'string', format: 'date-time' },
        createdAtEnd: { type: 'string', format: 'date-time' },
        updatedAtStart: { type: 'string', format: 'date-time' },
        updatedAtEnd: { type: 'string', format: 'date-time' },
        orderBy: { type: 'string' },
        limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
        offset: { type: 'integer', minimum: 0, default: 0 },
      },
      response: 'JobsResponse',
    },
    async ({ query, request }) => {
      const page = pageRequest(query)
      const connectionId = uuidQuery(query, 'connectionId')
      const workspaceIds = uuidList(query, 'workspaceIds')
      const jobType = enumQuery(query, 'jobType', PUBLIC_JOB_TYPES)
      const status = enumQuery(query, 'status', STATUS_FILTERS)
      const filter: JobListFilter = { ...orderBy(query) }
      if (jobType !== undefined) filter.configTypes = configTypesOf(jobType)
      if (status !== undefined) filter.statuses = [status === 'queued' ? 'pending' : (status as JobStatus)]
      for (const key of ['createdAtStart', 'createdAtEnd', 'updatedAtStart', 'updatedAtEnd'] as const) {
        const ms = dateQuery(query, key)
        if (ms !== undefined) filter[key] = rangeBound(ms, key.endsWith('Start') ? 'start' : 'end')
      }
      // The connections whose jobs are asked for: undefined = every job.
      let connectionIds: string[] | undefined = connectionId === undefined ? undefined : [connectionId]
      if (workspaceIds !== undefined) {
        const all = await deps.configStore.listConnections({ includeDeprecated: true })
        const inWorkspaces = all.filter((c) => workspaceIds.includes(c.workspaceId)).map((c) => c.connectionId)
        if (connectionIds !== undefined) connectionIds = connectionIds.filter((id) => inWorkspaces.includes(id))
        else if (inWorkspaces.length < all.length) connectionIds = inWorkspaces
      }
      if (connectionIds === undefined || connectionIds.length === 1) {
        if (connectionIds?.[0] !== undefined) filter.configId = connectionIds[0]
        const { jobs, totalJobCount } = await deps.jobStore.listJobs({ ...filter, pageSize: page.limit, rowOffset: page.offset })
        return pageResponse(request, page, await Promise.all(jobs.map((j) => jobResponse(deps, j))), totalJobCount)
      }
      // Several connections (some workspaces only): each one's first offset+limit jobs, merged.
      const merged: JobRecord[] = []
      let total = 0
      for (const id of connectionIds) {
        const { jobs, totalJobCount } = await deps.jobStore.listJobs({ ...filter, configId: id, pageSize: page.offset + page.limit, rowOffset: 0 })
        merged.push(...jobs)
        total += totalJobCount
      }
      const slice = merged.sort(newestFirst(filter)).slice(page.offset, page.offset + page.limit)
      return pageResponse(request, page, await Promise.all(slice.map((j) => jobResponse(deps, j))), total)
    },
  )
}
