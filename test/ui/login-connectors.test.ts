import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js'
import { startUi, type UiServer } from './ui-harness.js'

const TOKEN = 'ui-test-token-7f3a'

/** A declarative manifest with a secret in its spec (the name comes from the spec's title). */
const MANIFEST = `version: 6.0.0
type: DeclarativeSource
check:
  type: CheckStream
  stream_names: [items]
streams:
  - type: DeclarativeStream
    name: items
    retriever:
      type: SimpleRetriever
      requester:
        type: HttpRequester
        url_base: http://127.0.0.1:9
        path: /items
        http_method: GET
      record_selector:
        type: RecordSelector
        extractor:
          type: DpathExtractor
          field_path: []
    schema_loader:
      type: InlineSchemaLoader
      schema:
        type: object
        properties:
          id:
            type: integer
spec:
  type: Spec
  connection_specification:
    type: object
    title: TITLE
    required: [api_key]
    properties:
      api_key:
        type: string
        title: API key
        airbyte_secret: true
`

describe('web UI: token login', () => {
  let ui: UiServer
  before(async () => {
    ui = await startUi({ SLUICE_API_TOKEN: TOKEN })
  })
  after(async () => {
    await ui?.close()
  })

  it('asks for the token, refuses a wrong one, keeps the right one in the tab only, logs out', async () => {
    const { page } = ui
    await page.goto(`${ui.url}/connections`)
    await page.getByRole('heading', { name: 'Log in' }).waitFor()
    await page.getByLabel('API token').fill('wrong')
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByText("This token is not the server's SLUICE_API_TOKEN.").waitFor()
    await page.getByLabel('API token').fill(TOKEN)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByRole('heading', { name: 'Welcome to sluice' }).waitFor()
    assert.equal(await page.evaluate("sessionStorage.getItem('sluice.apiToken')"), TOKEN)
    assert.ok(!page.url().includes(TOKEN), 'the token is never in a URL')
    // A reload keeps the session of this tab.
    await page.reload()
    await page.getByRole('heading', { name: 'Welcome to sluice' }).waitFor()
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click()
    await page.getByText('you are logged in for this browser tab').waitFor()
    await page.getByRole('button', { name: 'Log out' }).click()
    await page.getByRole('heading', { name: 'Log in' }).waitFor()
    assert.equal(await page.evaluate("sessionStorage.getItem('sluice.apiToken')"), null)
  })
})

