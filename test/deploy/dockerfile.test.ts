import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join, relative } from 'node:path'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import type { Instruction } from 'dockerfile-ast'
import { validate } from 'dockerfile-utils'
import { pino } from 'pino'
import { startSluice } from '../../src/server.js'
import { optionDefault, parseCli } from './cli-args.js'
import { execForm, inPackageFiles, packageJson, packagePath, parseDockerfile, REPO_ROOT } from './deploy-files.js'
import { runProbe } from './health-probe.js'

const { dockerfile, text } = parseDockerfile()
const pkg = packageJson()
const froms = dockerfile.getFROMs()
const build = froms[0]!
const runtime = froms[froms.length - 1]!

/** The instructions of the stage that starts at `from`. */
function stage(index: number): Instruction[] {
  const start = froms[index]!.getRange().start.line
  const end = index + 1 < froms.length ? froms[index + 1]!.getRange().start.line : Number.POSITIVE_INFINITY
  return dockerfile.getInstructions().filter((i) => i.getRange().start.line > start && i.getRange().start.line < end)
}
const buildStage = stage(0)
const runtimeStage = stage(froms.length - 1)
const only = (instructions: Instruction[], keyword: string): Instruction[] => instructions.filter((i) => i.getKeyword() === keyword)
const single = (instructions: Instruction[], keyword: string): Instruction => {
  const found = only(instructions, keyword)
  assert.equal(found.length, 1, `one ${keyword}`)
  return found[0]!
}
const runText = (instructions: Instruction[]): string => only(instructions, 'RUN').map((r) => r.getArgumentsContent() ?? '').join('\n')
const SERVE_PORT = optionDefault('serve', '--port') as number

test('the Dockerfile parses without errors or warnings', () => {
  assert.deepEqual(validate(text).map((d) => `${d.range.start.line + 1}: ${d.message}`), [])
})

test('two stages on a Node 20 slim image: build, then runtime', () => {
  assert.equal(froms.length, 2)
  assert.equal(build.getBuildStage(), 'build')
  assert.equal(runtime.getBuildStage(), 'runtime')
  for (const from of froms) {
    const image = dockerfile.resolveVariable('NODE_IMAGE', from.getRange().start.line) ?? from.getImage()
    assert.match(String(image), /^node:20(\.\d+){0,2}-(bookworm|bullseye|trixie)-slim$|^node:20(\.\d+){0,2}-slim$/)
  }
})

test('the build stage has the native toolchain, installs with dev dependencies (prepare = tsc) and prunes them', () => {
  const run = runText(buildStage)
  for (const tool of ['python3', 'make', 'g++']) assert.match(run, new RegExp(`apt-get install[^\\n]*\\s${tool.replace('+', '\\+')}(\\s|$)`), tool)
  assert.match(run, /npm ci\b/)
  assert.match(run, /npm prune --omit=dev\b/)
  assert.equal((pkg as unknown as { scripts: Record<string, string> }).scripts.prepare, 'tsc -p tsconfig.json && npm run build:web', 'npm ci builds dist/ (server and web app) through prepare')
  // Every input of the build exists in the repository (the build context is the repository root).
  for (const copy of dockerfile.getCOPYs().filter((c) => buildStage.includes(c))) {
    const args = copy.getArguments().map((a) => a.getValue())
    for (const source of args.slice(0, -1)) assert.ok(existsSync(join(REPO_ROOT, source)), `COPY ${source}`)
  }
  // tsc needs tsconfig.json and the sources; its output must hold the CLI the runtime starts.
  const copied = dockerfile.getCOPYs().filter((c) => buildStage.includes(c)).flatMap((c) => c.getArguments().map((a) => a.getValue()))
  for (const needed of ['package.json', 'package-lock.json', 'tsconfig.json', 'src', 'web']) assert.ok(copied.includes(needed), needed)
})

test('the runtime stage copies only what the package ships, from the build stage, to the same paths', () => {
  const workdir = single(runtimeStage, 'WORKDIR').getArgumentsContent() ?? ''
  const buildWorkdir = single(buildStage, 'WORKDIR').getArgumentsContent() ?? ''
  const copies = dockerfile.getCOPYs().filter((c) => runtimeStage.includes(c))
  const shipped: string[] = []
  for (const copy of copies) {
    assert.equal(copy.getFromFlag()?.getValue(), 'build')
    const [source, destination] = copy.getArguments().map((a) => a.getValue())
    const from = packagePath(buildWorkdir, source!)
    assert.equal(packagePath(workdir, destination!), from, `${source} lands at the same path`)
    shipped.push(from)
    if (from !== 'node_modules') assert.ok(inPackageFiles(pkg, from), `${from} is in the package's files`)
  }
  // Everything the package ships is in the image, with its production dependencies.
  for (const file of [...pkg.files, 'package.json', 'node_modules']) assert.ok(shipped.includes(file), `${file} is copied`)
})

