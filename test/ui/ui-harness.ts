import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { startSluice, type RunningSluice } from '../../src/server.js'

/** Debian's chromium (apt-get install chromium); .ci/run installs it when missing. */
export const CHROMIUM = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium'

/** Flags for a quiet, offline headless Chromium in a container. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export interface UiServer {
  sluice: RunningSluice
  dataDir: string
  url: string
  browser: Browser
  context: BrowserContext
  page: Page
  /** A Config API call straight to the server (set-up and checks, not what the test clicks). */
  post(path: string, body?: unknown): Promise<any>
  close(): Promise<void>
}

/**
 * A real sluice (port 0, temp data dir, embedded store, worker running with fast polls) and a
 * headless Chromium page on it. Viewport 1280x800, the size the UI is designed for.
 */
export async function startUi(env: Record<string, string> = {}): Promise<UiServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-ui-'))
  const sluice = await startSluice({
    port: 0,
    dataDir,
    env: {
      ...process.env,
      SLUICE_DATABASE_URL: '',
      SLUICE_SECRET_KEY: randomBytes(32).toString('hex'),
      SLUICE_WORKER_POLL_MS: '50',
      SLUICE_WORKER_HEARTBEAT_MS: '100',
      SLUICE_RETRY_BACKOFF_MS: '0',
      SLUICE_SCHEDULER_TICK_MS: '3600000',
      ...env,
    },
    logger: pino({ level: 'silent' }),
  })
  // Playwright gives every launch a fresh temporary profile (its --user-data-dir).
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true })
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true })
  const page = await context.newPage()
  const token = env.SLUICE_API_TOKEN
  return {
    sluice,
    dataDir,
    url: sluice.url,
    browser,
    context,
    page,
    async post(path, body = {}) {
      const res = await fetch(`${sluice.url}/api/v1/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      })
      const text = await res.text()
      if (!res.ok) throw new Error(`${path}: ${res.status} ${text}`)
      return text === '' ? undefined : JSON.parse(text)
    },
    async close() {
      await browser.close()
      await sluice.close()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}
