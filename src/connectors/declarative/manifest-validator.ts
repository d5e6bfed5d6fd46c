import { SluiceError } from '../../errors.js'
import { checkTemplate, isTemplate } from './interpolation/interpolator.js'
import { manifestError, type ManifestNode } from './manifest-loader.js'

/** Component types the sluice runtime implements (see docs/declarative.md). */
export const SUPPORTED_COMPONENTS = new Set([
  'DeclarativeSource', 'CheckStream', 'Spec', 'DeclarativeStream', 'SimpleRetriever', 'HttpRequester',
  'RecordSelector', 'DpathExtractor', 'RecordFilter', 'DefaultPaginator', 'NoPagination', 'CursorPagination',
  'PageIncrement', 'OffsetIncrement', 'RequestOption', 'RequestPath', 'SubstreamPartitionRouter',
  'ParentStreamConfig', 'ListPartitionRouter', 'DatetimeBasedCursor', 'MinMaxDatetime', 'AddFields',
  'AddedFieldDefinition', 'RemoveFields', 'KeysToLower', 'InlineSchemaLoader', 'JsonFileSchemaLoader',
  'DefaultErrorHandler', 'CompositeErrorHandler', 'HttpResponseFilter', 'ExponentialBackoffStrategy',
  'ConstantBackoffStrategy', 'WaitTimeFromHeader', 'WaitUntilTimeFromHeader', 'ApiKeyAuthenticator',
  'BearerAuthenticator', 'BasicHttpAuthenticator', 'OAuthAuthenticator', 'NoAuth', 'SelectiveAuthenticator',
  'JsonDecoder', 'JsonlDecoder', 'RefreshTokenUpdater', 'ConcurrencyLevel', 'HTTPAPIBudget',
  'MovingWindowCallRatePolicy', 'FixedWindowCallRatePolicy', 'UnlimitedCallRatePolicy', 'Rate',
  'HttpRequestRegexMatcher', 'RequestBodyJsonObject', 'RequestBodyUrlEncodedForm', 'RequestBodyPlainText',
  'RequestBodyGraphQL', 'SluiceAutoExtractor', 'SessionTokenAuthenticator', 'LegacyToPerPartitionStateMigration',
  'KeysToSnakeCase', 'KeysReplace', 'DpathFlattenFields', 'FlattenFields', 'DynamicSchemaLoader', 'SchemaTypeIdentifier', 'TypesMap', 'GroupingPartitionRouter', 'QueryProperties', 'PropertiesFromEndpoint', 'PropertyChunking', 'GroupByKey', 'XmlDecoder', 'IterableDecoder', 'StateDelegatingStream', 'JwtAuthenticator', 'LegacySessionTokenAuthenticator',
  'IncrementingCountCursor', 'DynamicDeclarativeStream', 'HttpComponentsResolver', 'ConfigComponentsResolver',
  'ParametrizedComponentsResolver', 'StreamParametersDefinition', 'ComponentMappingDefinition', 'StreamConfig',
  'CheckDynamicStream', 'DynamicStreamCheckConfig', 'AsyncRetriever', 'AsyncJobStatusMap', 'CsvDecoder', 'GzipDecoder',
  // SessionTokenAuthenticator.request_authentication types.
  'ApiKey', 'Bearer',
])

/** Fields holding data, JSON schemas or $ref sources rather than components. */
const DATA_FIELDS = new Set(['definitions', 'schemas', 'schema', 'connection_specification', 'advanced_auth', 'metadata', '$parameters', 'request_body_json', 'request_parameters', 'request_headers', 'request_body_data', 'refresh_request_body', 'refresh_request_headers', 'config_normalization_rules', 'description'])

/** Top-level or component fields sluice does not implement: rejected instead of silently ignored. */
const UNSUPPORTED_FIELDS: Record<string, string> = {
  'DeclarativeStream.file_uploader': 'file uploads',
}

