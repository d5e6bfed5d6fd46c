export * from './format-config.js'
export * from './object-store.js'
export * from './stream-columns.js'
export { writeFiles, DEFAULT_FILE_LIMITS, type FileLimits, type FileWriteSettings } from './write-files.js'
