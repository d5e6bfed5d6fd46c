export { abortable } from './abortable.js'
export { runLoadSession, writeWithLoaders } from './write-with-loaders.js'