test('the built code imports only production dependencies, so the pruned node_modules runs it', () => {
  const allowed = new Set([...Object.keys(pkg.dependencies), ...Object.keys(pkg.optionalDependencies ?? {})])
  const builtins = new Set(builtinModules)
  const missing = new Set<string>()
  const seen = new Set<string>()
  const dist = join(REPO_ROOT, 'dist', 'src')
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith('.js')) {
        const code = readFileSync(path, 'utf8')
        const specifiers = [...code.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:\brequire|createRequire\([^)]*\))\(\s*['"]([^'"]+)['"]\s*\)/gm)]
        for (const m of specifiers) {
          const spec = m[1] ?? m[2] ?? m[3] ?? ''
          if (spec.startsWith('.') || spec.startsWith('node:') || builtins.has(spec)) continue
          const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!
          seen.add(name)
          if (!allowed.has(name)) missing.add(`${name} (${relative(dist, path)})`)
        }
      }
    }
  }
  walk(dist)
  // The scan sees the imports (a broken pattern would find nothing and pass).
  for (const dep of ['fastify', 'pg', 'better-sqlite3', 'prom-client', 'zstd-napi']) assert.ok(seen.has(dep), dep)
  assert.deepEqual([...missing], [])
})

test('a non-root user, the /data volume as SLUICE_DATA_DIR, and the API port exposed', () => {
  const user = single(runtimeStage, 'USER').getArgumentsContent() ?? ''
  const uid = user.split(':')[0]!
  assert.match(uid, /^\d+$/, 'numeric, so Kubernetes runAsNonRoot can check it')
  assert.notEqual(Number(uid), 0)
  assert.match(runText(runtimeStage), new RegExp(`useradd [^\\n]*--uid ${uid}\\b`))
  assert.deepEqual(JSON.parse(single(runtimeStage, 'VOLUME').getArgumentsContent() ?? ''), ['/data'])
  const env = only(runtimeStage, 'ENV').flatMap((e) => (e as unknown as { getProperties(): Array<{ getName(): string; getValue(): string }> }).getProperties())
  assert.equal(env.find((p) => p.getName() === 'SLUICE_DATA_DIR')?.getValue(), '/data')
  assert.match(runText(runtimeStage), /chown -R sluice:sluice \/data/)
  assert.equal(single(runtimeStage, 'EXPOSE').getArgumentsContent(), String(SERVE_PORT))
})

test('ENTRYPOINT runs the package bin; CMD is `sluice serve` on all interfaces; `worker` parses as a command', async () => {
  const workdir = single(runtimeStage, 'WORKDIR').getArgumentsContent() ?? ''
  const entrypoint = execForm(single(runtimeStage, 'ENTRYPOINT'))
  assert.equal(entrypoint[0], 'node')
  const bin = packagePath(workdir, entrypoint[1]!)
  assert.equal(bin, pkg.bin.sluice)
  assert.ok(existsSync(join(REPO_ROOT, bin)))
  // The bin starts the compiled CLI, which the runtime stage copies.
  const target = /from '(\.\.\/[^']+)'/.exec(readFileSync(join(REPO_ROOT, bin), 'utf8'))?.[1]
  assert.ok(target && inPackageFiles(pkg, join('bin', target)), `bin/sluice.js imports ${target}`)
  assert.ok(existsSync(join(REPO_ROOT, 'bin', target)), 'the compiled CLI exists after tsc')

  const cmd = execForm(single(runtimeStage, 'CMD'))
  assert.deepEqual(await parseCli(cmd), { command: 'serve', opts: { host: '0.0.0.0', port: SERVE_PORT, worker: true } })
  assert.equal((await parseCli(['worker'])).command, 'worker')
  // The check itself can fail: a flag the CLI lacks is refused.
  await assert.rejects(parseCli(['serve', '--hots', '0.0.0.0']), /unknown option '--hots'/)
  await assert.rejects(parseCli(['worker', '--concurrency', '0']), /must be a positive integer/)
})

test('HEALTHCHECK asks the real health route with node: 0 while sluice is up, 1 once it is gone', async () => {
  const healthcheck = single(runtimeStage, 'HEALTHCHECK')
  const command = execForm(healthcheck)
  assert.match(command.join(' '), new RegExp(`http://127\\.0\\.0\\.1:${SERVE_PORT}/api/v1/health`))
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-healthcheck-'))
  try {
    const running = await startSluice({ host: '127.0.0.1', port: 0, dataDir, worker: false, logger: pino({ level: 'silent' }), env: {} })
    try {
      assert.equal((await running.app.inject({ method: 'GET', url: '/api/v1/health' })).statusCode, 200)
      assert.equal(await runProbe(command, SERVE_PORT, running.port), 0)
    } finally {
      await running.close()
    }
    assert.equal(await runProbe(command, SERVE_PORT, running.port), 1)
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
})
