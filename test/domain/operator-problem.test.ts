import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { operatorProblem, webhookRequest } from '../../src/domain/operator-problem.js'

const webhookConfigs = [{ id: 'wh-1', name: 'dbt' }]

describe('operatorProblem', () => {
  it('accepts a generic webhook whose config exists in the workspace', () => {
    const operator = { operatorType: 'webhook', webhook: { webhookConfigId: 'wh-1', webhookType: 'generic', generic: { executionUrl: 'https://example.test/run', executionBody: '{}' } } }
    assert.equal(operatorProblem(operator, webhookConfigs), undefined)
    assert.deepEqual(webhookRequest(operator), { webhookConfigId: 'wh-1', url: 'https://example.test/run', body: '{}' })
  })

  it('names the field: unknown webhook config, bad URL, refused operator types', () => {
    const webhook = (w: Record<string, unknown>): Record<string, unknown> => ({ operatorType: 'webhook', webhook: { webhookConfigId: 'wh-1', ...w } })
    assert.equal(operatorProblem({ operatorType: 'webhook', webhook: { webhookConfigId: 'wh-2', executionUrl: 'https://x.test' } }, webhookConfigs)?.propertyPath, 'operatorConfiguration.webhook.webhookConfigId')
    assert.equal(operatorProblem(webhook({ executionUrl: 'ftp://x.test' }), webhookConfigs)?.propertyPath, 'operatorConfiguration.webhook.executionUrl')
    assert.equal(operatorProblem(webhook({ webhookType: 'dbtCloud', dbtCloud: { accountId: 0, jobId: 1 } }), webhookConfigs)?.propertyPath, 'operatorConfiguration.webhook.dbtCloud')
    assert.equal(operatorProblem({ operatorType: 'normalization' }, undefined)?.propertyPath, 'operatorConfiguration.operatorType')
    assert.equal(operatorProblem({ operatorType: 'dbt' }, undefined)?.propertyPath, 'operatorConfiguration.operatorType')
    assert.equal(operatorProblem(undefined, undefined)?.propertyPath, 'operatorConfiguration')
  })

  it('without the workspace configs only the shape is checked', () => {
    assert.equal(operatorProblem({ operatorType: 'webhook', webhook: { webhookConfigId: 'elsewhere', executionUrl: 'http://x.test' } }, undefined), undefined)
  })
})
