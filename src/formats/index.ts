export * from './format-config.js'
export * from './stream-columns.js'
