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

test('destinations/create refuses a Local Files path outside the files root at once', async () => {
  const h = await createHarness()
  try {
    for (const destination_path of ['../escape', '/etc']) {
      const res = await h.post('destinations/create', { workspaceId: h.workspaceId, destinationDefinitionId: '862a88fc-f263-4a45-aed8-2a53987631c1', name: 'out', connectionConfiguration: { destination_path } })
      assert.equal(res.statusCode, 422, destination_path)
      assert.match(res.json().message, /outside the local files root/)
    }
    assert.equal((await h.post('destinations/list', { workspaceId: h.workspaceId })).json().destinations.length, 0, 'nothing stored')
  } finally {
    await h.close()
  }
})
