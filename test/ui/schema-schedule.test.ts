import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js'
import type { Page } from 'playwright-core'
import { startUi, type UiServer } from './ui-harness.js'

const POSTGRES_SOURCE = 'decd338e-5647-4c0b-adf4-da0e75f5a750'
/** What the connection page loads its connection from. */
const RELOAD_PATH = '/api/v1/web_backend/connections/get'

/** Holds the page's connection reloads back until `release` (`stop` also lets them through and removes the hold). */
async function holdReloads(page: Page): Promise<{ release(): void; stop(): Promise<void> }> {
  let release = (): void => undefined
  const held = new Promise<void>((resolve) => (release = resolve))
  const pattern = `**${RELOAD_PATH}`
  await page.route(pattern, async (route) => {
    await held
    await route.continue()
  })
  return {
    release: () => release(),
    async stop() {
      release()
      await page.unroute(pattern)
    },
  }
}

/**
 * A connection from a real PostgreSQL table, edited in the browser: sync mode and cursor, a
 * column added to the table reviewed as a schema change and accepted, the schedule (cron with
 * its next runs, then basic), the settings, the list's toggle and filter.
 */
describe('web UI: schema, schedule and settings of a connection', () => {
  let ui: UiServer
  let db: TestDatabase
  let connectionId: string
  before(async () => {
    db = await createTestDatabase('ui_schema')
    await db.query('CREATE TABLE public.customers (id int PRIMARY KEY, name text, updated_at timestamptz NOT NULL DEFAULT now())')
    await db.query(`INSERT INTO public.customers (id, name) SELECT g, 'c' || g FROM generate_series(1, 20) g`)
    // The worker checks the source schema before every sync (the badge test below relies on it).
    ui = await startUi({ SLUICE_SCHEMA_CHECK_INTERVAL_HOURS: '0' })
    const { workspaces } = await ui.post('workspaces/list')
    const workspaceId = workspaces[0].workspaceId
    const source = await ui.post('sources/create', {
      workspaceId,
      sourceDefinitionId: POSTGRES_SOURCE,
      name: 'Shop database',
      connectionConfiguration: { ...db.config, password: 'postgres', replication_method: { method: 'Standard' } },
    })
    const files = (await ui.post('destination_definitions/list')).destinationDefinitions.find((d: { name: string }) => d.name === 'Local Files')
    const destination = await ui.post('destinations/create', { workspaceId, destinationDefinitionId: files.destinationDefinitionId, name: 'Lake', connectionConfiguration: { destination_path: 'lake' } })
    const created = await ui.post('connections/create', {
      sourceId: source.sourceId,
      destinationId: destination.destinationId,
      name: 'Customers',
      status: 'active',
      scheduleType: 'manual',
      syncCatalog: { streams: [{ stream: { name: 'customers', namespace: 'public' }, config: { syncMode: 'full_refresh', destinationSyncMode: 'overwrite', selected: true } }] },
    })
    connectionId = created.connectionId
  })
  after(async () => {
    await ui?.close()
    await db?.drop()
  })

  it('edits sync mode and cursor, then reviews and accepts a schema change', async () => {
    const { page } = ui
    await page.goto(`${ui.url}/connections/${connectionId}/schema`)
    await page.getByLabel('Sync mode of public.customers').selectOption({ label: 'Incremental | Append' })
    await page.getByLabel('Cursor of public.customers').selectOption('updated_at')
    await page.getByRole('button', { name: 'Save schema' }).click()
    await page.getByText(/^Saved\./).waitFor()
    let conn = await ui.post('connections/get', { connectionId })
    assert.equal(conn.syncCatalog.streams[0].config.syncMode, 'incremental')
    assert.deepEqual(conn.syncCatalog.streams[0].config.cursorField, ['updated_at'])
    // The changed stream syncs again from scratch, as in Airbyte.
    const jobs = await ui.post('jobs/list', { configTypes: ['refresh'], configId: connectionId })
    assert.equal(jobs.jobs.length, 1)

    await db.query('ALTER TABLE public.customers ADD COLUMN email text')
    await page.getByRole('button', { name: 'Check the source for schema changes' }).click()
    const diff = page.getByRole('region', { name: 'Schema changes' })
    await diff.getByText('public.customers: new field email').waitFor()
    await diff.getByRole('button', { name: 'Accept the changes' }).click()
    await page.getByRole('button', { name: 'Save schema' }).click()
    await page.getByText(/^Saved\./).waitFor()
    conn = await ui.post('connections/get', { connectionId })
    assert.ok('email' in conn.syncCatalog.streams[0].stream.jsonSchema.properties, 'the accepted catalog is stored')
    assert.equal(conn.syncCatalog.streams[0].config.syncMode, 'incremental', 'the choices survive the merge')
  })

  it('keeps a schema edit begun before the reload that follows a save lands', async () => {
    const { page } = ui
    await page.goto(`${ui.url}/connections/${connectionId}/schema`)
    const mode = page.getByLabel('Sync mode of public.customers')
    await mode.waitFor()
    const before = await mode.inputValue()
    // The reload a save starts is held back until the next edit is made.
    const reload = await holdReloads(page)
    try {
      await mode.selectOption('full_refresh|overwrite')
      await page.getByRole('button', { name: 'Save schema' }).click()
      await page.getByText(/^Saved\./).waitFor()
      await mode.selectOption(before)
      const landed = page.waitForResponse((r) => r.url().endsWith(RELOAD_PATH))
      reload.release()
      await landed
      // Once the reload is applied, the kept edit differs from the stored catalog again.
      await page.getByRole('button', { name: 'Discard changes', disabled: false }).waitFor()
      assert.equal(await mode.inputValue(), before)
    } finally {
      await reload.stop()
    }
    // Saved back as it was, for the tests below.
    await page.getByRole('button', { name: 'Save schema' }).click()
    await page.getByText(/^Saved\./).waitFor()
    const conn = await ui.post('connections/get', { connectionId })
    assert.equal(`${conn.syncCatalog.streams[0].config.syncMode}|${conn.syncCatalog.streams[0].config.destinationSyncMode}`, before)
  })

  it('edits the schedule (cron with next runs, a bad expression refused, then basic) and the settings', async () => {
    const { page } = ui
    await page.goto(`${ui.url}/connections/${connectionId}/schedule`)
    await page.getByLabel('Schedule type').selectOption('cron')
    const expression = page.getByLabel(/Cron expression/)
    await expression.fill('0 0 12 * * ? x y')
    await page.locator('.next-runs .field-error').waitFor()
    await expression.fill('0 30 6 ? * MON-FRI')
    await page.getByLabel('Time zone').fill('Europe/Paris')
    const runs = page.locator('.next-runs li')
    await runs.nth(4).waitFor()
    assert.equal(await runs.count(), 5)
    await page.getByRole('button', { name: 'Save schedule' }).click()
    await page.getByText('Schedule saved.').waitFor()
    let conn = await ui.post('connections/get', { connectionId })
    assert.equal(conn.scheduleType, 'cron')
    assert.deepEqual(conn.scheduleData.cron, { cronExpression: '0 30 6 ? * MON-FRI', cronTimeZone: 'Europe/Paris' })

    await page.getByLabel('Schedule type').selectOption('basic')
    await page.getByLabel('Every').fill('6')
    await page.getByLabel('Unit').selectOption('hours')
    await page.getByRole('button', { name: 'Save schedule' }).click()
    await page.getByTestId('current-schedule').getByText('Every 6 hours').waitFor()
    conn = await ui.post('connections/get', { connectionId })
    assert.deepEqual(conn.scheduleData.basicSchedule, { units: 6, timeUnit: 'hours' })

    await page.getByRole('link', { name: 'Settings', exact: true }).last().click()
    await page.getByLabel('Connection name').fill('Customers (lake)')
    await page.getByLabel('Stream prefix').fill('shop_')
    await page.getByRole('button', { name: 'Save settings' }).click()
    await page.getByRole('heading', { name: 'Customers (lake)' }).waitFor()
    conn = await ui.post('connections/get', { connectionId })
    assert.equal(conn.prefix, 'shop_')
  })

  it('disables a connection from the list and filters it', async () => {
    const { page } = ui
    await page.goto(`${ui.url}/connections`)
    await page.getByRole('switch', { name: 'Disable Customers (lake)' }).click()
    await page.getByRole('switch', { name: 'Enable Customers (lake)' }).waitFor()
    assert.equal((await ui.post('connections/get', { connectionId })).status, 'inactive')
    await page.getByLabel('Status filter').selectOption('active')
    await page.getByText('0 of 1').waitFor()
    await page.getByLabel('Status filter').selectOption('all')
    await page.getByPlaceholder(/Filter by name/).fill('lake')
    await page.getByText('1 of 1').waitFor()
  })

  it('shows the schema change a sync found as a badge in the list: non-breaking, then breaking', async () => {
    const { page } = ui
    const syncToEnd = async (): Promise<string> => {
      const { job } = await ui.post('connections/sync', { connectionId })
      for (;;) {
        const { job: now } = await ui.post('jobs/get', { id: job.id })
        if (now.status === 'succeeded' || now.status === 'failed') return now.status as string
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    await ui.post('connections/update', { connectionId, status: 'active' })
    for (;;) {
      const { jobs } = await ui.post('jobs/list', { configTypes: ['sync', 'refresh'], configId: connectionId })
      if (jobs.every((j: { job: { status: string } }) => ['succeeded', 'failed', 'cancelled'].includes(j.job.status))) break
      await new Promise((r) => setTimeout(r, 50))
    }
    await db.query('ALTER TABLE public.customers ADD COLUMN phone text')
    assert.equal(await syncToEnd(), 'succeeded')
    await page.goto(`${ui.url}/connections`)
    const row = page.locator(`tr[data-connection-id="${connectionId}"]`)
    const badge = row.locator('.badge-schema-non_breaking')
    await badge.waitFor()
    assert.equal(await badge.textContent(), 'schema non-breaking')
    assert.match((await badge.getAttribute('title')) ?? '', /review the changes in the Schema tab/)

    await db.query('ALTER TABLE public.customers DROP COLUMN updated_at')
    assert.equal(await syncToEnd(), 'failed')
    await page.reload()
    await row.locator('.badge-schema-breaking').getByText('schema breaking').waitFor()
    await row.getByRole('switch', { name: 'Enable Customers (lake)' }).waitFor()
  })

  it('keeps a schedule edit begun before the reload that follows a save lands', async () => {
    const { page } = ui
    await ui.post('connections/update', { connectionId, scheduleType: 'manual' })
    await page.goto(`${ui.url}/connections/${connectionId}/schedule`)
    await page.getByTestId('current-schedule').getByText('Manual').waitFor()
    // The reload a save starts is held back until the next edit is made.
    const reload = await holdReloads(page)
    try {
      await page.getByLabel('Schedule type').selectOption('basic')
      await page.getByLabel('Every').fill('3')
      await page.getByRole('button', { name: 'Save schedule' }).click()
      await page.getByText('Schedule saved.').waitFor()
      await page.getByLabel('Every').fill('12')
      reload.release()
      await page.getByTestId('current-schedule').getByText('Every 3 hours').waitFor()
      assert.equal(await page.getByLabel('Every').inputValue(), '12')
    } finally {
      await reload.stop()
    }
  })
})
