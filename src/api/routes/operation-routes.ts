import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { notFound, SluiceError } from '../../errors.js'
import type { OperationRecord } from '../../store/config-store.js'
import { operatorProblem } from '../../domain/operator-problem.js'
import { connectionOperations } from '../../domain/connection-operations.js'
import type { ApiDeps } from '../deps.js'
import { nameField, objectSchema, postRoute, uuid } from '../route-helpers.js'
import { requireWorkspace } from '../workspace-service.js'

const operator = objectSchema({ operatorType: { type: 'string', enum: ['normalization', 'dbt', 'webhook'] }, webhook: { type: 'object' } }, ['operatorType'])
const createBody = objectSchema({ workspaceId: uuid, name: nameField, operatorConfiguration: operator }, ['workspaceId', 'name', 'operatorConfiguration'])
const updateBody = objectSchema({ operationId: uuid, name: nameField, operatorConfiguration: operator }, ['operationId', 'name', 'operatorConfiguration'])
const operationIdBody = objectSchema({ operationId: uuid }, ['operationId'])
const connectionIdBody = objectSchema({ connectionId: uuid }, ['connectionId'])

/** `OperationRead`. */
export function toOperationRead(op: OperationRecord): Record<string, unknown> {
  return { operationId: op.operationId, workspaceId: op.workspaceId, name: op.name, operatorConfiguration: op.operatorConfiguration }
}

/** Loads a live operation or throws Airbyte's 404. */
export async function requireOperation(deps: ApiDeps, operationId: string): Promise<OperationRecord> {
  const op = await deps.configStore.getOperation(operationId)
  if (op === undefined || op.tombstone) throw notFound('StandardSyncOperation', operationId)
  return op
}

/** 422 naming the field when the operator configuration cannot run in this workspace. */
export async function checkOperator(deps: ApiDeps, workspaceId: string, config: Record<string, unknown>): Promise<void> {
  const ws = await requireWorkspace(deps, workspaceId)
  const problem = operatorProblem(config, ws.webhookConfigs ?? [])
  if (problem) {
    throw new SluiceError('SLUICE_ERR_INVALID_INPUT', `${problem.propertyPath} ${problem.message}.`, {
      validationErrors: [{ propertyPath: problem.propertyPath, invalidValue: JSON.stringify(config), message: problem.message }],
    })
  }
}

/** operations/check, create, get, list, update, delete: connection operations (webhooks). */
export function registerOperationRoutes(app: FastifyInstance, deps: ApiDeps): void {
  postRoute<Record<string, unknown>>(
    app,
    'operations/check',
    { summary: 'Check an operator configuration (succeeded or failed with the reason).', requestSchema: operator, response: 'CheckOperationRead' },
    async (body) => {
      // The body names no workspace: the webhook config id is checked at create/update.
      const problem = operatorProblem(body, undefined)
      return problem ? { status: 'failed', message: `${problem.propertyPath} ${problem.message}` } : { status: 'succeeded' }
    },
  )

  postRoute<{ workspaceId: string; name: string; operatorConfiguration: Record<string, unknown> }>(
    app,
    'operations/create',
    { summary: 'Create an operation (webhook run after each successful sync of the connections that list it).', requestSchema: createBody, response: 'OperationRead' },
    async (body) => {
      await checkOperator(deps, body.workspaceId, body.operatorConfiguration)
      const op: OperationRecord = {
        operationId: randomUUID(),
        workspaceId: body.workspaceId,
        name: body.name,
        operatorConfiguration: body.operatorConfiguration,
        tombstone: false,
        createdAt: Math.floor(Date.now() / 1000),
      }
      await deps.configStore.putOperation(op)
      return toOperationRead(op)
    },
  )

  postRoute<{ operationId: string; name: string; operatorConfiguration: Record<string, unknown> }>(
    app,
    'operations/update',
    { summary: 'Replace the name and operator configuration of an operation.', requestSchema: updateBody, response: 'OperationRead' },
    async (body) => {
      const op = await requireOperation(deps, body.operationId)
      await checkOperator(deps, op.workspaceId, body.operatorConfiguration)
      const next: OperationRecord = { ...op, name: body.name, operatorConfiguration: body.operatorConfiguration }
      await deps.configStore.putOperation(next)
      return toOperationRead(next)
    },
  )

  postRoute<{ operationId: string }>(app, 'operations/get', { summary: 'Get an operation.', requestSchema: operationIdBody, response: 'OperationRead' }, async (body) =>
    toOperationRead(await requireOperation(deps, body.operationId)),
  )

  postRoute<{ connectionId: string }>(
    app,
    'operations/list',
    { summary: "List a connection's operations, in the order they run.", requestSchema: connectionIdBody, response: 'OperationReadList' },
    async (body) => {
      const conn = await deps.configStore.getConnection(body.connectionId)
      if (conn === undefined) throw notFound('StandardSync', body.connectionId)
      return { operations: (await connectionOperations(deps.configStore, conn.operationIds)).map(toOperationRead) }
    },
  )

  postRoute<{ operationId: string }>(
    app,
    'operations/delete',
    { summary: 'Delete an operation and remove it from the connections that list it.', requestSchema: operationIdBody, response: 'empty' },
    async (body) => {
      await deps.configStore.transaction(async () => {
        const op = await requireOperation(deps, body.operationId)
        for (const conn of await deps.configStore.listConnections({ workspaceId: op.workspaceId, includeDeprecated: true })) {
          if (conn.operationIds.includes(op.operationId)) {
            await deps.configStore.putConnection({ ...conn, operationIds: conn.operationIds.filter((id) => id !== op.operationId), updatedAt: Math.floor(Date.now() / 1000) })
          }
        }
        await deps.configStore.putOperation({ ...op, tombstone: true })
      })
      return undefined
    },
  )
}

/** 404 for an operation id a connection may not list: unknown, deleted or of another workspace. */
export async function checkOperationIds(deps: ApiDeps, workspaceId: string, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    const op = await deps.configStore.getOperation(id)
    if (op === undefined || op.tombstone || op.workspaceId !== workspaceId) throw notFound('StandardSyncOperation', id)
  }
}
