import { randomUUID } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, open, readdir, readFile, realpath, rename, unlink } from 'node:fs/promises'
import path from 'node:path'
import { finished } from 'node:stream/promises'
import { configError, systemError } from '../../errors.js'
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

/** True when `child` is `parent` or below it (both absolute). */
export function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child)
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))
}

/** realpath of the longest existing prefix of `p`, with the missing tail appended. */
export async function realpathOfExistingPrefix(p: string): Promise<string> {
  let head = p
  const tail: string[] = []
  for (;;) {
    try {
      return path.join(await realpath(head), ...tail.reverse())
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
      const parent = path.dirname(head)
      if (parent === head) return p
      tail.push(path.basename(head))
      head = parent
    }
  }
}

/**
 * Files under one directory as an object store: keys are `/`-separated paths below it. A file is
 * written under a hidden temp name, fsynced, then renamed into place (and the directory fsynced),
 * so a reader never sees a partial file and a committed one survives a crash. Every directory it
 * creates, writes, lists or deletes in must resolve inside `root` (the local files root) once
 * links are followed: a symbolic link below it pointing elsewhere is refused, never written through.
 */
export class LocalFileStore implements ObjectStore {
  readonly #dir: string
  readonly #root: string
  #realRoot: Promise<string> | undefined

  constructor(dir: string, root: string = dir) {
    this.#dir = path.resolve(dir)
    this.#root = path.resolve(root)
  }

  /** Refuses a directory that leads outside the root through a link (checked on its existing part). */
  async #contained(dir: string): Promise<void> {
    this.#realRoot ??= realpathOfExistingPrefix(this.#root)
    const realRoot = await this.#realRoot
    if (!isInside(await realpathOfExistingPrefix(dir), realRoot)) {
      throw configError(`"${path.relative(this.#dir, dir) || '.'}" leads outside the local files root through a link: files are never written or deleted there.`)
    }
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
    // Checked before mkdir (which would follow a link and create directories outside) and after.
    await this.#contained(dir)
    await mkdir(dir, { recursive: true })
    await this.#contained(dir)
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
      const dir = this.#path(relDir)
      await this.#contained(dir)
      entries = await readdir(dir, { withFileTypes: true })
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

  /**
   * The generation a file was written in; 0 only when it has no sidecar. Any other failure to read
   * it (EMFILE, EACCES, a damaged sidecar) fails the attempt: taken as 0, the file would count as
   * an older generation and an overwrite would delete it.
   */
  async generationOf(key: string): Promise<number> {
    const file = this.#path(key)
    await this.#contained(path.dirname(file))
    let text: string
    try {
      text = await readFile(generationPath(file), 'utf8')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0
      throw e
    }
    const n = Number(text.trim())
    if (text.trim() === '' || !Number.isSafeInteger(n)) throw systemError(`The generation marker of "${key}" is damaged (${JSON.stringify(text.slice(0, 20))}).`)
    return n
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      const file = this.#path(key)
      await this.#contained(path.dirname(file))
      await unlinkIfExists(file)
      await unlinkIfExists(generationPath(file))
    }
  }
}
