import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { FIXTURES } from '../connectors/external/external-helpers.js'
import { startUi, type UiServer } from './ui-harness.js'

type Json = Record<string, any>

/**
 * Connector images added from the Connectors page, run by the `local` runner: the image
 * `airbyte/source-pyfixture` is the stand-in executable `source-pyfixture` of the external
 * connector tests. A missing field is the server's 422 under that field; an image that cannot
 * run is the server's message; nothing is stored for either.
 */
describe('web UI: add a connector image', () => {
  let ui: UiServer
  const saved = { runner: process.env.SLUICE_CONNECTOR_RUNNER, path: process.env.SLUICE_CONNECTORS_PATH }
  before(async () => {
    // The external runner reads its settings from the process environment.
    process.env.SLUICE_CONNECTOR_RUNNER = 'local'
    process.env.SLUICE_CONNECTORS_PATH = FIXTURES
    ui = await startUi()
  })
  after(async () => {
    await ui?.close()
    for (const [k, v] of [['SLUICE_CONNECTOR_RUNNER', saved.runner], ['SLUICE_CONNECTORS_PATH', saved.path]] as const) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  })

  const customNames = async (kind: 'source' | 'destination'): Promise<string[]> =>
    ((await ui.post(`${kind}_definitions/list`))[`${kind}Definitions`] as Json[]).filter((d) => d.custom).map((d) => d.name)

  it('a missing tag is the 422 under the tag field; an image that cannot run is the server message; nothing stored', async () => {
    const { page } = ui
    await page.goto(`${ui.url}/connectors`)
    const form = page.getByRole('form', { name: 'Add a connector image' })
    await form.getByLabel('Name', { exact: true }).fill('Py fixture')
    await form.getByLabel('Docker repository').fill('airbyte/source-pyfixture')
    await form.getByRole('button', { name: 'Add image' }).click()
    const tag = form.getByLabel('Tag')
    await form.locator('#image-dockerImageTag-error').getByText('is required').waitFor()
    assert.equal(await tag.getAttribute('aria-invalid'), 'true')
    assert.equal(await form.getByRole('alert').count(), 0, 'a field error is not repeated above the button')

    await form.getByLabel('Docker repository').fill('airbyte/source-nowhere')
    await tag.fill('1.0.0')
    await form.getByRole('button', { name: 'Add image' }).click()
    const alert = form.getByRole('alert')
    await alert.getByText(/No executable named source-nowhere/).waitFor()
    assert.doesNotMatch(await alert.innerText(), /\bat .*\.js:\d+/)
    assert.equal(await form.locator('.field-error').count(), 0)
    assert.deepEqual(await customNames('source'), [])
  })

  it('adds a source image and a destination image: listed as custom, with their tag; the link creates a source with it', async () => {
    const { page } = ui
    await page.goto(`${ui.url}/connectors`)
    const form = page.getByRole('form', { name: 'Add a connector image' })
    await form.getByLabel('Name', { exact: true }).fill('Py fixture')
    await form.getByLabel('Docker repository').fill('airbyte/source-pyfixture')
    await form.getByLabel('Tag').fill('1.0.0')
    await form.getByLabel('Documentation URL (optional)').fill('https://example.com/docs')
    await form.getByRole('button', { name: 'Add image' }).click()
    await page.getByText('Added “Py fixture”').waitFor()
    const row = page.getByRole('row', { name: /Py fixture/ })
    await row.getByText('custom').waitFor()
    await row.getByText('airbyte/source-pyfixture:1.0.0').waitFor()
    assert.equal(await form.getByLabel('Name', { exact: true }).inputValue(), '', 'the form is emptied')

    await form.getByLabel('destination', { exact: true }).check()
    await form.getByLabel('Name', { exact: true }).fill('Py destination')
    await form.getByLabel('Docker repository').fill('airbyte/destination-pyfixture')
    await form.getByLabel('Tag').fill('0.1.0')
    await form.getByRole('button', { name: 'Add image' }).click()
    await page.getByText('Added “Py destination”').waitFor()
    await page.getByRole('row', { name: /Py destination/ }).getByRole('cell', { name: 'destination', exact: true }).waitFor()
    assert.deepEqual(await customNames('source'), ['Py fixture'])
    assert.deepEqual(await customNames('destination'), ['Py destination'])
    const source = ((await ui.post('source_definitions/list')).sourceDefinitions as Json[]).find((d) => d.name === 'Py fixture')
    assert.equal(source?.dockerImageTag, '1.0.0')
    assert.equal(source?.documentationUrl, 'https://example.com/docs')

    await page.getByRole('link', { name: 'Create a destination with it' }).click()
    await page.waitForURL(`${ui.url}/destinations/new`)
  })
})
