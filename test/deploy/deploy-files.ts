import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DockerfileParser, type Dockerfile, type Instruction } from 'dockerfile-ast'

/** The repository root (works from test/ and dist/test/). */
export const REPO_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)))
export const DEPLOY_DIR = join(REPO_ROOT, 'deploy')

function findRoot(dir: string): string {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'deploy'))) return d
    if (dirname(d) === d) throw new Error(`no repository root above ${dir}`)
  }
}

export interface PackageJson {
  name: string
  bin: Record<string, string>
  files: string[]
  dependencies: Record<string, string>
  optionalDependencies?: Record<string, string>
  devDependencies: Record<string, string>
}

export function packageJson(): PackageJson {
  return JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as PackageJson
}

/** True when `path` (relative to the package root) is shipped by the package's `files`. */
export function inPackageFiles(pkg: PackageJson, path: string): boolean {
  const p = path.replace(/^\.\//, '').replace(/\/$/, '')
  return p === 'package.json' || pkg.files.some((f) => p === f || p.startsWith(`${f}/`))
}

export function parseDockerfile(): { dockerfile: Dockerfile; text: string } {
  const text = readFileSync(join(DEPLOY_DIR, 'Dockerfile'), 'utf8')
  return { dockerfile: DockerfileParser.parse(text), text }
}

/** The exec-form JSON array of CMD, ENTRYPOINT or HEALTHCHECK CMD. */
export function execForm(instruction: Instruction): string[] {
  const content = instruction.getArgumentsContent() ?? ''
  const json = instruction.getKeyword() === 'HEALTHCHECK' ? content.replace(/^CMD\s+/, '') : content
  const parsed = JSON.parse(json) as unknown
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`${instruction.getKeyword()} is not in exec form: ${content}`)
  return parsed
}

/** Maps an absolute image path under `workdir` back to a path relative to the package root. */
export function packagePath(workdir: string, imagePath: string): string {
  return relative(workdir, resolve(workdir, imagePath))
}