/**
 * Fields that hold components, across the CDK's component models. Any other key of a known
 * component is not a component: the CDK's models ignore keys they do not declare, so sluice does
 * not validate what sits under them (it only reports templates there that do not compile).
 */
const COMPONENT_FIELDS = new Set([
  'streams', 'check', 'spec', 'concurrency_level', 'api_budget', 'dynamic_streams', 'retriever', 'incremental_sync',
  'schema_loader', 'transformations', 'state_migrations', 'file_uploader', 'requester', 'record_selector', 'paginator',
  'partition_router', 'decoder', 'stream_slicer', 'authenticator', 'error_handler', 'request_body', 'extractor',
  'record_filter', 'schema_normalization', 'pagination_strategy', 'page_size_option', 'page_token_option',
  'parent_stream_configs', 'stream', 'request_option', 'start_datetime', 'end_datetime', 'start_time_option',
  'end_time_option', 'fields', 'response_filters', 'backoff_strategies', 'error_handlers', 'inject_into',
  'refresh_token_updater', 'authenticators', 'login_requester', 'request_authentication', 'policies', 'rates',
  'matchers', 'creation_requester', 'polling_requester', 'download_requester', 'download_paginator',
  'abort_requester', 'delete_requester', 'url_requester', 'download_target_requester', 'status_extractor', 'download_target_extractor',
  'status_mapping', 'download_decoder', 'download_extractor', 'stream_template', 'components_resolver',
  'components_mapping', 'stream_config', 'stream_configs', 'full_refresh_stream', 'incremental_stream',
  'start_value_option', 'schema_transformations', 'schema_type_identifier', 'schema_filter', 'types_mapping',
  'underlying_partition_router', 'property_list', 'property_chunking', 'file_extractor', 'pagination_reset',
  'dynamic_streams_check_configs', 'stream_parameters', 'config_migrations', 'transformations_list', 'validations', 'condition_type',
])

/** Component types of `spec.config_normalization_rules` sluice runs (config-normalization.ts). */
const CONFIG_RULE_TYPES = new Set(['ConfigNormalizationRules', 'ConfigMigration', 'ConfigAddFields', 'AddedFieldDefinition', 'ConfigRemapField', 'ConfigRemoveFields', 'DpathValidator', 'PredicateValidator', 'ValidateAdheresToSchema'])

/** Refuses a config rule sluice does not run (Custom* ones: Python code), with its path. */
function checkConfigRules(node: unknown, path: string): void {
  if (Array.isArray(node)) node.forEach((x, i) => checkConfigRules(x, `${path}[${i}]`))
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return
  const obj = node as ManifestNode
  if (typeof obj.type === 'string' && !CONFIG_RULE_TYPES.has(obj.type)) throw unsupported(path, `${obj.type}${typeof obj.class_name === 'string' ? ` (${obj.class_name})` : ''}`)
  for (const k of ['config_migrations', 'transformations', 'validations', 'fields', 'validation_strategy']) {
    if (obj[k] !== undefined) checkConfigRules(obj[k], childPath(path, k))
  }
}

/**
 * The CDK's checks on a GroupingPartitionRouter: a positive integer group_size, an underlying
 * ListPartitionRouter or SubstreamPartitionRouter, and no request_option on it (a batch cannot
 * fill one request option; the manifest uses the grouped values in templates).
 */
function checkGrouping(obj: ManifestNode, path: string): void {
  if (typeof obj.group_size !== 'number' || !Number.isInteger(obj.group_size) || obj.group_size < 1) throw manifestError(childPath(path, 'group_size'), 'group_size must be an integer greater than 0')
  const under = obj.underlying_partition_router as ManifestNode | undefined
  if (!under || (under.type !== 'ListPartitionRouter' && under.type !== 'SubstreamPartitionRouter')) throw manifestError(childPath(path, 'underlying_partition_router'), 'GroupingPartitionRouter needs a ListPartitionRouter or SubstreamPartitionRouter to group')
  const options = under.type === 'ListPartitionRouter' ? [under.request_option] : ((Array.isArray(under.parent_stream_configs) ? under.parent_stream_configs : []) as ManifestNode[]).map((c) => c.request_option)
  if (options.some((o) => o !== undefined && o !== null)) throw manifestError(childPath(path, 'underlying_partition_router'), 'request options are not supported under a GroupingPartitionRouter (the CDK refuses them too); use the grouped values in a template')
}

