import { randomUUID } from 'node:crypto'
import { mkdir, open, unlink } from 'node:fs/promises'
import path from 'node:path'
import { configError, SluiceError } from '../../errors.js'
import type {
  ConnectionStatus,
  ConnectorConfig,
  ConnectorContext,
  Destination,
  DestinationCapabilities,
  LoadSession,
  RunOptions,
} from '../../protocol/index.js'
import { type FormatConfig, parseFormatConfig } from '../../formats/index.js'
import { DEFAULT_FILE_LIMITS, fileLoadSession, type FileLimits, type FileWriteSettings, isInside, LocalFileStore, realpathOfExistingPrefix } from '../files/index.js'
import { DEFAULT_FILE_NAME_PATTERN, DEFAULT_PATH_FORMAT } from '../files/path-format.js'
import { writeWithLoaders } from '../loader/index.js'
import { type LocalFilesConfig, localFilesSpec } from './local-files-spec.js'

/** Parquet with snappy when the config names no format. */
const DEFAULT_LOCAL_FORMAT: FormatConfig = { type: 'Parquet', codec: 'SNAPPY', blockSizeMb: 128, pageSizeKb: 1024, dictionaryEncoding: true }

/** The destination directory, refused when its path alone (before links) leaves the root. */
function lexicalDestinationDir(destinationPath: unknown, root: string): string {
  if (typeof destinationPath !== 'string' || destinationPath.trim() === '') {
    throw configError('destination_path is required.')
  }
  const absRoot = path.resolve(root)
  const target = path.resolve(absRoot, destinationPath)
  if (!isInside(target, absRoot)) {
    throw configError(`destination_path "${destinationPath}" is outside the local files root (path traversal).`)
  }
  return target
}

/**
 * Resolves `destination_path` under the local files root. Relative paths are taken from the
 * root; absolute ones must lie inside it. Symlinks are resolved on the existing part of the
 * path so a link cannot lead outside the root either.
 */
export async function resolveDestinationDir(destinationPath: unknown, root: string): Promise<string> {
  const target = lexicalDestinationDir(destinationPath, root)
  const absRoot = path.resolve(root)
  const realRoot = await realpathOfExistingPrefix(absRoot)
  const realTarget = await realpathOfExistingPrefix(target)
  if (!isInside(realTarget, realRoot)) {
    throw configError(`destination_path "${destinationPath}" leads outside the local files root through a link (path traversal).`)
  }
  return target
}

/** Writes a probe file (fsync) and removes it: proves the directory is creatable and writable. */
async function probeDirectory(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true })
  const probe = path.join(dir, `.sluice-probe-${randomUUID()}`)
  const handle = await open(probe, 'wx')
  try {
    await handle.writeFile('sluice check\n')
    await handle.sync()
  } finally {
    await handle.close()
  }
  await unlink(probe)
}

/** The Local Files destination: JSONL, CSV, Parquet or Avro files in the S3 path layout, in a directory. */
export class LocalFilesDestination implements Destination {
  readonly #limits: Partial<FileLimits>

  /** `limits` overrides part rotation and state flush bounds (tests use tiny ones). */
  constructor(limits: Partial<FileLimits> = {}) {
    this.#limits = limits
  }

  readonly spec = localFilesSpec
  readonly capabilities: DestinationCapabilities = {
    supportedSyncModes: ['overwrite', 'append'],
    // Parquet reads COPY text bytes and columns directly; Avro uses columns(); JSONL and CSV use rows().
    acceptsPgCopyText: true,
    acceptsColumns: true,
  }

  /**
   * An output format sluice cannot write (an Avro codec, a level out of range) or a
   * destination_path outside the local files root (`..`, an absolute path elsewhere) is a 422 at
   * create, not a failure at the first check or sync. Links are followed at check and sync.
   */
  validateConfig(raw: ConnectorConfig, context?: ConnectorContext): void {
    const config = raw as unknown as LocalFilesConfig
    parseFormatConfig(config.format, DEFAULT_LOCAL_FORMAT)
    if (context !== undefined) lexicalDestinationDir(config.destination_path, context.localFilesRoot)
  }

  async check(raw: ConnectorConfig, opts: RunOptions): Promise<ConnectionStatus> {
    const config = raw as unknown as LocalFilesConfig
    try {
      // A bad format (an Avro codec sluice does not write, a level out of range) fails here as in a sync.
      this.validateConfig(raw)
      const dir = await resolveDestinationDir(config.destination_path, opts.context.localFilesRoot)
      await probeDirectory(dir)
      return { status: 'succeeded', message: `Directory ${config.destination_path} is writable.` }
    } catch (e) {
      const message = e instanceof SluiceError ? e.message : `Cannot write to ${config.destination_path}: ${(e as Error).message}`
      return { status: 'failed', message }
    }
  }

  /** The shared destination loop over a file load session in the destination directory. */
  readonly write = writeWithLoaders(async (raw, _catalog, opts) => this.#openSession(raw, opts))

  async #openSession(raw: ConnectorConfig, opts: RunOptions): Promise<LoadSession> {
    const config = raw as unknown as LocalFilesConfig
    const dir = await resolveDestinationDir(config.destination_path, opts.context.localFilesRoot)
    await mkdir(dir, { recursive: true })
    const settings: FileWriteSettings = {
      basePath: '',
      pathFormat: config.path_format || DEFAULT_PATH_FORMAT,
      fileNamePattern: config.file_name_pattern || DEFAULT_FILE_NAME_PATTERN,
      format: parseFormatConfig(config.format, DEFAULT_LOCAL_FORMAT),
      ...DEFAULT_FILE_LIMITS,
      ...this.#limits,
    }
    return fileLoadSession(new LocalFileStore(dir, opts.context.localFilesRoot), settings, opts)
  }
}
