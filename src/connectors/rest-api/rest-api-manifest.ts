import { configError } from '../../errors.js'
import type { ManifestNode } from '../declarative/index.js'
import type { RestApiConfig, RestApiPagination } from './rest-api-spec.js'

/** Config key the source fills with the last cursor value before building requests. */
export const CURSOR_VALUE_KEY = '__sluice_cursor_value'

/** Splits a dotted path or JSONPath (`$.data.items`, `$.data[*].x`, `data.0.items`) into keys. */
export function parseRecordsPath(path: string | undefined): string[] | undefined {
  if (path === undefined) return undefined
  const p = path.trim()
  if (p === '' ) return undefined
  if (p === '$') return []
  if (p.includes('..')) throw configError(`records_path ${JSON.stringify(path)}: recursive descent (..) is not supported`)
  const body = p.replace(/^\$\.?/, '')
  const keys: string[] = []
  for (const m of body.matchAll(/([^.[\]]+)|\[(\*|\d+|'[^']*'|"[^"]*")\]/g)) {
    const k = m[1] ?? (m[2] as string)
    keys.push(k.replace(/^['"]|['"]$/g, ''))
  }
  return keys
}

/** A template reading a dotted path from `root` (`response`), quoting each key. */
function pathTemplate(root: string, dotted: string): string {
  const keys = dotted.split('.').filter((k) => k !== '')
  return `{{ ${root}${keys.map((k) => `[${JSON.stringify(k)}]`).join('')} }}`
}

function paginator(p: RestApiPagination | undefined): ManifestNode {
  const param = (name: string): ManifestNode => ({ type: 'RequestOption', inject_into: 'request_parameter', field_name: name })
  switch (p?.type ?? 'none') {
    case 'none':
      return { type: 'NoPagination' }
    case 'page': {
      const strategy: ManifestNode = { type: 'PageIncrement', start_from_page: p?.start_page ?? 1, inject_on_first_request: true }
      const out: ManifestNode = { type: 'DefaultPaginator', pagination_strategy: strategy, page_token_option: param(p?.page_param ?? 'page') }
      if (p?.page_size) {
        strategy.page_size = p.page_size
        out.page_size_option = param(p.page_size_param ?? 'per_page')
      }
      return out
    }
    case 'offset':
      return {
        type: 'DefaultPaginator',
        pagination_strategy: { type: 'OffsetIncrement', page_size: p?.page_size ?? 100, inject_on_first_request: true },
        page_token_option: param(p?.offset_param ?? 'offset'),
        page_size_option: param(p?.limit_param ?? 'limit'),
      }
    case 'cursor':
      return {
        type: 'DefaultPaginator',
        pagination_strategy: { type: 'CursorPagination', cursor_value: pathTemplate('response', p?.cursor_path ?? 'next_cursor') },
        page_token_option: param(p?.cursor_param ?? 'cursor'),
      }
    case 'link_header':
      return {
        type: 'DefaultPaginator',
        pagination_strategy: { type: 'CursorPagination', cursor_value: "{{ headers['link']['next']['url'] }}" },
        page_token_option: { type: 'RequestPath' },
      }
    case 'next_url':
      return {
        type: 'DefaultPaginator',
        pagination_strategy: { type: 'CursorPagination', cursor_value: pathTemplate('response', p?.next_url_path ?? 'next') },
        page_token_option: { type: 'RequestPath' },
      }
    default:
      throw configError(`unknown pagination type ${JSON.stringify(p?.type)}`)
  }
}

function authenticator(c: RestApiConfig): ManifestNode {
  if (!c.api_key) return { type: 'NoAuth' }
  const token = "{{ config['api_key'] }}"
  switch (c.api_key_location ?? 'bearer') {
    case 'bearer':
      return { type: 'BearerAuthenticator', api_token: token }
    case 'header':
      return { type: 'ApiKeyAuthenticator', api_token: token, inject_into: { type: 'RequestOption', inject_into: 'header', field_name: c.api_key_name || 'X-API-Key' } }
    case 'query':
      return { type: 'ApiKeyAuthenticator', api_token: token, inject_into: { type: 'RequestOption', inject_into: 'request_parameter', field_name: c.api_key_name || 'api_key' } }
    default:
      throw configError(`unknown api_key_location ${JSON.stringify(c.api_key_location)}`)
  }
}

/** The stream name: configured, or the URL's last path segment. */
export function restStreamName(c: RestApiConfig): string {
  if (c.stream_name) return c.stream_name
  try {
    const seg = new URL(c.url).pathname.split('/').filter((s) => s !== '').pop()
    return seg ? seg.replace(/\.[a-z]+$/i, '').replace(/[^A-Za-z0-9_]+/g, '_') || 'records' : 'records'
  } catch {
    return 'records'
  }
}

/**
 * Builds a declarative manifest from the simple form. Secrets stay in the config and are read
 * through templates, so the manifest holds none. Requester params and headers are the user's
 * literals (they may use `{{ config[...] }}`, evaluated in the sandbox).
 */
export function buildRestApiManifest(c: RestApiConfig): ManifestNode {
  let url: URL
  try {
    url = new URL(c.url)
  } catch {
    throw configError(`url ${JSON.stringify(c.url)} is not a valid URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw configError('url must be http or https')
  const requester: ManifestNode = {
    type: 'HttpRequester',
    // Split so that a root-relative next URL (`/items?page=2`) resolves against the host.
    url_base: `${url.protocol}//${url.host}`,
    path: `${url.pathname}${url.search}`,
    http_method: (c.method ?? 'GET').toUpperCase(),
    authenticator: authenticator(c),
    request_headers: { ...(c.headers ?? {}) },
    request_parameters: { ...(c.params ?? {}) },
  }
  if (c.cursor_field && c.cursor_param) (requester.request_parameters as Record<string, unknown>)[c.cursor_param] = `{{ config['${CURSOR_VALUE_KEY}'] }}`
  if (c.body !== undefined) {
    if (typeof c.body === 'string') requester.request_body_data = c.body
    else requester.request_body_json = c.body
  }
  const path = parseRecordsPath(c.records_path)
  const extractor: ManifestNode = path === undefined ? { type: 'SluiceAutoExtractor' } : { type: 'DpathExtractor', field_path: path }
  const name = restStreamName(c)
  return {
    version: '6.0.0',
    type: 'DeclarativeSource',
    check: { type: 'CheckStream', stream_names: [name] },
    streams: [
      {
        type: 'DeclarativeStream',
        name,
        primary_key: [],
        retriever: {
          type: 'SimpleRetriever',
          requester,
          record_selector: { type: 'RecordSelector', extractor },
          paginator: paginator(c.pagination),
        },
        schema_loader: { type: 'InlineSchemaLoader', schema: { type: 'object', properties: {} } },
      },
    ],
    spec: { type: 'Spec', connection_specification: { type: 'object', properties: {} } },
  }
}
