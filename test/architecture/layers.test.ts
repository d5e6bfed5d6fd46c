import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, posix, relative, sep } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

/**
 * The layering guard (docs/architecture.md, "Layers"). Every `src/**\/*.ts` file belongs to one
 * layer (first by exact path, then by folder); each of its imports (static, type-only, dynamic,
 * `export ... from`) must point into its own unit or into a layer its row lists. Packages in
 * RESTRICTED_PACKAGES (database drivers, the HTTP server) may only be imported where a row allows
 * them. Units must not import each other in a cycle.
 *
 * The imports are read with the TypeScript compiler's own scanner (`ts.preProcessFile`), which is
 * already a dependency, instead of dependency-cruiser: the rules need units per connector family
 * and port/adapter halves of store/, which are a few lines here and a configuration language
 * there, and the table below stays the single place that says who may import whom.
 */
interface LayerRule {
  /** Unit name; `*` takes the folder name the `where` pattern matched (one unit per family). */
  layer: string
  /**
   * Paths from the repository root: `dir/` is a folder and everything under it, `*` one path
   * segment. A pattern without `*` wins over one with it (`src/store/open-stores.ts` over
   * `src/store/*.ts`, `src/connectors/s3/` over `src/connectors/*\/`).
   */
  where: string[]
  /** Units this layer may import; `x/*` is every unit named `x/...`. */
  mayImport: string[]
  /** Restricted packages this layer may import. */
  packages?: string[]
}

/** What every connector family may import. */
const FAMILY_BASE = ['formats', 'protocol', 'errors']

/** What the services (api, worker, scheduler) and everything above them may import. */
const BELOW_SERVICES = ['domain', 'engine', 'store ports', 'secrets', 'metrics', 'notifications', 'protocol', 'env settings', 'errors']

/** Who may import whom, bottom-up. docs/architecture.md shows the same table. */
const LAYERS: LayerRule[] = [
  { layer: 'errors', where: ['src/errors.ts'], mayImport: [] },
  { layer: 'env settings', where: ['src/env-settings.ts'], mayImport: [] },
  { layer: 'protocol', where: ['src/protocol/'], mayImport: ['errors'] },
  { layer: 'formats', where: ['src/formats/'], mayImport: ['protocol', 'errors'] },
  // The destination loop written once (batches, STATE after durability, COMPLETE, swap, abort).
  { layer: 'connectors/loader', where: ['src/connectors/loader/'], mayImport: ['protocol', 'errors'] },
  { layer: 'connectors/declarative', where: ['src/connectors/declarative/'], mayImport: ['formats', 'protocol', 'errors'] },
  { layer: 'connectors/files', where: ['src/connectors/files/'], mayImport: ['connectors/loader', ...FAMILY_BASE] },
  { layer: 'connectors/rest-api', where: ['src/connectors/rest-api/'], mayImport: ['connectors/declarative', ...FAMILY_BASE] },
  { layer: 'connectors/s3', where: ['src/connectors/s3/'], mayImport: ['connectors/files', 'connectors/loader', ...FAMILY_BASE] },
  { layer: 'connectors/local-files', where: ['src/connectors/local-files/'], mayImport: ['connectors/files', 'connectors/loader', ...FAMILY_BASE] },
  // The test connectors share their failure knobs (failAfterRecords, transientFailures, run counts).
  { layer: 'connectors/test-destination', where: ['src/connectors/test-destination/'], mayImport: ['connectors/test-source', 'connectors/loader', ...FAMILY_BASE] },
  // The MySQL family owns the MySQL driver and the binlog client.
  { layer: 'connectors/mysql', where: ['src/connectors/mysql/'], mayImport: ['connectors/loader', ...FAMILY_BASE], packages: ['mysql2', '@vlasky/zongji'] },
  { layer: 'connectors/*', where: ['src/connectors/*/'], mayImport: ['connectors/loader', ...FAMILY_BASE], packages: ['pg', 'pg-copy-streams'] },
  // The registry imports no connector; the built-in definitions (beside it) list every family.
  { layer: 'connectors/registry', where: ['src/connectors/registry.ts'], mayImport: ['protocol', 'errors'] },
  { layer: 'connectors/definitions', where: ['src/connectors/*.ts'], mayImport: ['connectors/*', 'protocol', 'errors'] },
  { layer: 'engine', where: ['src/engine/'], mayImport: ['protocol', 'errors'] },
  { layer: 'store ports', where: ['src/store/*.ts'], mayImport: ['protocol', 'errors'] },
  { layer: 'domain', where: ['src/domain/'], mayImport: ['store ports', 'protocol', 'errors'] },
  {
    layer: 'store adapters',
    where: ['src/store/sqlite/', 'src/store/postgres/', 'src/store/open-stores.ts'],
    mayImport: ['domain', 'store ports', 'protocol', 'errors'],
    packages: ['pg', 'better-sqlite3'],
  },
  { layer: 'secrets', where: ['src/secrets/'], mayImport: ['protocol', 'errors'] },
  { layer: 'metrics', where: ['src/metrics/'], mayImport: ['store ports', 'protocol', 'errors'] },
  { layer: 'notifications', where: ['src/notifications/'], mayImport: ['domain', 'store ports', 'protocol', 'errors'] },
  { layer: 'scheduler', where: ['src/scheduler/'], mayImport: ['domain', 'store ports', 'metrics', 'notifications', 'protocol', 'env settings', 'errors'] },
  { layer: 'worker', where: ['src/worker/'], mayImport: ['connectors/registry', ...BELOW_SERVICES] },
  { layer: 'api', where: ['src/api/'], mayImport: ['connectors/registry', 'connectors/declarative', 'connectors/external', ...BELOW_SERVICES], packages: ['fastify'] },
  {
    layer: 'server',
    where: ['src/server.ts', 'src/job-services.ts', 'src/custom-definitions.ts'],
    mayImport: ['api', 'worker', 'scheduler', 'store adapters', 'connectors/*', 'formats', ...BELOW_SERVICES],
    packages: ['fastify'],
  },
  { layer: 'cli', where: ['src/cli/'], mayImport: ['server', 'api', 'worker', 'scheduler', 'store adapters', 'connectors/*', 'formats', ...BELOW_SERVICES] },
]

