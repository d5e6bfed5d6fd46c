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

test('jobs/list pagination beyond what can work answers 422 naming the field, not 500', async () => {
  const h = await createHarness()
  try {
    for (const [pagination, field] of [
      [{ rowOffset: 2 ** 63 }, 'pagination.rowOffset'],
      [{ pageSize: 1e12 }, 'pagination.pageSize'],
    ] as const) {
      const res = await h.post('jobs/list', { configTypes: ['sync'], pagination })
      assert.equal(res.statusCode, 422, JSON.stringify(pagination))
      assert.equal(res.json().validationErrors[0].propertyPath, field)
    }
  } finally {
    await h.close()
  }
})

test('bodies nested thousands of levels deep are refused at the edge with the path, never a stack overflow', async () => {
  const h = await createHarness()
  try {
    const deep = (levels: number) => '{"a":'.repeat(levels) + '{}' + '}'.repeat(levels)
    const config = await h.post('sources/create', `{"workspaceId":"${h.workspaceId}","sourceDefinitionId":"${FAKER_ID}","name":"deep","connectionConfiguration":${deep(10_000)}}`)
    assert.equal(config.statusCode, 422)
    assert.match(config.json().validationErrors[0].propertyPath, /^connectionConfiguration\.a\.a\./)
    const notifications = await h.post('workspaces/update', `{"workspaceId":"${h.workspaceId}","notifications":[${deep(10_000)}]}`)
    assert.equal(notifications.statusCode, 422)
    const absurd = await h.post('workspaces/update', `{"workspaceId":"${h.workspaceId}","notifications":[${deep(2_000_000)}]}`)
    assert.equal(absurd.statusCode, 422)
    for (const res of [config, notifications, absurd]) assert.doesNotMatch(res.body, /call stack/i)
    assert.equal((await h.post('sources/list', { workspaceId: h.workspaceId })).json().sources.length, 0, 'nothing stored')
  } finally {
    await h.close()
  }
})

test('names are at most 256 characters and not blank; configurations at most 1 MiB', async () => {
  const h = await createHarness()
  try {
    const source = (name: string, connectionConfiguration: Record<string, unknown> = { count: 10 }) =>
      h.post('sources/create', { workspaceId: h.workspaceId, sourceDefinitionId: FAKER_ID, name, connectionConfiguration })
    const huge = await source('x'.repeat(10 * 1024 * 1024))
    assert.equal(huge.statusCode, 422)
    assert.equal(huge.json().validationErrors[0].propertyPath, 'name')
    assert.ok(huge.body.length < 10_000, 'the answer does not echo the 10 MB name')
    assert.equal((await source('y'.repeat(257))).statusCode, 422)
    assert.equal((await source('z'.repeat(256))).statusCode, 200, '256 is the limit, inclusive')
    const big = await source('big', { count: 10, padding: 'p'.repeat(1024 * 1024) })
    assert.equal(big.statusCode, 422)
    assert.equal(big.json().validationErrors[0].propertyPath, 'connectionConfiguration')
    const blank = await h.post('workspaces/create', { name: '   ' })
    assert.equal(blank.statusCode, 422)
    assert.equal(blank.json().validationErrors[0].propertyPath, 'name')
    assert.equal((await h.post('sources/list', { workspaceId: h.workspaceId })).json().sources.length, 1)
  } finally {
    await h.close()
  }
})

test('a basic schedule beyond 100 years (units 1e20) is refused with the field', async () => {
  const h = await createHarness()
  try {
    const sourceId = (await h.post('sources/create', { workspaceId: h.workspaceId, sourceDefinitionId: FAKER_ID, name: 'f', connectionConfiguration: { count: 10 } })).json().sourceId
    const destinationId = (await h.post('destinations/create', { workspaceId: h.workspaceId, destinationDefinitionId: '862a88fc-f263-4a45-aed8-2a53987631c1', name: 'd', connectionConfiguration: { destination_path: 'out' } })).json().destinationId
    const res = await h.post('connections/create', { sourceId, destinationId, status: 'active', schedule: { units: 1e20, timeUnit: 'minutes' } })
    assert.equal(res.statusCode, 422)
    assert.equal(res.json().validationErrors[0].propertyPath, 'schedule.units')
    assert.equal((await h.post('connections/list', { workspaceId: h.workspaceId })).json().connections.length, 0)
  } finally {
    await h.close()
  }
})
