import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { after, before, describe, it } from 'node:test'
import { startUi, type UiServer } from './ui-harness.js'

/**
 * The first-run path in a real browser: a Faker source and a Local Files destination created
 * and tested through the spec forms (a bad value answered by the server's 422 at its field),
 * a connection from discovered streams, a sync that succeeds, its log read and downloaded.
 */
describe('web UI: first sync, Faker into Local Files', () => {
  let ui: UiServer
  before(async () => {
    ui = await startUi()
  })
  after(async () => {
    await ui?.close()
  })

  it('goes from an empty install to a succeeded sync and its log', async () => {
    const { page } = ui
    await page.goto(`${ui.url}/`)
    await page.getByRole('heading', { name: 'Welcome to sluice' }).waitFor()

    // Source: the spec form, a 422 shown at the field, Test, Create.
    await page.getByRole('link', { name: 'Create a Sample Data (Faker) source' }).click()
    await page.getByLabel('Name', { exact: true }).fill('Sample data')
    await page.getByLabel('Count').fill('0')
    await page.getByRole('button', { name: 'Create source' }).click()
    const countField = page.locator('.form-group', { has: page.locator('#root_count') })
    await countField.getByText('must be >= 1').waitFor()
    assert.equal((await ui.post('sources/list', {})).sources.length, 0, 'a refused configuration stores nothing')
    await page.getByLabel('Count').fill('150')
    await page.getByRole('button', { name: 'Test' }).click()
    await page.getByText('Connection test succeeded.').waitFor()
    await page.getByRole('button', { name: 'Create source' }).click()
    await page.getByText('Saved.').waitFor()
    const sources = (await ui.post('sources/list', {})).sources
    assert.equal(sources.length, 1)
    assert.equal(sources[0].connectionConfiguration.count, 150)

    // Destination: Local Files with its defaults.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Destinations' }).click()
    await page.getByRole('link', { name: 'New destination' }).first().click()
    await page.getByLabel('Connector').selectOption({ label: 'Local Files' })
    await page.getByLabel('Name', { exact: true }).fill('Bronze files')
    await page.getByLabel('Destination Path').fill('bronze')
    await page.getByRole('button', { name: 'Test' }).click()
    await page.getByText('Connection test succeeded.').waitFor()
    await page.getByRole('button', { name: 'Create destination' }).click()
    await page.getByText('Saved.').waitFor()

    // Connection: discover, pick users, create.
    await page.getByRole('link', { name: 'Create a connection to this destination' }).click()
    await page.getByLabel('Source', { exact: true }).selectOption({ label: 'Sample data (Sample Data (Faker))' })
    await page.getByRole('button', { name: 'Discover the streams' }).click()
    await page.getByLabel('Sync stream users').check()
    await page.getByLabel('Connection name').fill('Faker to bronze')
    await page.getByRole('button', { name: 'Create connection' }).click()
    await page.getByRole('heading', { name: 'Faker to bronze' }).waitFor()

    // Sync now, wait for the job to succeed, read the attempt's log and per-stream counts.
    await page.getByRole('button', { name: 'Sync now' }).click()
    const job = page.locator('.job').first()
    await job.locator('.badge-succeeded').first().waitFor()
    await job.getByRole('button', { name: 'Attempt 1' }).click()
    await page.getByRole('table', { name: 'Per stream' }).getByRole('row', { name: /users/ }).getByText('150').first().waitFor()
    const log = page.getByTestId('attempt-log')
    await log.getByText(/users/).first().waitFor()
    const download = page.waitForEvent('download')
    await page.getByRole('button', { name: 'Download log' }).click()
    const file = await (await download).path()
    const text = await readFile(file, 'utf8')
    assert.match(text, /users/)
    assert.equal(text.trim().split('\n').length, (await log.innerText()).trim().split('\n').length)

    // The list shows the connection with its last sync.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Connections' }).click()
    const row = page.getByRole('row', { name: /Faker to bronze/ })
    await row.locator('.badge-succeeded').waitFor()
    await row.getByRole('cell', { name: '150', exact: true }).waitFor()
    const jobs = await ui.post('jobs/list', { configTypes: ['sync'] })
    assert.equal(jobs.jobs[0].status, 'succeeded')
  })

  it('follows a running sync live and cancels it from the list and the connection page', async () => {
    const { page } = ui
    const { workspaces } = await ui.post('workspaces/list')
    const workspaceId = workspaces[0].workspaceId
    const faker = (await ui.post('source_definitions/list')).sourceDefinitions.find((d: { name: string }) => d.name === 'Sample Data (Faker)')
    const files = (await ui.post('destination_definitions/list')).destinationDefinitions.find((d: { name: string }) => d.name === 'Local Files')
    // Big enough to still run when cancelled; small slices so that progress and log lines come often.
    const source = await ui.post('sources/create', { workspaceId, sourceDefinitionId: faker.sourceDefinitionId, name: 'Big sample', connectionConfiguration: { count: 5_000_000, records_per_slice: 500 } })
    const destination = await ui.post('destinations/create', { workspaceId, destinationDefinitionId: files.destinationDefinitionId, name: 'Big files', connectionConfiguration: { destination_path: 'big' } })
    const { connectionId } = await ui.post('connections/create', {
      sourceId: source.sourceId,
      destinationId: destination.destinationId,
      name: 'Long sync',
      syncCatalog: { streams: [{ stream: { name: 'users' }, config: { syncMode: 'full_refresh', destinationSyncMode: 'overwrite' } }] },
    })

    await page.goto(`${ui.url}/connections`)
    await page.getByRole('button', { name: 'Sync Long sync now' }).click()
    // The list polls: the row turns to running and offers Cancel; cancel from there.
    await page.getByRole('row', { name: /Long sync/ }).locator('.badge-running').waitFor()
    await page.getByRole('button', { name: 'Cancel the sync of Long sync' }).click()
    await page.getByRole('row', { name: /Long sync/ }).locator('.badge-cancelled').waitFor()

    // Again from the connection page, with the running attempt's log followed live.
    await page.getByRole('link', { name: 'Long sync' }).click()
    await page.getByRole('button', { name: 'Sync now' }).click()
    const job = page.locator('.job').first()
    await job.locator('.badge-running').first().waitFor()
    await job.getByRole('button', { name: 'Attempt 1' }).click()
    await page.getByLabel('Follow (live)').waitFor()
    const log = page.getByTestId('attempt-log')
    await log.getByText('started').first().waitFor()
    await page.getByRole('button', { name: 'Cancel sync' }).click()
    await job.locator('.job-head .badge-cancelled').waitFor()
    const jobs = await ui.post('jobs/list', { configTypes: ['sync'], configId: connectionId })
    assert.deepEqual(
      jobs.jobs.map((j: { status: string }) => j.status),
      ['cancelled', 'cancelled'],
    )
  })
})
