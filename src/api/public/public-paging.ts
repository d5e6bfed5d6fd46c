import type { FastifyRequest } from 'fastify'
import { intQuery } from './public-query.js'

/** limit/offset of a list call (Airbyte: limit 1..100, default 20). */
export interface PageRequest {
  limit: number
  offset: number
}

/** The limit and offset query parameters. */
export function pageRequest(query: Record<string, unknown>): PageRequest {
  return { limit: intQuery(query, 'limit', { min: 1, max: 100, default: 20 }), offset: intQuery(query, 'offset', { min: 0, default: 0 }) }
}

/** Airbyte's list envelope. */
export interface PageResponse<T> {
  data: T[]
  next?: string
  previous?: string
}

/** The URL of the same call with another offset: clients follow `next` by its query string. */
function linkTo(request: FastifyRequest, offset: number, limit: number): string {
  const url = new URL(request.url, `${request.protocol}://${request.host}`)
  url.searchParams.set('limit', String(limit))
  url.searchParams.set('offset', String(offset))
  return url.toString()
}

/**
 * Builds `{data, next, previous}` for one page. `total` is the number of items over all pages;
 * `next` is absent on the last page (clients stop on its absence).
 */
export function pageResponse<T>(request: FastifyRequest, page: PageRequest, data: T[], total: number): PageResponse<T> {
  const out: PageResponse<T> = { data }
  if (page.offset + page.limit < total) out.next = linkTo(request, page.offset + page.limit, page.limit)
  if (page.offset > 0) out.previous = linkTo(request, Math.max(0, page.offset - page.limit), page.limit)
  return out
}

/** One page of an in-memory list. */
export function pageOf<T>(request: FastifyRequest, page: PageRequest, all: readonly T[]): PageResponse<T> {
  return pageResponse(request, page, all.slice(page.offset, page.offset + page.limit), all.length)
}
