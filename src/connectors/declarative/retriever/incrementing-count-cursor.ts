import { configError } from '../../../errors.js'
import { evaluate, type TemplateContext } from '../interpolation/interpolator.js'
import { pyStr } from '../interpolation/py-values.js'
import type { ManifestNode } from '../manifest-loader.js'
import { injectOption, type RequestParts } from '../http/request-parts.js'
import type { Row } from './record-selector.js'

/**
 * IncrementingCountCursor: incremental reads over an integer field the API returns in ascending
 * order. One slice per sync, starting at the larger of `start_value` (default 0) and the saved
 * state; `start_value_option` sends that start. The state is `{cursor_field: highest value seen}`
 * (the start when no record had one). No date windows, no partition router (the CDK refuses one).
 */
export class IncrementingCountCursor {
  readonly cursorField: string
  readonly #node: ManifestNode
  readonly #start: number

  constructor(node: ManifestNode, base: TemplateContext) {
    this.#node = node
    this.cursorField = pyStr(evaluate(node.cursor_field, base, { literal: false }))
    if (!this.cursorField) throw configError('IncrementingCountCursor needs a cursor_field')
    const raw = node.start_value === undefined || node.start_value === null ? 0 : evaluate(node.start_value, base)
    const start = this.parse(raw)
    if (start === undefined) throw configError(`IncrementingCountCursor start_value ${JSON.stringify(pyStr(raw))} is not an integer`)
    this.#start = start
  }

  /** An integer cursor value (a number or a numeric string), else undefined. */
  parse(value: unknown): number | undefined {
    if (value === undefined || value === null || value === '' || typeof value === 'boolean') return undefined
    const n = Number(value)
    return Number.isFinite(n) ? n : undefined
  }

  /** Where reading starts: the saved value when it is at least start_value, else start_value. */
  startFrom(stateValue: unknown): number {
    const saved = this.parse(stateValue)
    return saved !== undefined && saved >= this.#start ? saved : this.#start
  }

  /** The record's cursor value as a number (undefined when missing or not numeric). */
  recordValue(record: Row): number | undefined {
    return this.parse(record[this.cursorField])
  }

  inject(parts: RequestParts, start: number, ctx: TemplateContext): void {
    const option = this.#node.start_value_option as ManifestNode | undefined
    if (option && option.inject_into) injectOption(parts, option, start, ctx, 'start_value_option')
  }
}
