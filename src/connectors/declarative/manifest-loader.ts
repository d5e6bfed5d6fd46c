import { isScalar, parseDocument, visit } from 'yaml'
import { SluiceError } from '../../errors.js'

/** A manifest node after YAML parsing: plain JSON values. */
export type ManifestNode = Record<string, unknown>

/** Error for a manifest that cannot be loaded; `path` points into the manifest. */
export function manifestError(path: string, message: string): SluiceError {
  return new SluiceError('SLUICE_ERR_INVALID_INPUT', `Invalid manifest at ${path || '<root>'}: ${message}`, { failureType: 'config_error' })
}

/**
 * Parses manifest text (YAML 1.1, as PyYAML reads it; JSON is valid YAML). A key repeated in one
 * mapping keeps its last value, as PyYAML does; each repetition is reported in `warnings`.
 */
export function parseManifestText(text: string, warnings: string[] = []): ManifestNode {
  let doc: unknown
  try {
    const parsed = parseDocument(text, { version: '1.1', uniqueKeys: false })
    const first = parsed.errors[0]
    if (first) throw first
    visit(parsed, {
      Map(_key, map) {
        const seen = new Set<string>()
        for (const pair of map.items) {
          const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key)
          if (seen.has(key)) warnings.push(`duplicate key '${key}' in the manifest: the last value is used`)
          seen.add(key)
        }
      },
    })
    doc = parsed.toJS({ maxAliasCount: 100 })
  } catch (e) {
    throw manifestError('', `not valid YAML: ${(e as Error).message.split('\n')[0]}`)
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw manifestError('', 'the document must be a mapping')
  return doc as ManifestNode
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function lookupPath(root: unknown, path: string, ref: string): unknown {
  // The CDK tries the whole remaining path as one key first, so keys may contain '/'.
  if (path === '') return root
  if (isObject(root) && Object.prototype.hasOwnProperty.call(root, path)) return root[path]
  const at = path.indexOf('/')
  const head = at < 0 ? path : path.slice(0, at)
  const rest = at < 0 ? '' : path.slice(at + 1)
  let next: unknown
  if (Array.isArray(root) && /^\d+$/.test(head)) next = root[Number(head)]
  else if (isObject(root) && Object.prototype.hasOwnProperty.call(root, head)) next = root[head]
  else throw manifestError(ref, `reference ${ref} does not exist`)
  return lookupPath(next, rest, ref)
}

/**
 * Resolves `$ref` (mapping form, shallow-merged with local keys winning) and bare `#/...`
 * string references over the whole document, copying referenced values.
 */
export function resolveReferences(doc: ManifestNode): ManifestNode {
  const resolving = new Set<string>()
  const resolveRef = (ref: string, where: string): unknown => {
    if (!ref.startsWith('#/')) throw manifestError(where, `unsupported reference ${ref} (only local #/ references)`)
    if (resolving.has(ref)) throw manifestError(where, `circular reference ${ref}`)
    resolving.add(ref)
    try {
      return walk(lookupPath(doc, ref.slice(2), ref), where, false)
    } finally {
      resolving.delete(ref)
    }
  }
  const walk = (node: unknown, path: string, inOverrides: boolean): unknown => {
    if (typeof node === 'string') return !inOverrides && node.startsWith('#/') ? resolveRef(node, path) : node
    if (Array.isArray(node)) return node.map((x, i) => walk(x, `${path}[${i}]`, inOverrides))
    if (!isObject(node)) return node
    let base: Record<string, unknown> = {}
    const ref = node.$ref
    if (typeof ref === 'string' && !inOverrides) {
      const target = resolveRef(ref, path)
      // A reference to a list (or a scalar) resolves to that value, as the CDK's resolver does;
      // there is nothing to merge local keys into.
      if (!isObject(target)) return target
      base = { ...target }
    }
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && !inOverrides) continue
      base[k] = walk(v, path ? `${path}.${k}` : k, inOverrides || k === 'config_overrides')
    }
    return base
  }
  return walk(doc, '', false) as ManifestNode
}