describe('web UI: connectors, secrets, notifications and many connections', () => {
  let ui: UiServer
  let web: WebhookReceiver
  let manifestUrl: string
  before(async () => {
    ui = await startUi()
    // Serves a manifest to the page, allowing it to read the answer (CORS), and takes notifications.
    web = await startWebhookReceiver((r) =>
      r.url === '/manifest.yaml'
        ? { status: 200, body: MANIFEST.replace('TITLE', 'Items from a URL'), headers: { 'content-type': 'text/yaml', 'access-control-allow-origin': '*' } }
        : { status: 200, body: 'ok' },
    )
    manifestUrl = `${web.origin}/manifest.yaml`
  })
  after(async () => {
    await ui?.close()
    await web?.close()
  })

  it('adds manifests from a file and from a URL, then a source whose secret stays masked', async () => {
    const { page } = ui
    await page.goto(`${ui.url}/connectors`)
    await page.getByLabel('Manifest file (YAML or JSON)').setInputFiles({ name: 'manifest.yaml', mimeType: 'text/yaml', buffer: Buffer.from(MANIFEST.replace('TITLE', 'Items from a file')) })
    await page.getByRole('button', { name: 'Add connector' }).click()
    await page.getByText('Added “Items from a file”').waitFor()
    await page.getByRole('row', { name: /Items from a file/ }).getByText('custom').waitFor()

    await page.getByLabel('a URL').check()
    await page.getByLabel('Manifest URL').fill(manifestUrl)
    await page.getByRole('button', { name: 'Add connector' }).click()
    await page.getByText('Added “Items from a URL”').waitFor()
    const custom = (await ui.post('source_definitions/list')).sourceDefinitions.filter((d: { custom: boolean }) => d.custom).map((d: { name: string }) => d.name)
    assert.deepEqual(custom.sort(), ['Items from a URL', 'Items from a file'])

    // A bad manifest: the server's message, no stack trace.
    await page.getByLabel('a file').check()
    await page.getByLabel('Manifest file (YAML or JSON)').setInputFiles({ name: 'bad.yaml', mimeType: 'text/yaml', buffer: Buffer.from('streams: 3\n') })
    await page.getByRole('button', { name: 'Add connector' }).click()
    const error = page.getByRole('alert')
    await error.waitFor()
    assert.doesNotMatch(await error.innerText(), /\bat .*\.js:\d+/)

    await page.getByRole('link', { name: 'Create a source with it' }).click()
    await page.getByLabel('Connector').selectOption({ label: 'Items from a file (custom)' })
    await page.getByLabel('Name', { exact: true }).fill('Items')
    const secret = page.getByLabel('API key')
    assert.equal(await secret.getAttribute('type'), 'password')
    await secret.fill('very-secret')
    await page.getByRole('button', { name: 'Create source' }).click()
    await page.getByText('Saved.').waitFor()
    assert.equal(await page.getByLabel('API key').inputValue(), '**********', 'the server masks it; the form keeps the mask')
    await page.getByLabel('Name', { exact: true }).fill('Items (renamed)')
    await page.getByRole('button', { name: 'Save changes' }).click()
    await page.getByRole('heading', { name: 'Items (renamed)' }).waitFor()
    const [source] = (await ui.post('sources/list', {})).sources
    assert.equal(source.name, 'Items (renamed)')
    assert.equal(source.connectionConfiguration.api_key, '**********')
  })

  it('sets a failure notification webhook, sends a test message, saves it', async () => {
    const { page } = ui
    await page.goto(`${ui.url}/settings`)
    await page.getByLabel('A sync failed', { exact: true }).fill(`${web.origin}/hooks/failures`)
    await page.getByRole('button', { name: 'Send a test message: A sync failed' }).click()
    await page.getByText(/^Test message sent\./).waitFor()
    const test = web.received.find((r) => r.url === '/hooks/failures')
    assert.ok(test, 'the webhook got the test message')
    assert.equal(test.method, 'POST')
    await page.getByRole('button', { name: 'Save notifications' }).click()
    await page.getByText('Notifications saved.').waitFor()
    const { workspaces } = await ui.post('workspaces/list')
    assert.deepEqual(workspaces[0].notificationSettings.sendOnFailure, { notificationType: ['slack'], slackConfiguration: { webhook: `${web.origin}/hooks/failures` } })
  })

  it('lists 1,000 connections', async (t) => {
    const { workspaces } = await ui.post('workspaces/list')
    const workspaceId = workspaces[0].workspaceId
    const defs = await ui.post('source_definitions/list')
    const faker = defs.sourceDefinitions.find((d: { name: string }) => d.name === 'Sample Data (Faker)').sourceDefinitionId
    const files = (await ui.post('destination_definitions/list')).destinationDefinitions.find((d: { name: string }) => d.name === 'Local Files').destinationDefinitionId
    const source = await ui.post('sources/create', { workspaceId, sourceDefinitionId: faker, name: 'Faker', connectionConfiguration: {} })
    const destination = await ui.post('destinations/create', { workspaceId, destinationDefinitionId: files, name: 'Files', connectionConfiguration: { destination_path: 'many' } })
    const streams = { streams: [{ stream: { name: 'products' }, config: { syncMode: 'full_refresh', destinationSyncMode: 'overwrite' } }] }
    for (let i = 0; i < 1000; i += 25) {
      await Promise.all(
        Array.from({ length: 25 }, (_, j) =>
          ui.post('connections/create', { sourceId: source.sourceId, destinationId: destination.destinationId, name: `conn ${String(i + j).padStart(4, '0')}`, syncCatalog: streams }),
        ),
      )
    }
    const { page } = ui
    await page.goto(`${ui.url}/connections`)
    await page.getByText('1000 of 1000').waitFor()
    t.diagnostic(`first rows of 1,000 connections on screen ${Math.round((await page.evaluate('performance.now()')) as number)} ms after navigation (API calls included)`)
    // The first rows at once, the rest as the list scrolls (or from the button). Which rows come
    // first depends on creation order, and the connections were created 25 at a time.
    await page.getByRole('link', { name: /^conn \d{4}$/ }).first().waitFor()
    // (dispatchEvent: a real click scrolls the button into view, which already loads more rows.)
    await page.getByRole('button', { name: 'Show all 1000' }).dispatchEvent('click')
    await page.getByRole('link', { name: 'conn 0999' }).waitFor()
    assert.equal(await page.locator('tbody tr').count(), 1000)
    // Measured, not asserted (no wall-clock bounds): the time to filter and render again.
    // (A string: the browser's globals are not in this file's types.)
    const ms = (await page.evaluate(`(async () => {
      const input = document.querySelector('input[type=search]')
      const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set
      const start = performance.now()
      setValue.call(input, 'conn')
      input.dispatchEvent(new Event('input', { bubbles: true }))
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)))
      return performance.now() - start
    })()`)) as number
    t.diagnostic(`filter over 1,000 connections rendered in ${ms.toFixed(0)} ms`)
    await page.getByPlaceholder(/Filter by name/).fill('conn 0999')
    await page.getByText('1 of 1000').waitFor()
  })
})
