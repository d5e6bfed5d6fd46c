import { randomUUID } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises'
import path from 'node:path'
import { finished } from 'node:stream/promises'
import { configError } from '../../errors.js'
import type { ObjectSink, ObjectStore } from './object-store.js'

/** fsync of a file or directory by path. */
async function fsyncPath(p: string, flags = 'r'): Promise<void> {
  const handle = await open(p, flags)
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

async function unlinkIfExists(p: string): Promise<void> {
  await unlink(p).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e
  })
}

/** Hidden sidecar holding a file's generation (files have no user metadata, unlike S3 objects). */
function generationPath(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.sluice-generation`)
}

/**
 * Files under one directory as an object store: keys are `/`-separated paths below it. A file is
 * written under a hidden temp name, fsynced, then renamed into place (and the directory fsynced),
 * so a reader never sees a partial file and a committed one survives a crash.
 */
export class LocalFileStore implements ObjectStore {
  readonly #dir: string

  constructor(dir: string) {
    this.#dir = path.resolve(dir)
  }

  /** The file of a key; a key leading outside the directory (`..` in a stream name or path format) is refused. */
  #path(key: string): string {
    const file = path.resolve(this.#dir, ...key.split('/'))
    const rel = path.relative(this.#dir, file)
    if (rel.startsWith('..') || path.isAbsolute(rel)) throw configError(`File path "${key}" leads outside destination_path (path traversal).`)
    return file
  }

  async create(key: string, generationId: number): Promise<ObjectSink> {
    const final = this.#path(key)
    const dir = path.dirname(final)
    await mkdir(dir, { recursive: true })
    const temp = path.join(dir, `.${path.basename(final)}.${randomUUID()}.sluice-tmp`)
    const stream = createWriteStream(temp, { flags: 'wx' })
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve())
      stream.once('error', reject)
    })
    return {
      stream,
      commit: async () => {
        stream.end()
        await finished(stream)
        await fsyncPath(temp, 'r+')
        const genFile = generationPath(final)
        const handle = await open(genFile, 'w')
        try {
          await handle.writeFile(String(generationId))
          await handle.sync()
        } finally {
          await handle.close()
        }
        await rename(temp, final)
        await fsyncPath(dir)
      },
      abort: async () => {
        stream.destroy()
        await finished(stream).catch(() => undefined)
        await unlinkIfExists(temp)
      },
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    const slash = prefix.lastIndexOf('/')
    const start = slash < 0 ? '' : prefix.slice(0, slash)
    yield* this.#walk(start, prefix)
  }

  async *#walk(relDir: string, prefix: string): AsyncGenerator<string> {
    let entries
    try {
      entries = await readdir(this.#path(relDir), { withFileTypes: true })
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return
      throw e
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue
      const key = relDir ? `${relDir}/${entry.name}` : entry.name
      if (entry.isDirectory()) {
        if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) yield* this.#walk(key, prefix)
      } else if (key.startsWith(prefix)) yield key
    }
  }

  async generationOf(key: string): Promise<number> {
    try {
      const n = Number((await readFile(generationPath(this.#path(key)), 'utf8')).trim())
      return Number.isFinite(n) ? n : 0
    } catch {
      return 0
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      const file = this.#path(key)
      await unlinkIfExists(file)
      await unlinkIfExists(generationPath(file))
    }
  }
}
