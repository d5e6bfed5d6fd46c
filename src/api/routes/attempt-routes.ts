import type { FastifyInstance } from 'fastify'
import { SluiceError } from '../../errors.js'
import type { ApiDeps } from '../deps.js'
import { attemptInfo } from '../job-reads.js'
import { objectSchema, postRoute } from '../route-helpers.js'
import { requireJob } from '../job-service.js'

const int = { type: 'integer' } as const

/** attempt/get_for_job: one attempt of a job, with its logs. */
export function registerAttemptRoutes(app: FastifyInstance, deps: ApiDeps): void {
  postRoute<{ jobId: number; attemptNumber: number }>(
    app,
    'attempt/get_for_job',
    {
      summary: 'One attempt of a job, with its logs.',
      requestSchema: objectSchema({ jobId: int, attemptNumber: { type: 'integer', minimum: 0 } }, ['jobId', 'attemptNumber']),
      response: 'AttemptInfoRead',
    },
    async (body) => {
      await requireJob(deps, body.jobId)
      const attempt = await deps.jobStore.getAttempt(body.jobId, body.attemptNumber)
      if (attempt === undefined) {
        throw new SluiceError('SLUICE_ERR_NOT_FOUND', `Could not find attempt ${body.attemptNumber} of job ${body.jobId}`, { id: body.attemptNumber })
      }
      return attemptInfo(deps, attempt, true)
    },
  )
}
