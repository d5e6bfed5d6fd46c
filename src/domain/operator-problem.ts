import type { WebhookConfigRecord } from '../store/config-store.js'

/**
 * Connection operations (Airbyte's `operations/*`). sluice runs the `webhook` operator after
 * each successful sync, as Airbyte does: a request to the operation's URL with the workspace
 * webhook config's token as a Bearer token. Normalization and custom dbt operators are refused
 * at create time: Airbyte 1.0 removed both (destinations type and dedupe records themselves).
 */

/** What is wrong with an operator configuration: the field and why; undefined when it is valid. */
export interface OperatorProblem {
  propertyPath: string
  message: string
}

/** The request a webhook operation sends. */
export interface WebhookRequest {
  webhookConfigId: string
  url: string
  /** POST with this body; a GET when there is none. */
  body: string | undefined
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** True for an absolute http(s) URL (webhook operations and notification webhooks). */
export function isHttpUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false
  try {
    const url = new URL(value)
    return url.protocol === 'http:' || url.protocol === 'https:'
  } catch {
    return false
  }
}

/**
 * The request of a webhook operator, from Airbyte's three shapes: `webhookType: "dbtCloud"` with
 * `dbtCloud: {accountId, jobId}` (dbt Cloud's "trigger job run" endpoint), `webhookType: "generic"`
 * with `generic: {executionUrl, executionBody}`, or the older top-level `executionUrl` and
 * `executionBody`.
 */
export function webhookRequest(operator: Record<string, unknown>): WebhookRequest | OperatorProblem {
  const webhook = operator.webhook
  if (!isRecord(webhook)) return { propertyPath: 'operatorConfiguration.webhook', message: 'is required for a webhook operation' }
  const configId = webhook.webhookConfigId
  if (typeof configId !== 'string' || configId === '') {
    return { propertyPath: 'operatorConfiguration.webhook.webhookConfigId', message: 'is required: the id of one of the workspace webhookConfigs' }
  }
  const type = webhook.webhookType
  if (type === 'dbtCloud') {
    const dbt = webhook.dbtCloud
    const ok = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n > 0
    if (!isRecord(dbt) || !ok(dbt.accountId) || !ok(dbt.jobId)) {
      return { propertyPath: 'operatorConfiguration.webhook.dbtCloud', message: 'needs a positive integer accountId and jobId' }
    }
    return { webhookConfigId: configId, url: `https://cloud.getdbt.com/api/v2/accounts/${dbt.accountId}/jobs/${dbt.jobId}/run/`, body: JSON.stringify({ cause: 'sluice sync' }) }
  }
  const source = type === 'generic' ? webhook.generic : webhook
  const path = type === 'generic' ? 'operatorConfiguration.webhook.generic' : 'operatorConfiguration.webhook'
  if (type !== undefined && type !== null && type !== 'generic') {
    return { propertyPath: 'operatorConfiguration.webhook.webhookType', message: `must be "dbtCloud" or "generic" (got ${JSON.stringify(type)})` }
  }
  if (!isRecord(source) || !isHttpUrl(source.executionUrl)) return { propertyPath: `${path}.executionUrl`, message: 'must be an http(s) URL' }
  const body = source.executionBody
  if (body !== undefined && body !== null && typeof body !== 'string') return { propertyPath: `${path}.executionBody`, message: 'must be a string' }
  return { webhookConfigId: configId, url: source.executionUrl as string, body: typeof body === 'string' ? body : undefined }
}

/**
 * Checks an `OperatorConfiguration`; with the workspace's webhook configs, also that the webhook
 * config it names exists.
 */
export function operatorProblem(operator: unknown, webhookConfigs: readonly WebhookConfigRecord[] | undefined): OperatorProblem | undefined {
  if (!isRecord(operator)) return { propertyPath: 'operatorConfiguration', message: 'is required' }
  switch (operator.operatorType) {
    case 'webhook': {
      const request = webhookRequest(operator)
      if ('propertyPath' in request) return request
      if (webhookConfigs !== undefined && !webhookConfigs.some((w) => w.id === request.webhookConfigId)) {
        return { propertyPath: 'operatorConfiguration.webhook.webhookConfigId', message: `is not a webhook config of this workspace (${request.webhookConfigId}); add it with workspaces/update webhookConfigs` }
      }
      return undefined
    }
    case 'normalization':
      return {
        propertyPath: 'operatorConfiguration.operatorType',
        message: 'normalization is not run by sluice: destinations write typed, deduplicated tables themselves (Airbyte removed normalization in 1.0)',
      }
    case 'dbt':
      return {
        propertyPath: 'operatorConfiguration.operatorType',
        message: 'custom dbt transformations are not run by sluice (Airbyte removed them in 1.0): use a webhook operation (e.g. dbt Cloud) or run dbt from your orchestrator after the sync',
      }
    default:
      return { propertyPath: 'operatorConfiguration.operatorType', message: 'must be one of webhook, normalization, dbt' }
  }
}
