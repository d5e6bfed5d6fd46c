import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startUi, type UiServer } from './ui-harness.js'

const FAKER = 'dfd88b22-b603-4c3d-aad7-3701784586b1'
const LOCAL_FILES = '862a88fc-f263-4a45-aed8-2a53987631c1'

type Json = Record<string, any>

/**
 * The connection page's actions on a Faker -> Local Files connection: fields deselected in the
 * schema tab, per-stream Refresh and Clear (each a job of its type naming the stream), and
 * Delete (refused when the confirm box is dismissed, then gone from the list and the API).
 */
describe('web UI: field selection, per-stream refresh and clear, delete', () => {
  let ui: UiServer
  let connectionId: string
  before(async () => {
    ui = await startUi()
    const workspaceId = (await ui.post('workspaces/list')).workspaces[0].workspaceId
    const source = await ui.post('sources/create', { workspaceId, sourceDefinitionId: FAKER, name: 'Sample', connectionConfiguration: { count: 20 } })
    const destination = await ui.post('destinations/create', { workspaceId, destinationDefinitionId: LOCAL_FILES, name: 'Files', connectionConfiguration: { destination_path: 'actions' } })
    const stream = (name: string): Json => ({ stream: { name }, config: { syncMode: 'full_refresh', destinationSyncMode: 'overwrite', selected: true } })
    const created = await ui.post('connections/create', {
      sourceId: source.sourceId,
      destinationId: destination.destinationId,
      name: 'Sample to files',
      status: 'active',
      scheduleType: 'manual',
      syncCatalog: { streams: [stream('users'), stream('products')] },
    })
    connectionId = created.connectionId
  })
  after(async () => {
    await ui?.close()
  })

  /** The jobs of some types of the connection, newest first. */
  const jobsOf = async (...configTypes: string[]): Promise<Json[]> => (await ui.post('jobs/list', { configTypes, configId: connectionId })).jobs
  /** Waits until every job of the connection has ended (it runs one at a time: a refresh started meanwhile is a 409). */
  const jobsEnded = async (): Promise<void> => {
    const running = (jobs: Json[]): boolean => jobs.some((j) => !['succeeded', 'failed', 'cancelled'].includes(j.job.status))
    while (running(await jobsOf('sync', 'refresh', 'clear', 'reset_connection'))) await new Promise((r) => setTimeout(r, 50))
  }

  it('deselects fields of a stream in the schema tab; the selection is stored and the counts shown', async () => {
    const { page } = ui
    await page.goto(`${ui.url}/connections/${connectionId}/schema`)
    const users = page.getByRole('row', { name: /users/ })
    await users.getByRole('button', { name: /fields/ }).click()
    await page.getByLabel('Sync field email of users').uncheck()
    await page.getByLabel('Sync field telephone of users').uncheck()
    await users.getByRole('button', { name: /^15 of 17 fields$/ }).waitFor()
    await page.getByRole('button', { name: 'Save schema' }).click()
    await page.getByText(/^Saved\./).waitFor()
    const conn = await ui.post('connections/get', { connectionId })
    const config = conn.syncCatalog.streams.find((s: Json) => s.stream.name === 'users').config
    assert.equal(config.fieldSelectionEnabled, true)
    const names = config.selectedFields.map((f: Json) => f.fieldPath[0])
    assert.equal(names.length, 15)
    assert.ok(!names.includes('email') && !names.includes('telephone') && names.includes('id'))
    // A changed selection is a changed stream configuration: users syncs again from scratch, as in Airbyte.
    const refreshed = await jobsOf('refresh')
    assert.equal(refreshed.length, 1)
    assert.deepEqual(refreshed[0]!.job.refreshConfig.streamsToRefresh.map((s: Json) => s.name), ['users'])

    await page.reload()
    await users.getByRole('button', { name: /^15 of 17 fields$/ }).click()
    await page.getByLabel('Sync field email of users').check()
    await page.getByLabel('Sync field telephone of users').check()
    await users.getByRole('button', { name: /^17 fields$/ }).waitFor()
    await page.getByRole('button', { name: 'Save schema' }).click()
    await page.getByText(/^Saved\./).waitFor()
    const all = (await ui.post('connections/get', { connectionId })).syncCatalog.streams.find((s: Json) => s.stream.name === 'users').config
    assert.equal(all.fieldSelectionEnabled, false, 'every field selected again is stored as no selection')
    assert.equal((await jobsOf('refresh')).length, 2)
  })

  it('refreshes one stream and clears another from the schema tab: a job of each type names its stream', async () => {
    const { page } = ui
    // The refreshes the last test's saves started end first.
    await jobsEnded()
    await page.goto(`${ui.url}/connections/${connectionId}/schema`)
    const before = (await jobsOf('refresh')).length
    await page.getByRole('button', { name: 'Refresh stream users' }).click()
    await page.getByText('Refresh of users started: see the Jobs tab.').waitFor()
    const refreshes = await jobsOf('refresh')
    assert.equal(refreshes.length, before + 1)
    assert.equal(refreshes[0]!.job.configType, 'refresh')
    assert.deepEqual(refreshes[0]!.job.refreshConfig.streamsToRefresh.map((s: Json) => s.name), ['users'])

    // Dismissing the confirm box clears nothing.
    page.once('dialog', (dialog) => void dialog.dismiss())
    await page.getByRole('button', { name: 'Clear stream products' }).click()
    await page.getByRole('button', { name: 'Clear stream products' }).waitFor()
    assert.equal((await jobsOf('clear', 'reset_connection')).length, 0)
    page.once('dialog', (dialog) => void dialog.accept())
    await page.getByRole('button', { name: 'Clear stream products' }).click()
    await page.getByText('Clearing products: see the Jobs tab.').waitFor()
    const clears = await jobsOf('clear', 'reset_connection')
    assert.equal(clears.length, 1)
    assert.equal(clears[0]!.job.configType, 'reset_connection', 'a clear is stored as Airbyte\'s reset_connection job')
    assert.deepEqual(clears[0]!.job.resetConfig.streamsToReset.map((s: Json) => s.name), ['products'])

    await page.getByRole('navigation', { name: 'Connection' }).getByRole('link', { name: 'Jobs' }).click()
    await page.locator(`.job[data-job-id="${clears[0]!.job.id}"]`).waitFor()
    await page.locator(`.job[data-job-id="${refreshes[0]!.job.id}"]`).waitFor()
  })

  it('deletes the connection from its settings: gone from the list and from connections/list', async () => {
    const { page } = ui
    const workspaceId = (await ui.post('workspaces/list')).workspaces[0].workspaceId
    await page.goto(`${ui.url}/connections/${connectionId}/settings`)
    page.once('dialog', (dialog) => void dialog.dismiss())
    await page.getByRole('button', { name: 'Delete connection' }).click()
    await page.getByRole('button', { name: 'Delete connection' }).waitFor()
    assert.equal((await ui.post('connections/list', { workspaceId })).connections.length, 1, 'a dismissed confirm deletes nothing')

    page.once('dialog', (dialog) => void dialog.accept())
    await page.getByRole('button', { name: 'Delete connection' }).click()
    await page.waitForURL(`${ui.url}/connections`)
    await page.getByRole('heading', { name: 'Welcome to sluice' }).or(page.getByRole('heading', { name: 'Connections' })).first().waitFor()
    assert.equal(await page.getByRole('row', { name: /Sample to files/ }).count(), 0)
    assert.deepEqual((await ui.post('connections/list', { workspaceId })).connections, [])
    assert.equal((await ui.post('connections/get', { connectionId })).status, 'deprecated')
  })
})
