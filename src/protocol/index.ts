export * from './catalog.js'
export * from './messages.js'
export * from './spec.js'
