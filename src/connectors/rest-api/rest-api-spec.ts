import type { ConnectorSpecification } from '../../protocol/index.js'

/** Pagination styles of the simple form. */
export const PAGINATION_TYPES = ['none', 'page', 'offset', 'cursor', 'link_header', 'next_url'] as const
export type PaginationType = (typeof PAGINATION_TYPES)[number]

/** Where the API key goes: `Authorization: Bearer`, a named header, or a query parameter. */
export const API_KEY_LOCATIONS = ['bearer', 'header', 'query'] as const
export type ApiKeyLocation = (typeof API_KEY_LOCATIONS)[number]

/** Pagination of the simple REST API form. */
export interface RestApiPagination {
  type: PaginationType
  /** page: query parameter of the page number (default `page`). */
  page_param?: string
  /** page: first page number (default 1). */
  start_page?: number
  /** page/offset: records per page; a shorter page ends the stream. */
  page_size?: number
  /** page: query parameter carrying page_size (sent only when page_size is set). */
  page_size_param?: string
  /** offset: query parameters (defaults `offset` and `limit`). */
  offset_param?: string
  limit_param?: string
  /** cursor: dotted path of the next cursor in the body (default `next_cursor`) and the query param that sends it (default `cursor`). */
  cursor_path?: string
  cursor_param?: string
  /** next_url: dotted path of the next page URL in the body (default `next`). */
  next_url_path?: string
}

/** Configuration of the "REST API" source. Only `url` is required. */
export interface RestApiConfig {
  url: string
  method?: 'GET' | 'POST'
  api_key?: string
  /** How api_key is sent: `Authorization: Bearer` (default), a named header, or a query parameter. */
  api_key_location?: ApiKeyLocation
  /** Header or query parameter name for api_key (defaults `X-API-Key` / `api_key`). */
  api_key_name?: string
  headers?: Record<string, string>
  params?: Record<string, string | number | boolean>
  /** JSON body (object) or raw text body (string), usually with POST. */
  body?: Record<string, unknown> | string
  /** Dotted path or JSONPath (`$.data.items`) to the records; auto-detected when omitted. */
  records_path?: string
  pagination?: RestApiPagination
  /** Record field for incremental syncs; the stream then offers incremental mode. */
  cursor_field?: string
  /** Query parameter that sends the last cursor value on incremental syncs (e.g. `since`). */
  cursor_param?: string
  /** Stream name (default: the last path segment of the URL). */
  stream_name?: string
  /** Requests per second towards this API (default unlimited). */
  requests_per_second?: number
}

/** The connector spec (JSON Schema of RestApiConfig). */
export const restApiSpec: ConnectorSpecification = {
  documentationUrl: 'https://github.com/sluice-etl/sluice/blob/main/docs/connectors/rest-api.md',
  supportsIncremental: true,
  connectionSpecification: {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'REST API Source Spec',
    type: 'object',
    required: ['url'],
    additionalProperties: true,
    properties: {
      url: { type: 'string', title: 'URL', description: 'Endpoint that returns the records (http or https).', pattern: '^https?://', order: 0 },
      method: { type: 'string', title: 'HTTP method', enum: ['GET', 'POST'], default: 'GET', order: 1 },
      api_key: { type: 'string', title: 'API key', airbyte_secret: true, order: 2 },
      api_key_location: { type: 'string', title: 'Send the API key as', enum: [...API_KEY_LOCATIONS], default: 'bearer', description: 'bearer: Authorization: Bearer <key>; header: a named header; query: a query parameter.', order: 3 },
      api_key_name: { type: 'string', title: 'Header or query parameter name for the API key', order: 4 },
      headers: { type: 'object', title: 'Extra headers', additionalProperties: { type: 'string' }, order: 5 },
      params: { type: 'object', title: 'Query parameters', additionalProperties: { type: ['string', 'number', 'boolean'] }, order: 6 },
      body: { type: ['object', 'string'], title: 'Request body (JSON object or text)', order: 7 },
      records_path: { type: 'string', title: 'Path to the records', description: 'Dotted path or JSONPath such as $.data.items; empty = auto-detect (a top-level array, or the first array field).', order: 8 },
      pagination: {
        type: 'object',
        title: 'Pagination',
        required: ['type'],
        order: 9,
        properties: {
          type: { type: 'string', enum: [...PAGINATION_TYPES], default: 'none' },
          page_param: { type: 'string' },
          start_page: { type: 'integer' },
          page_size: { type: 'integer', minimum: 1 },
          page_size_param: { type: 'string' },
          offset_param: { type: 'string' },
          limit_param: { type: 'string' },
          cursor_path: { type: 'string' },
          cursor_param: { type: 'string' },
          next_url_path: { type: 'string' },
        },
      },
      cursor_field: { type: 'string', title: 'Incremental cursor field', order: 10 },
      cursor_param: { type: 'string', title: 'Query parameter for the last cursor value', order: 11 },
      stream_name: { type: 'string', title: 'Stream name', order: 12 },
      requests_per_second: { type: 'number', exclusiveMinimum: 0, title: 'Requests per second', order: 13 },
    },
  },
}