/** Packages only the layers that list them may import: database drivers and the HTTP server. */
const RESTRICTED_PACKAGES = ['pg', 'pg-copy-streams', 'better-sqlite3', 'fastify', 'mysql2', '@vlasky/zongji']

/** One source file and the module specifiers it imports, as written. */
interface SourceFile {
  /** Path from the repository root, with `/`. */
  file: string
  imports: string[]
}

interface Placed {
  rule: LayerRule
  unit: string
}

function patternRegExp(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('([^/]+)')
  return new RegExp(`^${body}${pattern.endsWith('/') ? '' : '$'}`)
}

/** The layer and unit of a file: a pattern without `*` wins over one with it; then table order. */
function place(file: string, layers: readonly LayerRule[]): Placed | undefined {
  let found: (Placed & { wild: boolean }) | undefined
  for (const rule of layers) {
    for (const pattern of rule.where) {
      const match = patternRegExp(pattern).exec(file)
      if (match === null) continue
      const wild = pattern.includes('*')
      if (found !== undefined && (wild || !found.wild)) continue
      found = { rule, unit: match[1] === undefined ? rule.layer : rule.layer.replace('*', match[1]), wild }
    }
  }
  return found === undefined ? undefined : { rule: found.rule, unit: found.unit }
}

function allows(mayImport: readonly string[], unit: string): boolean {
  return mayImport.some((entry) => (entry.endsWith('/*') ? unit.startsWith(entry.slice(0, -1)) : entry === unit))
}

/** `pg` of `pg`, `pg-copy-streams` of `pg-copy-streams/x`, `@aws-sdk/client-s3` of itself. */
function packageName(specifier: string): string {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier)
}

/** The source file a relative specifier names (`./x.js` is written for `./x.ts`). */
function resolveRelative(from: string, specifier: string): string {
  return posix.normalize(posix.join(posix.dirname(from), specifier)).replace(/\.js$/, '.ts')
}

/**
 * Every forbidden import, one line each: `file -> specifier (why)`; then every cycle between
 * units. Empty when the layering holds.
 */