/** A QueryProperties value of request_parameters is a component: at most one, checked like the others. */
function checkQueryProperties(params: unknown, path: string, visit: (node: unknown, path: string, parentType: string | undefined) => void): void {
  if (params === null || typeof params !== 'object' || Array.isArray(params)) return
  const found = Object.entries(params as ManifestNode).filter(([, v]) => v !== null && typeof v === 'object' && (v as ManifestNode).type === 'QueryProperties')
  if (found.length > 1) throw manifestError(path, 'request_parameters may hold only one QueryProperties (the CDK refuses more)')
  for (const [k, v] of found) {
    const qp = v as ManifestNode
    const where = childPath(path, k)
    const list = qp.property_list
    if (!Array.isArray(list) && !(list && typeof list === 'object' && (list as ManifestNode).type === 'PropertiesFromEndpoint')) throw manifestError(childPath(where, 'property_list'), 'property_list must be a list of names or a PropertiesFromEndpoint')
    const chunking = qp.property_chunking as ManifestNode | undefined
    if (chunking && chunking.property_limit_type !== 'characters' && chunking.property_limit_type !== 'property_count') throw manifestError(childPath(where, 'property_chunking.property_limit_type'), 'property_limit_type must be characters or property_count')
    visit(qp, where, 'HttpRequester')
  }
}

function unsupported(path: string, what: string): SluiceError {
  return new SluiceError('SLUICE_ERR_UNSUPPORTED', `Unsupported manifest component ${what} at ${path}; see docs/declarative.md for what sluice runs`, { failureType: 'config_error' })
}

function hasRouter(pr: unknown): boolean {
  return Array.isArray(pr) ? pr.length > 0 : !!pr
}

function childPath(path: string, key: string): string {
  return path ? `${path}.${key}` : key
}

/** A problem found at definition time that fails only if the run reaches it. */
export interface ManifestWarning {
  path: string
  message: string
}

/**
 * Checks a resolved manifest before any sync: every component type is supported, rare unsupported
 * features are rejected with their path (e.g. `streams[2].retriever.paginator.pagination_strategy`)
 * and required parts exist. A template that does not compile is a warning, not an error: the CDK
 * compiles templates lazily, so one in a branch the config never selects never fails; sluice fails
 * when such a template is evaluated. Returns the warnings.
 */