/** Default component types by `ParentType.field` (the CDK's manifest_component_transformer). */
const DEFAULT_TYPES: Record<string, string> = {
  'DeclarativeSource.streams': 'DeclarativeStream',
  'DeclarativeSource.check': 'CheckStream',
  'DeclarativeSource.spec': 'Spec',
  'DeclarativeStream.retriever': 'SimpleRetriever',
  'StateDelegatingStream.full_refresh_stream': 'DeclarativeStream',
  'StateDelegatingStream.incremental_stream': 'DeclarativeStream',
  'DeclarativeStream.schema_loader': 'JsonFileSchemaLoader',
  'DynamicSchemaLoader.retriever': 'SimpleRetriever',
  'DynamicSchemaLoader.schema_type_identifier': 'SchemaTypeIdentifier',
  'DynamicSchemaLoader.schema_filter': 'RecordFilter',
  'SchemaTypeIdentifier.types_mapping': 'TypesMap',
  'QueryProperties.property_chunking': 'PropertyChunking',
  'PropertyChunking.record_merge_strategy': 'GroupByKey',
  'PropertiesFromEndpoint.retriever': 'SimpleRetriever',
  'DeclarativeStream.incremental_sync': 'DatetimeBasedCursor',
  'SimpleRetriever.requester': 'HttpRequester',
  'SimpleRetriever.record_selector': 'RecordSelector',
  'SimpleRetriever.paginator': 'NoPagination',
  'SimpleRetriever.partition_router': 'SubstreamPartitionRouter',
  'RecordSelector.extractor': 'DpathExtractor',
  'RecordSelector.record_filter': 'RecordFilter',
  'HttpRequester.error_handler': 'DefaultErrorHandler',
  'DefaultErrorHandler.response_filters': 'HttpResponseFilter',
  'CompositeErrorHandler.error_handlers': 'DefaultErrorHandler',
  'DefaultPaginator.page_size_option': 'RequestOption',
  'DefaultPaginator.page_token_option': 'RequestOption',
  'DefaultPaginator.decoder': 'JsonDecoder',
  'DatetimeBasedCursor.start_datetime': 'MinMaxDatetime',
  'DatetimeBasedCursor.end_datetime': 'MinMaxDatetime',
  'DatetimeBasedCursor.start_time_option': 'RequestOption',
  'DatetimeBasedCursor.end_time_option': 'RequestOption',
  'IncrementingCountCursor.start_value_option': 'RequestOption',
  'ListPartitionRouter.request_option': 'RequestOption',
  'ParentStreamConfig.request_option': 'RequestOption',
  'ParentStreamConfig.stream': 'DeclarativeStream',
  'SubstreamPartitionRouter.parent_stream_configs': 'ParentStreamConfig',
  'AddFields.fields': 'AddedFieldDefinition',
  'SimpleRetriever.decoder': 'JsonDecoder',
  'HttpRequester.authenticator': 'NoAuth',
  'OAuthAuthenticator.refresh_token_updater': 'RefreshTokenUpdater',
  'ApiKeyAuthenticator.inject_into': 'RequestOption',
  'DeclarativeSource.dynamic_streams': 'DynamicDeclarativeStream',
  'AsyncRetriever.creation_requester': 'HttpRequester',
  'AsyncRetriever.polling_requester': 'HttpRequester',
  'AsyncRetriever.download_requester': 'HttpRequester',
  'AsyncRetriever.download_target_requester': 'HttpRequester',
  'AsyncRetriever.url_requester': 'HttpRequester',
  'AsyncRetriever.abort_requester': 'HttpRequester',
  'AsyncRetriever.delete_requester': 'HttpRequester',
  'AsyncRetriever.status_extractor': 'DpathExtractor',
  'AsyncRetriever.download_target_extractor': 'DpathExtractor',
  'AsyncRetriever.download_extractor': 'DpathExtractor',
  'AsyncRetriever.record_selector': 'RecordSelector',
  'AsyncRetriever.status_mapping': 'AsyncJobStatusMap',
  'AsyncRetriever.decoder': 'JsonDecoder',
  'AsyncRetriever.download_decoder': 'JsonDecoder',
  'AsyncRetriever.partition_router': 'SubstreamPartitionRouter',
  'DynamicDeclarativeStream.stream_template': 'DeclarativeStream',
  'DynamicDeclarativeStream.components_resolver': 'ConfigComponentsResolver',
  'HttpComponentsResolver.retriever': 'SimpleRetriever',
  'HttpComponentsResolver.components_mapping': 'ComponentMappingDefinition',
  'ConfigComponentsResolver.stream_config': 'StreamConfig',
  'ConfigComponentsResolver.components_mapping': 'ComponentMappingDefinition',
  'ParametrizedComponentsResolver.components_mapping': 'ComponentMappingDefinition',
}