function layerViolations(files: readonly SourceFile[], layers: readonly LayerRule[] = LAYERS): string[] {
  const problems: string[] = []
  /** unit -> unit -> one import that makes the edge, for the cycle report. */
  const edges = new Map<string, Map<string, string>>()
  /** folder -> files of it that are in no layer (reported once per folder). */
  const unplaced = new Map<string, number>()
  for (const { file, imports } of files) {
    const from = place(file, layers)
    if (from === undefined) {
      const folder = file.split('/').length > 2 ? `${file.split('/').slice(0, 2).join('/')}/` : file
      unplaced.set(folder, (unplaced.get(folder) ?? 0) + 1)
      continue
    }
    for (const specifier of imports) {
      if (specifier.startsWith('node:')) continue
      if (!specifier.startsWith('.')) {
        const pkg = packageName(specifier)
        if (RESTRICTED_PACKAGES.includes(pkg) && !(from.rule.packages ?? []).includes(pkg)) {
          problems.push(`${file} -> ${specifier} (${from.unit} may not import the package ${pkg})`)
        }
        continue
      }
      const target = resolveRelative(file, specifier)
      const to = target.startsWith('src/') ? place(target, layers) : undefined
      if (to === undefined) {
        problems.push(`${file} -> ${specifier} (${target} is in no layer of src/)`)
        continue
      }
      if (to.unit === from.unit) continue
      let out = edges.get(from.unit)
      if (out === undefined) edges.set(from.unit, (out = new Map()))
      if (!out.has(to.unit)) out.set(to.unit, `${file} -> ${specifier}`)
      if (!allows(from.rule.mayImport, to.unit)) {
        problems.push(`${file} -> ${specifier} (${from.unit} may not import ${to.unit}; it may import: ${from.rule.mayImport.join(', ') || 'nothing'})`)
      }
    }
  }
  for (const [folder, count] of unplaced) {
    problems.push(`${folder}: ${count} file(s) in no layer; add the folder to LAYERS in test/architecture/layers.test.ts and to docs/architecture.md`)
  }
  for (const cycle of unitCycles(edges)) {
    const steps = cycle.map((unit, i) => {
      const next = cycle[(i + 1) % cycle.length] as string
      return `${unit} -> ${next} (${edges.get(unit)?.get(next) ?? '?'})`
    })
    problems.push(`import cycle between units: ${steps.join('; ')}`)
  }
  return problems
}

/** One cycle per strongly connected group of units (Tarjan), each as a closed walk of units. */
function unitCycles(edges: ReadonlyMap<string, ReadonlyMap<string, string>>): string[][] {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const groups: string[][] = []
  const visit = (unit: string): void => {
    index.set(unit, index.size)
    low.set(unit, index.get(unit) as number)
    stack.push(unit)
    onStack.add(unit)
    for (const next of edges.get(unit)?.keys() ?? []) {
      if (!index.has(next)) {
        visit(next)
        low.set(unit, Math.min(low.get(unit) as number, low.get(next) as number))
      } else if (onStack.has(next)) {
        low.set(unit, Math.min(low.get(unit) as number, index.get(next) as number))
      }
    }
    if (low.get(unit) !== index.get(unit)) return
    const group: string[] = []
    let member: string | undefined
    do {
      member = stack.pop() as string
      onStack.delete(member)
      group.push(member)
    } while (member !== unit)
    if (group.length > 1) groups.push(group)
  }
  for (const unit of edges.keys()) if (!index.has(unit)) visit(unit)
  return groups.map((group) => closedWalk(group, edges))
}

/** A walk through a strongly connected group that returns to its start (shortest path back). */
function closedWalk(group: readonly string[], edges: ReadonlyMap<string, ReadonlyMap<string, string>>): string[] {
  const members = new Set(group)
  const start = [...group].sort()[0] as string
  const previous = new Map<string, string>()
  const queue = [start]
  for (let i = 0; i < queue.length; i++) {
    const unit = queue[i] as string
    for (const next of edges.get(unit)?.keys() ?? []) {
      if (!members.has(next)) continue
      if (next === start) {
        const walk = [unit]
        while (walk[0] !== start) walk.unshift(previous.get(walk[0] as string) as string)
        return walk
      }
      if (!previous.has(next)) {
        previous.set(next, unit)
        queue.push(next)
      }
    }
  }
  return [...group]
}

function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'src', 'errors.ts'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error('layers.test: cannot find the repository root (package.json beside src/errors.ts)')
    dir = parent
  }
  return dir
}

function sourceFiles(root: string): SourceFile[] {
  const files: SourceFile[] = []
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const info = ts.preProcessFile(readFileSync(path, 'utf8'), true, true)
        files.push({ file: relative(root, path).split(sep).join('/'), imports: info.importedFiles.map((f) => f.fileName) })
      }
    }
  }
  walk(join(root, 'src'))
  return files
}

