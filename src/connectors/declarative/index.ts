export { DeclarativeSource, type DeclarativeSourceOptions } from './declarative-source.js'
export {
  builtinManifestDefinitions,
  builtinManifestDir,
  DeclarativeInputError,
  definitionFromManifest,
  definitionFromStored,
  isManifestPayload,
  manifestFromInput,
  type ManifestDefinitionInput,
  type ManifestPayload,
  type StoredManifestDefinition,
} from './declarative-definitions.js'
export { redactUrl } from './http/http-requester.js'
export type { ManifestNode } from './manifest-loader.js'
