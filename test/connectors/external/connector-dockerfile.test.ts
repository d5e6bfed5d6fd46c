import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { DockerfileParser, type Instruction } from 'dockerfile-ast'
import { validate } from 'dockerfile-utils'
import { builtinDefinitions } from '../../../src/connectors/builtin-definitions.js'
import { ConnectorRegistry } from '../../../src/connectors/registry.js'
import { findBuiltinConnector } from '../../../src/cli/connector-command.js'
import { ROOT } from './external-helpers.js'

/**
 * connectors/docker/Dockerfile, read as text (no container daemon on the development machines):
 * one Dockerfile for every built-in connector, the connector chosen by the CONNECTOR build arg.
 */
const text = readFileSync(join(ROOT, 'connectors', 'docker', 'Dockerfile'), 'utf8')
const dockerfile = DockerfileParser.parse(text)
const froms = dockerfile.getFROMs()
const runtimeStart = froms[1]!.getRange().start.line
const runtime = dockerfile.getInstructions().filter((i) => i.getRange().start.line > runtimeStart)
const only = (keyword: string, instructions: Instruction[] = runtime): Instruction[] => instructions.filter((i) => i.getKeyword() === keyword)
const args = (i: Instruction): string => i.getArgumentsContent() ?? ''

/** The connectors the Dockerfile's header names as CONNECTOR values. */
const named = [...new Set(text.match(/\b(?:source|destination)-[a-z0-9-]+/g) ?? [])]

describe('connector image Dockerfile', () => {
  it('parses without errors or warnings, two stages', () => {
    assert.deepEqual(validate(text).map((d) => `${d.range.start.line + 1}: ${d.message}`), [])
    assert.deepEqual(froms.map((f) => f.getBuildStage()), ['build', 'runtime'])
  })

  it('is the only connector Dockerfile, and the docs point to it', () => {
    assert.deepEqual(spawnSync('git', ['ls-files', 'connectors/docker'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim().split('\n'), ['connectors/docker/Dockerfile'])
    const doc = readFileSync(join(ROOT, 'docs', 'connectors', 'external.md'), 'utf8')
    assert.deepEqual([...new Set(doc.match(/connectors\/docker\/[\w/.-]*Dockerfile/g))], ['connectors/docker/Dockerfile'])
  })

  it('takes the connector from a required CONNECTOR build arg and checks it at build time', () => {
    const arg = only('ARG')
    assert.equal(arg.length, 1)
    assert.equal(args(arg[0]!), 'CONNECTOR', 'no default: an image without a connector fails to build')
    const check = only('RUN').map(args).find((r) => r.includes('test -n "${CONNECTOR}"'))
    assert.ok(check, 'a RUN refuses an empty CONNECTOR')
    assert.match(check, /&& node bin\/sluice\.js connector "\$\{CONNECTOR\}" spec > \/dev\/null$/)
    const env = only('ENV').map(args).join(' ')
    assert.match(env, /SLUICE_CONNECTOR=\$\{CONNECTOR\}/)
    assert.match(env, /SLUICE_LOCAL_ROOT=\/local/)
  })

  it('runs `sluice connector $SLUICE_CONNECTOR <verb>` as its entrypoint, as Airbyte expects (AIRBYTE_ENTRYPOINT)', () => {
    const entrypoint = JSON.parse(args(only('ENTRYPOINT')[0]!)) as string[]
    assert.deepEqual(entrypoint, ['/usr/local/bin/sluice-connector'])
    assert.match(only('ENV').map(args).join('\n'), /AIRBYTE_ENTRYPOINT="\/usr\/local\/bin\/sluice-connector"/)
    assert.ok(only('RUN').map(args).some((r) => r.includes(`exec node /airbyte/integration_code/bin/sluice.js connector "$SLUICE_CONNECTOR" "$@"`) && r.includes('> /usr/local/bin/sluice-connector')))
    assert.equal(only('USER').map(args).join(), 'node')
  })

  it('copies only what exists in the repository into the build stage', () => {
    const build = dockerfile.getInstructions().filter((i) => i.getRange().start.line > froms[0]!.getRange().start.line && i.getRange().start.line < runtimeStart)
    const sources = only('COPY', build).flatMap((c) => args(c).split(/\s+/).slice(0, -1))
    assert.ok(sources.length >= 4)
    for (const s of sources) assert.ok(existsSync(join(ROOT, s)), s)
  })

  it('names connectors that `sluice connector` knows, and each answers spec (what the build runs)', () => {
    assert.ok(named.length >= 6, named.join())
    const registry = new ConnectorRegistry(builtinDefinitions())
    for (const name of named) {
      findBuiltinConnector(registry, name, 'spec')
      const run = spawnSync(process.execPath, [join(ROOT, 'bin', 'sluice.js'), 'connector', name, 'spec'], { encoding: 'utf8' })
      assert.equal(run.status, 0, `${name}: ${run.stdout}${run.stderr}`)
      assert.equal((JSON.parse(run.stdout.trim().split('\n').pop()!) as { type: string }).type, 'SPEC', name)
    }
    const unknown = spawnSync(process.execPath, [join(ROOT, 'bin', 'sluice.js'), 'connector', 'source-nope', 'spec'], { encoding: 'utf8' })
    assert.notEqual(unknown.status, 0)
  })
})