describe('layers', () => {
  it('every import in src/ points down the table (file -> import when not)', () => {
    const files = sourceFiles(repositoryRoot())
    assert.ok(files.length > 100, `read ${files.length} files of src/`)
    const problems = layerViolations(files)
    assert.equal(problems.length, 0, `${problems.length} forbidden import(s):\n${problems.join('\n')}`)
  })

  it('reads static, type-only, dynamic and re-export specifiers', () => {
    const text = [
      "import { a } from './a.js'",
      "import type { B } from '../b/b.js'",
      "export { c } from './c.js'",
      "export * from './d.js'",
      "const e = await import('./e.js')",
    ].join('\n')
    assert.deepEqual(
      ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName),
      ['./a.js', '../b/b.js', './c.js', './d.js', './e.js'],
    )
  })

  it('reports a synthetic upward import, a driver in the engine and a family importing another', () => {
    const problems = layerViolations([
      { file: 'src/engine/run-attempt.ts', imports: ['../store/job-store.js', 'pg', 'node:events', '../protocol/index.js'] },
      { file: 'src/connectors/s3/s3-destination.ts', imports: ['../files/write-files.js', '../postgres/pg-types.js'] },
      { file: 'src/api/routes/job-routes.ts', imports: ['../../worker/attempt-catalog.js', '../../domain/enabled-streams.js'] },
      { file: 'src/store/sqlite/sqlite-job-store.ts', imports: ['../../domain/job-transitions.js', '../job-store.js', 'better-sqlite3'] },
    ])
    assert.deepEqual(problems, [
      'src/engine/run-attempt.ts -> ../store/job-store.js (engine may not import store ports; it may import: protocol, errors)',
      'src/engine/run-attempt.ts -> pg (engine may not import the package pg)',
      'src/connectors/s3/s3-destination.ts -> ../postgres/pg-types.js (connectors/s3 may not import connectors/postgres; it may import: connectors/files, connectors/loader, formats, protocol, errors)',
      `src/api/routes/job-routes.ts -> ../../worker/attempt-catalog.js (api may not import worker; it may import: ${LAYERS.find((l) => l.layer === 'api')?.mayImport.join(', ')})`,
    ])
  })

  it('reports a file outside every layer and an import that leaves src/', () => {
    const files = [
      { file: 'src/misc/helper.ts', imports: [] },
      { file: 'src/misc/deep/other.ts', imports: [] },
      { file: 'src/engine/x.ts', imports: ['../../test/helpers/pg.js'] },
    ]
    assert.deepEqual(layerViolations(files), [
      'src/engine/x.ts -> ../../test/helpers/pg.js (test/helpers/pg.ts is in no layer of src/)',
      'src/misc/: 2 file(s) in no layer; add the folder to LAYERS in test/architecture/layers.test.ts and to docs/architecture.md',
    ])
  })

  it('reports a cycle between units even where each direction is allowed', () => {
    const layers: LayerRule[] = [
      { layer: 'a', where: ['src/a/'], mayImport: ['b'] },
      { layer: 'b', where: ['src/b/'], mayImport: ['c'] },
      { layer: 'c', where: ['src/c/'], mayImport: ['a'] },
    ]
    const problems = layerViolations(
      [
        { file: 'src/a/one.ts', imports: ['../b/two.js'] },
        { file: 'src/b/two.ts', imports: ['../c/three.js'] },
        { file: 'src/c/three.ts', imports: ['../a/one.js'] },
      ],
      layers,
    )
    assert.deepEqual(problems, [
      'import cycle between units: a -> b (src/a/one.ts -> ../b/two.js); b -> c (src/b/two.ts -> ../c/three.js); c -> a (src/c/three.ts -> ../a/one.js)',
    ])
  })

  it('places a file by its most specific pattern', () => {
    assert.equal(place('src/store/open-stores.ts', LAYERS)?.unit, 'store adapters')
    assert.equal(place('src/store/job-store.ts', LAYERS)?.unit, 'store ports')
    assert.equal(place('src/connectors/postgres/postgres-source.ts', LAYERS)?.unit, 'connectors/postgres')
    assert.equal(place('src/connectors/s3/s3-destination.ts', LAYERS)?.unit, 'connectors/s3')
    assert.equal(place('src/connectors/registry.ts', LAYERS)?.unit, 'connectors/registry')
    assert.equal(place('src/connectors/builtin-definitions.ts', LAYERS)?.unit, 'connectors/definitions')
  })
})
