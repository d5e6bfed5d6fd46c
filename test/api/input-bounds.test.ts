import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHarness } from './api-harness.js'

const FAKER_ID = 'dfd88b22-b603-4c3d-aad7-3701784586b1'

test('a Faker count beyond exact integers is refused at create, naming the field', async () => {
  const h = await createHarness()
  try {
    const res = await h.post('sources/create', { workspaceId: h.workspaceId, sourceDefinitionId: FAKER_ID, name: 'huge', connectionConfiguration: { count: 1e30 } })
    assert.equal(res.statusCode, 422)
    const body = res.json()
    assert.equal(body.validationErrors[0].propertyPath, 'connectionConfiguration.count')
    assert.equal((await h.post('sources/list', { workspaceId: h.workspaceId })).json().sources.length, 0, 'nothing stored')
  } finally {
    await h.close()
  }
})