export function validateManifest(m: ManifestNode): ManifestWarning[] {
  const warnings: ManifestWarning[] = []
  const hasDynamic = Array.isArray(m.dynamic_streams) && m.dynamic_streams.length > 0
  if ((!Array.isArray(m.streams) || m.streams.length === 0) && !hasDynamic) {
    throw manifestError('streams', 'a manifest needs a non-empty streams list (or dynamic_streams)')
  }
  const visit = (node: unknown, path: string, parentType: string | undefined): void => {
    if (Array.isArray(node)) {
      node.forEach((x, i) => visit(x, `${path}[${i}]`, parentType))
      return
    }
    if (typeof node === 'string') {
      if (isTemplate(node)) {
        try {
          checkTemplate(node)
        } catch (e) {
          warnings.push({ path, message: `template does not compile (fails when evaluated): ${(e as Error).message.replace(/\s+/g, ' ').slice(0, 200)}` })
        }
      }
      return
    }
    if (node === null || typeof node !== 'object') return
    const obj = node as ManifestNode
    const type = typeof obj.type === 'string' ? obj.type : undefined
    if (type && !SUPPORTED_COMPONENTS.has(type)) {
      const name = type === 'CustomComponent' || type.startsWith('Custom') ? `${type} (${String(obj.class_name ?? 'custom Python code')})` : type
      throw unsupported(path, name)
    }
    if (type === 'DatetimeBasedCursor' && obj.start_datetime === undefined) {
      throw manifestError(path, 'DatetimeBasedCursor needs start_datetime')
    }
    if (type === 'DeclarativeStream' && (obj.incremental_sync as ManifestNode | undefined)?.type === 'IncrementingCountCursor' && hasRouter((obj.retriever as ManifestNode | undefined)?.partition_router)) {
      throw manifestError(path, 'IncrementingCountCursor cannot be combined with a partition router (the CDK refuses it too)')
    }
    if (type === 'AsyncRetriever') {
      const missing = ['creation_requester', 'polling_requester', 'download_requester', 'status_extractor', 'status_mapping'].filter((k) => !obj[k])
      if (missing.length) throw manifestError(path, `AsyncRetriever needs ${missing.join(', ')}`)
    }
    if (type === 'FlattenFields' && obj.flatten_lists !== undefined && typeof obj.flatten_lists !== 'boolean') throw manifestError(childPath(path, 'flatten_lists'), 'flatten_lists must be true or false')
    if (type === 'DynamicSchemaLoader') {
      const sti = obj.schema_type_identifier as ManifestNode | undefined
      if (!obj.retriever || !sti || !Array.isArray(sti.key_pointer) || sti.key_pointer.length === 0) throw manifestError(path, 'DynamicSchemaLoader needs a retriever and schema_type_identifier.key_pointer')
    }
    if (type === 'GroupingPartitionRouter') checkGrouping(obj, path)
    if (type === 'SimpleRetriever' && !obj.requester) throw manifestError(path, 'SimpleRetriever needs a requester')
    // A stream template usually gets its name from the components mapping.
    if (type === 'DeclarativeStream' && !path.endsWith('.stream_template') && (typeof obj.name !== 'string' || obj.name === '')) throw manifestError(path, 'a stream needs a name')
    if (type === 'StateDelegatingStream' && (!obj.full_refresh_stream || !obj.incremental_stream)) throw manifestError(path, 'StateDelegatingStream needs full_refresh_stream and incremental_stream')
    for (const [k, v] of Object.entries(obj)) {
      if (DATA_FIELDS.has(k)) {
        // Data fields are not components, but their templates are still checked.
        if (k.startsWith('request_') || k.startsWith('refresh_')) visitTemplates(v, childPath(path, k))
        if (k === 'request_parameters') checkQueryProperties(v, childPath(path, k), visit)
        continue
      }
      const flag = type ? UNSUPPORTED_FIELDS[`${type}.${k}`] : undefined
      if (flag && v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0)) throw unsupported(childPath(path, k), flag)
      // A key the component models do not declare is ignored by the CDK: not validated as components.
      if (type && !COMPONENT_FIELDS.has(k) && v !== null && typeof v === 'object') {
        visitTemplates(v, childPath(path, k))
        continue
      }
      visit(v, childPath(path, k), type)
    }
  }
  const visitTemplates = (node: unknown, path: string): void => {
    if (typeof node === 'string') visit(node, path, undefined)
    else if (Array.isArray(node)) node.forEach((x, i) => visitTemplates(x, `${path}[${i}]`))
    else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) visitTemplates(v, childPath(path, k))
  }
  for (const key of ['streams', 'dynamic_streams', 'check', 'concurrency_level', 'api_budget']) {
    if (m[key] !== undefined) visit(m[key], key, 'DeclarativeSource')
  }
  const spec = m.spec as ManifestNode | undefined
  if (spec?.config_normalization_rules !== undefined) checkConfigRules(spec.config_normalization_rules, 'spec.config_normalization_rules')
  return warnings
}
