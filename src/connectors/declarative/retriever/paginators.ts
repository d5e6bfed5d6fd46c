import { evaluate, evaluateCondition, type TemplateContext } from '../interpolation/interpolator.js'
import { pyStr, pyTruthy } from '../interpolation/py-values.js'
import type { ManifestNode } from '../manifest-loader.js'
import { injectOption, type RequestParts } from '../http/request-parts.js'

/** What a paginator sees after each page. */
export interface PageInfo {
  /** First decoded body (the CDK hands only the first element of a top-level array). */
  response: unknown
  headers: Record<string, unknown>
  /** Records extracted from the page, before filtering. */
  rawCount: number
  lastRecord: unknown
  ctx: TemplateContext
}

/** A paginator's walk over one partition. `undefined` token = no token. */
export interface Paginator {
  /** Token for the first request (a fresh walk). */
  initialToken(ctx: TemplateContext): unknown
  /** Token for the next request, or `null` to stop. */
  nextToken(page: PageInfo, current: unknown): unknown
  /** Puts the token and page size into the request. */
  inject(parts: RequestParts, token: unknown, ctx: TemplateContext): void
}

/** NoPagination: one request per partition. */
export const noPagination: Paginator = {
  initialToken: () => undefined,
  nextToken: () => null,
  inject: () => undefined,
}

interface Strategy {
  initial(ctx: TemplateContext): unknown
  next(page: PageInfo, current: unknown): unknown
  pageSize(ctx: TemplateContext): number | undefined
}

function toInt(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined
  const n = Number(v)
  return Number.isFinite(n) ? n : undefined
}

function cursorStrategy(n: ManifestNode): Strategy {
  return {
    initial: () => undefined,
    pageSize: (ctx) => toInt(evaluate(n.page_size, ctx)),
    next: (page) => {
      const c: TemplateContext = {
        ...page.ctx,
        response: page.response,
        headers: page.headers,
        last_record: page.lastRecord,
        last_page_size: page.rawCount,
      }
      // stop_condition is evaluated before cursor_value.
      if (n.stop_condition !== undefined && n.stop_condition !== '' && evaluateCondition(n.stop_condition, c)) return null
      const v = evaluate(n.cursor_value, c)
      // The CDK returns `token if token else None`: {}, [], '', 0 and None all end pagination.
      return pyTruthy(v) ? v : null
    },
  }
}

function pageIncrement(n: ManifestNode): Strategy {
  const inject = n.inject_on_first_request === true || n.inject_on_first_request === 'true'
  const start = (ctx: TemplateContext): number => toInt(evaluate(n.start_from_page ?? 0, ctx)) ?? 0
  return {
    initial: (ctx) => (inject ? start(ctx) : undefined),
    pageSize: (ctx) => toInt(evaluate(n.page_size, ctx)),
    next(page, current) {
      const size = this.pageSize(page.ctx)
      if (page.rawCount === 0 || (size !== undefined && page.rawCount < size)) return null
      const cur = current === undefined || current === null ? start(page.ctx) : Number(current)
      return cur + 1
    },
  }
}

function offsetIncrement(n: ManifestNode): Strategy {
  const inject = n.inject_on_first_request === true || n.inject_on_first_request === 'true'
  return {
    initial: () => (inject ? 0 : undefined),
    pageSize: (ctx) => toInt(evaluate(n.page_size, ctx)),
    next(page, current) {
      const size = toInt(evaluate(n.page_size, { ...page.ctx, response: page.response, headers: page.headers }))
      if (page.rawCount === 0 || (size !== undefined && page.rawCount < size)) return null
      return (current === undefined || current === null ? 0 : Number(current)) + page.rawCount
    },
  }
}

function createStrategy(n: ManifestNode): Strategy {
  switch (n.type) {
    case 'CursorPagination':
      return cursorStrategy(n)
    case 'PageIncrement':
      return pageIncrement(n)
    case 'OffsetIncrement':
      return offsetIncrement(n)
    default:
      throw new Error(`unsupported pagination strategy ${String(n.type)}`)
  }
}

/** DefaultPaginator: a strategy plus where its token and page size go. */
export function createPaginator(node: ManifestNode | undefined): Paginator {
  if (!node || node.type === 'NoPagination') return noPagination
  const strategy = createStrategy((node.pagination_strategy ?? {}) as ManifestNode)
  const tokenOption = node.page_token_option as ManifestNode | undefined
  const sizeOption = node.page_size_option as ManifestNode | undefined
  return {
    initialToken: (ctx) => strategy.initial(ctx),
    nextToken: (page, current) => strategy.next(page, current),
    inject(parts, token, ctx) {
      if (sizeOption && sizeOption.type !== 'RequestPath') {
        const size = strategy.pageSize(ctx)
        if (size !== undefined) injectOption(parts, sizeOption, size, ctx, 'page_size_option')
      }
      // Without a page_token_option the token is only visible to templates (next_page_token).
      if (token === undefined || token === null || !tokenOption) return
      if (tokenOption.type === 'RequestPath') {
        parts.pathOverride = pyStr(token)
        return
      }
      injectOption(parts, tokenOption, token, ctx, 'page_token_option')
    },
  }
}
