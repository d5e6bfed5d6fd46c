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
})
