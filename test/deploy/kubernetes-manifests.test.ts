import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { parseAllDocuments } from 'yaml'
import { startSluice } from '../../src/server.js'
import { createTestDatabase } from '../scale/pg-test-database.js'
import { optionDefault, parseCli } from './cli-args.js'
import { DEPLOY_DIR, execForm, parseDockerfile } from './deploy-files.js'
import { runProbe } from './health-probe.js'

const K8S_DIR = join(DEPLOY_DIR, 'kubernetes')
const SERVE_PORT = optionDefault('serve', '--port') as number

/** A manifest object as read from YAML (fields checked by the schemas, read here loosely). */
type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; [key: string]: unknown }
/** Loose access to the nested fields of a manifest the schemas validated. */
type Loose = Record<string, any>

interface Container {
  name: string
  image: string
  args?: string[]
  ports?: Array<{ name?: string; containerPort: number }>
  envFrom?: Array<{ secretRef?: { name: string } }>
  env?: Array<{ name: string; value?: string }>
  livenessProbe?: Loose
  readinessProbe?: Loose
  startupProbe?: Loose
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> }
  securityContext?: Loose
  volumeMounts?: Array<{ name: string; mountPath: string }>
}

function manifestFiles(): string[] {
  return readdirSync(K8S_DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort()
}

function loadManifests(): Array<{ file: string; manifest: Manifest }> {
  return manifestFiles().flatMap((file) =>
    parseAllDocuments(readFileSync(join(K8S_DIR, file), 'utf8')).map((doc) => {
      assert.deepEqual(doc.errors, [], file)
      return { file, manifest: doc.toJS() as Manifest }
    }),
  )
}

/**
 * Validates with kubernetes-models: its classes carry validators generated from the Kubernetes
 * OpenAPI schemas (required fields, types, enums, quantities, int-or-string). The module is
 * found from apiVersion and kind, so a manifest of a kind it does not know fails too.
 */
async function validateManifest(manifest: Manifest): Promise<void> {
  const path = `kubernetes-models/${manifest.apiVersion}/${manifest.kind}`
  const module = (await import(path)) as Record<string, new (data: unknown) => { validate(): void }>
  const Model = module[manifest.kind]
  if (!Model) throw new Error(`${path} exports no ${manifest.kind}`)
  new Model(manifest).validate()
}

const manifests = loadManifests()
const byKind = (kind: string): Manifest[] => manifests.map((m) => m.manifest).filter((m) => m.kind === kind)
const deployment = (name: string): Loose => {
  const found = byKind('Deployment').find((d) => d.metadata.name === name)
  assert.ok(found, `Deployment ${name}`)
  return found as Loose
}
const containerOf = (d: Loose): Container => {
  const containers = d.spec.template.spec.containers as Container[]
  assert.equal(containers.length, 1)
  return containers[0]!
}
const api = deployment('sluice-api')
const worker = deployment('sluice-worker')

test('every manifest validates against the Kubernetes schemas', async () => {
  assert.deepEqual(
    [...new Set(manifests.map((m) => m.manifest.kind))].sort(),
    ['Deployment', 'PodDisruptionBudget', 'Secret', 'Service'],
  )
  for (const { file, manifest } of manifests) {
    await assert.doesNotReject(validateManifest(manifest), `${file}: ${manifest.kind} ${manifest.metadata.name}`)
  }
})

test('the validator refuses broken manifests (so the test above can fail)', async () => {
  const broken = (mutate: (d: Loose) => void): Manifest => {
    const copy = structuredClone(api) as Loose
    mutate(copy)
    return copy as Manifest
  }
  await assert.rejects(validateManifest(broken((d) => (d.spec.replicas = 'two'))), /replicas must be integer/)
  await assert.rejects(validateManifest(broken((d) => delete d.spec.selector)), /selector/)
  await assert.rejects(validateManifest(broken((d) => (d.spec.template.spec.containers[0].resources.requests.memory = '192 MiB'))), /quantity/)
  await assert.rejects(validateManifest(broken((d) => (d.spec.template.spec.containers[0].readinessProbe.periodSeconds = '10s'))), /periodSeconds must be integer/)
  await assert.rejects(validateManifest({ ...(api as Manifest), kind: 'Deploymnet' }), /Cannot find module|ERR_MODULE_NOT_FOUND|not exported|ERR_PACKAGE_PATH_NOT_EXPORTED/)
})

test('kustomization.yaml lists every manifest', () => {
  const kustomization = parseAllDocuments(readFileSync(join(K8S_DIR, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as { resources: string[] }
  assert.deepEqual([...kustomization.resources].sort(), manifestFiles())
})

test('selectors: each Deployment selects its own pods; the Service and each PodDisruptionBudget select exactly one Deployment', () => {
  const labelsMatch = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
    Object.entries(selector).every(([k, v]) => labels[k] === v)
  const deployments = byKind('Deployment') as Loose[]
  for (const d of deployments) assert.ok(labelsMatch(d.spec.selector.matchLabels, d.spec.template.metadata.labels), d.metadata.name)
  const selected = (selector: Record<string, string>): string[] =>
    deployments.filter((d) => labelsMatch(selector, d.spec.template.metadata.labels)).map((d) => d.metadata.name as string)
  const service = byKind('Service')[0] as Loose
  assert.deepEqual(selected(service.spec.selector), ['sluice-api'])
  const pdbs = Object.fromEntries((byKind('PodDisruptionBudget') as Loose[]).map((p) => [p.metadata.name, selected(p.spec.selector.matchLabels)]))
  assert.deepEqual(pdbs, { 'sluice-api': ['sluice-api'], 'sluice-worker': ['sluice-worker'] })
  // The API keeps one pod through a drain only when it has more than one.
  const apiPdb = byKind('PodDisruptionBudget').find((p) => p.metadata.name === 'sluice-api') as Loose
  assert.ok(api.spec.replicas > apiPdb.spec.minAvailable)
})

test('the API runs `sluice serve --no-worker` on all interfaces; the Service reaches its port', async () => {
  const c = containerOf(api)
  assert.deepEqual(await parseCli(c.args!), { command: 'serve', opts: { host: '0.0.0.0', port: SERVE_PORT, worker: false } })
  assert.deepEqual(c.ports, [{ name: 'http', containerPort: SERVE_PORT }])
  const service = byKind('Service')[0] as Loose
  assert.equal(service.spec.ports[0].targetPort, 'http')
  assert.equal(api.spec.template.metadata.annotations['prometheus.io/path'], '/metrics')
  assert.equal(api.spec.template.metadata.annotations['prometheus.io/port'], String(SERVE_PORT))
})

test('the worker runs `sluice worker`, and Kubernetes waits out its whole drain before killing it', async () => {
  const c = containerOf(worker)
  const parsed = await parseCli(c.args!)
  assert.equal(parsed.command, 'worker')
  const graceS = (parsed.opts.shutdownGrace as number | undefined) ?? 60
  // Grace for running attempts, then aborting them, recording them as failed and deregistering.
  assert.ok(worker.spec.template.spec.terminationGracePeriodSeconds >= graceS + 15, `terminationGracePeriodSeconds >= ${graceS + 15}`)
})

test('the worker serves /metrics on all interfaces, on the port its Prometheus annotations name', async () => {
  const c = containerOf(worker)
  const { opts } = await parseCli(c.args!)
  assert.equal(opts.metricsHost, '0.0.0.0', 'reachable from other pods (the CLI default is 127.0.0.1)')
  assert.equal(typeof opts.metricsPort, 'number')
  assert.deepEqual(c.ports, [{ name: 'metrics', containerPort: opts.metricsPort }])
  const annotations = worker.spec.template.metadata.annotations as Record<string, string>
  assert.equal(annotations['prometheus.io/scrape'], 'true')
  assert.equal(annotations['prometheus.io/port'], String(opts.metricsPort))
  assert.equal(annotations['prometheus.io/path'], '/metrics')
  assert.equal(c.livenessProbe, undefined, 'no probe on /metrics, which SLUICE_METRICS=auth would close')
})

test('both run as the image user, non-root, read-only root filesystem, with /data and /tmp writable', () => {
  const { dockerfile } = parseDockerfile()
  const user = dockerfile.getInstructions().filter((i) => i.getKeyword() === 'USER').pop()!.getArgumentsContent()!
  const [uid, gid] = user.split(':').map(Number)
  for (const d of [api, worker]) {
    const pod = d.spec.template.spec
    assert.equal(pod.securityContext.runAsNonRoot, true)
    assert.equal(pod.securityContext.runAsUser, uid)
    assert.equal(pod.securityContext.runAsGroup, gid)
    const c = containerOf(d)
    assert.equal(c.securityContext?.readOnlyRootFilesystem, true)
    assert.equal(c.securityContext?.allowPrivilegeEscalation, false)
    assert.deepEqual(c.volumeMounts?.map((m) => m.mountPath).sort(), ['/data', '/tmp'])
  }
})

test('the Secret holds the key, the token and the database URL, and both Deployments read it', () => {
  const secrets = byKind('Secret') as Loose[]
  assert.equal(secrets.length, 1)
  const secret = secrets[0]!
  assert.deepEqual(Object.keys(secret.stringData).sort(), ['SLUICE_API_TOKEN', 'SLUICE_DATABASE_URL', 'SLUICE_SECRET_KEY'])
  for (const d of [api, worker]) assert.deepEqual(containerOf(d).envFrom, [{ secretRef: { name: secret.metadata.name } }])
})

test('resource requests are set (measured figures in the comments), with a memory limit above the request', async () => {
  const mebibytes = (q: string): number => {
    const m = /^(\d+)(Mi|Gi)$/.exec(q)
    assert.ok(m, q)
    return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1)
  }
  for (const d of [api, worker]) {
    const r = containerOf(d).resources!
    assert.ok(r.requests?.cpu && r.requests.memory, d.metadata.name)
    assert.ok(mebibytes(r.limits!.memory!) > mebibytes(r.requests.memory), d.metadata.name)
  }
  // One sync peaks at up to 250 MiB (README benches); the worker requests room for its concurrency.
  const c = containerOf(worker)
  const concurrency = ((await parseCli(c.args!)).opts.concurrency as number | undefined) ?? 2
  assert.ok(mebibytes(c.resources!.requests!.memory!) >= 110 + concurrency * 140, 'idle 110 MiB + 140 MiB per sync')
})

describe('the probes work against a running sluice', () => {
  let tdb: Awaited<ReturnType<typeof createTestDatabase>>
  let dataDir: string
  before(async () => {
    tdb = await createTestDatabase('k8sprobes')
    dataDir = await mkdtemp(join(tmpdir(), 'sluice-probes-'))
  })
  after(async () => {
    await tdb.drop()
    await rm(dataDir, { recursive: true, force: true })
  })

  test('liveness and startup ask a GET route that answers 200; readiness passes while the store is reachable and fails once it is gone', async () => {
    const c = containerOf(api)
    const running = await startSluice({ host: '127.0.0.1', port: 0, dataDir, worker: false, logger: pino({ level: 'silent' }), env: { SLUICE_DATABASE_URL: tdb.url } })
    try {
      for (const probe of [c.livenessProbe!, c.startupProbe!]) {
        assert.equal(probe.httpGet.port, 'http')
        const res = await fetch(`${running.url}${probe.httpGet.path as string}`)
        assert.equal(res.status, 200, probe.httpGet.path)
      }
      assert.equal(await runProbe(c.readinessProbe!.exec.command as string[], SERVE_PORT, running.port), 0)
      // The database disappears under the running API: health still answers 200, readiness fails.
      await tdb.drop()
      assert.equal((await fetch(`${running.url}${c.livenessProbe!.httpGet.path as string}`)).status, 200)
      assert.equal(await runProbe(c.readinessProbe!.exec.command as string[], SERVE_PORT, running.port), 1)
    } finally {
      await running.close()
    }
  })

  test('the readiness probe runs the same script as the image HEALTHCHECK', () => {
    const { dockerfile } = parseDockerfile()
    const healthcheck = execForm(dockerfile.getInstructions().find((i) => i.getKeyword() === 'HEALTHCHECK')!)
    assert.deepEqual(containerOf(api).readinessProbe!.exec.command, healthcheck)
  })
})
