import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { startUi } from './ui-harness.js'

/**
 * Writes the screenshots of docs/ui.md (docs/images/ui-*.png): a Faker -> Local Files
 * connection with a few syncs, then each main screen at 1280x800 and the list on a narrow
 * window. Run after a build: `node dist/test/ui/take-screenshots.js [outDir]`.
 */
async function main(): Promise<void> {
  const out = process.argv[2] ?? 'docs/images'
  await mkdir(out, { recursive: true })
  const ui = await startUi()
  const { page } = ui
  const shot = async (name: string, fullPage = false): Promise<void> => {
    await page.screenshot({ path: join(out, `ui-${name}.png`), fullPage })
  }
  try {
    await page.goto(`${ui.url}/`)
    await page.getByRole('heading', { name: 'Welcome to sluice' }).waitFor()
    await shot('first-run')

    const { workspaces } = await ui.post('workspaces/list')
    const workspaceId = workspaces[0].workspaceId as string
    const defs = await ui.post('source_definitions/list')
    const faker = defs.sourceDefinitions.find((d: { name: string }) => d.name === 'Sample Data (Faker)').sourceDefinitionId
    const dDefs = await ui.post('destination_definitions/list')
    const files = dDefs.destinationDefinitions.find((d: { name: string }) => d.name === 'Local Files').destinationDefinitionId
    const connections: string[] = []
    for (const [i, name] of ['Sample users', 'Sample shop', 'Nightly export'].entries()) {
      const source = await ui.post('sources/create', { workspaceId, sourceDefinitionId: faker, name, connectionConfiguration: { count: 500 * (i + 1) } })
      const destination = await ui.post('destinations/create', { workspaceId, destinationDefinitionId: files, name: `${name} files`, connectionConfiguration: { destination_path: `out${i}` } })
      const conn = await ui.post('connections/create', {
        sourceId: source.sourceId,
        destinationId: destination.destinationId,
        name: `${name} → files`,
        status: i === 2 ? 'inactive' : 'active',
        ...(i === 0 ? { scheduleType: 'basic', scheduleData: { basicSchedule: { units: 6, timeUnit: 'hours' } } } : i === 1 ? { scheduleType: 'cron', scheduleData: { cron: { cronExpression: '0 0 2 * * ?', cronTimeZone: 'UTC' } } } : { scheduleType: 'manual' }),
        syncCatalog: {
          streams: ['users', 'products', 'purchases'].map((s) => ({ stream: { name: s }, config: { syncMode: 'full_refresh', destinationSyncMode: 'overwrite', selected: s !== 'purchases' || i === 1 } })),
        },
      })
      connections.push(conn.connectionId as string)
    }
    for (const id of connections.slice(0, 2)) {
      const job = await ui.post('connections/sync', { connectionId: id })
      for (;;) {
        const j = await ui.post('jobs/get', { id: job.job.id })
        if (j.job.status === 'succeeded' || j.job.status === 'failed') break
        await new Promise((r) => setTimeout(r, 100))
      }
    }

    await page.goto(`${ui.url}/connections`)
    await page.getByRole('row', { name: /Sample shop/ }).locator('.badge-succeeded').waitFor()
    await shot('connections')

    await page.goto(`${ui.url}/connections/${connections[0]}`)
    await page.locator('.job').first().getByRole('button', { name: 'Attempt 1' }).click()
    await page.getByTestId('attempt-log').waitFor()
    await shot('connection-jobs')

    await page.goto(`${ui.url}/connections/${connections[0]}/schema`)
    await page.getByLabel('Sync stream users').waitFor()
    await page.getByRole('row', { name: /users/ }).getByRole('button', { name: /fields/ }).click()
    await page.getByLabel('Sync field telephone of users').uncheck()
    await page.getByLabel('Sync field email of users').uncheck()
    await shot('connection-schema')

    await page.goto(`${ui.url}/connections/${connections[1]}/schedule`)
    await page.getByText('Next runs:').waitFor()
    await shot('connection-schedule')

    await page.goto(`${ui.url}/sources/new?definitionId=${faker}`)
    await page.getByLabel('Count').waitFor()
    await page.getByLabel('Name', { exact: true }).fill('Sample data')
    await page.getByRole('button', { name: 'Test' }).click()
    await page.getByText('Connection test succeeded.').waitFor()
    await shot('source-form')

    await page.goto(`${ui.url}/connectors`)
    await page.getByRole('heading', { name: 'Add a declarative manifest' }).waitFor()
    await page.getByRole('heading', { name: 'Add a connector image' }).waitFor()
    await page.getByRole('rowheader', { name: 'Local Files' }).waitFor()
    await shot('connectors', true)

    await page.setViewportSize({ width: 420, height: 800 })
    await page.goto(`${ui.url}/connections`)
    await page.getByRole('row', { name: /Sample shop/ }).waitFor()
    await shot('narrow')
  } finally {
    await ui.close()
  }
}

// `node --test dist/test/` runs every file under test/: this one only works when called directly.
if (process.env.NODE_TEST_CONTEXT === undefined) await main()