/** Fields whose values are not components (free-form data or JSON schemas). */
const OPAQUE_FIELDS = new Set(['jwt_headers', 'jwt_payload', 'additional_jwt_headers', 'additional_jwt_payload', 'definitions', 'schemas', 'schema', 'connection_specification', 'advanced_auth', 'metadata', 'config_normalization_rules', 'request_body_json', 'request_parameters', 'request_headers', 'request_body_data', 'refresh_request_body', 'refresh_request_headers', 'values', 'field_path', 'field_pointers', 'path', 'primary_key', 'stream_names', 'http_codes', 'default_values', 'list_of_parameters_for_stream'])

function copyParams(params: Record<string, unknown>): Record<string, unknown> {
  return { ...params }
}

/**
 * Adds default `type`s and propagates `$parameters` down the component tree (the parent's
 * merged with the component's own; copied into missing or falsy fields of each component).
 */
export function propagateTypesAndParameters(doc: ManifestNode): ManifestNode {
  const root: ManifestNode = { ...doc }
  if (root.type === undefined) root.type = 'DeclarativeSource'
  return propagate(root, undefined, undefined, {}) as ManifestNode
}

/** The same preprocessing for one stream a components resolver generated (a DeclarativeStream unless typed). */
export function propagateGeneratedStream(stream: ManifestNode): ManifestNode {
  return propagate(stream, 'DynamicDeclarativeStream', 'stream_template', {}) as ManifestNode
}

function propagate(node: unknown, parentType: string | undefined, field: string | undefined, params: Record<string, unknown>): unknown {
  if (Array.isArray(node)) return node.map((x) => propagate(x, parentType, field, params))
  if (!isObject(node)) return node
  if (node.type === 'object' || node.type === 'array') return node
  const out: Record<string, unknown> = { ...node }
  if (out.type === undefined && typeof out.class_name === 'string') out.type = 'CustomComponent'
  else if (out.type === undefined && parentType && field) {
    const dflt = DEFAULT_TYPES[`${parentType}.${field}`]
    if (dflt) out.type = dflt
  }
  const type = typeof out.type === 'string' ? out.type : undefined
  if (!type) return out
  const own = isObject(out.$parameters) ? out.$parameters : {}
  const merged = { ...params, ...own }
  for (const [k, v] of Object.entries(merged)) {
    if (k === '$parameters') continue
    if (!out[k]) out[k] = v
  }
  out.$parameters = copyParams(merged)
  for (const [k, v] of Object.entries(out)) {
    if (k === 'request_parameters' && isObject(v)) {
      // Request parameters are data, except a QueryProperties value, which is a component.
      out[k] = Object.fromEntries(Object.entries(v).map(([pk, pv]) => [pk, isObject(pv) && pv.type === 'QueryProperties' ? propagate(pv, type, k, { ...merged }) : pv]))
      continue
    }
    if (k === '$parameters' || k === 'type' || OPAQUE_FIELDS.has(k)) continue
    if (!isObject(v) && !Array.isArray(v)) continue
    const childParams = { ...merged }
    delete childParams[k]
    out[k] = propagate(v, type, k, childParams)
  }
  return out
}

/** Parses, resolves references and propagates parameters: the CDK's preprocessing order. */
export function loadManifest(input: string | ManifestNode, warnings: string[] = []): ManifestNode {
  const doc = typeof input === 'string' ? parseManifestText(input, warnings) : structuredClone(input)
  return propagateTypesAndParameters(resolveReferences(doc))
}
