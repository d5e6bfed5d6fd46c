import { configError } from '../../../errors.js'
import { evaluate, type TemplateContext } from '../interpolation/interpolator.js'
import { parseIsoDateTime, parseIsoDuration, PyDateTime, type PyDuration, strptime } from '../interpolation/py-datetime.js'
import { pyStr } from '../interpolation/py-values.js'
import type { ManifestNode } from '../manifest-loader.js'
import { injectOption, type RequestParts } from '../http/request-parts.js'
import type { Row } from './record-selector.js'

/** One date window of a stream slice. */
export interface Window {
  lo: PyDateTime
  hi: PyDateTime
}

/**
 * DatetimeBasedCursor (CDK 7 concurrent cursor with sequential state): windows of `step` from
 * the state (minus lookback) or start_datetime up to end_datetime; the state is the newest
 * record cursor seen, formatted with datetime_format, emitted after each window.
 */
export class DatetimeCursor {
  readonly cursorField: string
  readonly datetimeFormat: string
  readonly #formats: string[]
  readonly #node: ManifestNode
  readonly #base: TemplateContext
  readonly #step: PyDuration | undefined
  readonly #granularity: PyDuration | undefined
  readonly #lookback: PyDuration | undefined
  readonly startField: string
  readonly endField: string
  readonly clientSideFilter: boolean
  readonly isDataFeed: boolean

  constructor(node: ManifestNode, base: TemplateContext) {
    this.#node = node
    this.#base = base
    this.cursorField = pyStr(evaluate(node.cursor_field, base, { literal: false }))
    this.datetimeFormat = pyStr(evaluate(node.datetime_format ?? '%Y-%m-%dT%H:%M:%S.%f%z', base, { literal: false }))
    const formats = Array.isArray(node.cursor_datetime_formats) ? node.cursor_datetime_formats.map((f) => pyStr(f)) : []
    this.#formats = formats.length ? formats : [this.datetimeFormat]
    this.#step = this.#duration(node.step, 'step')
    this.#granularity = this.#duration(node.cursor_granularity, 'cursor_granularity')
    this.#lookback = this.#duration(node.lookback_window, 'lookback_window')
    this.startField = pyStr(evaluate(node.partition_field_start ?? 'start_time', base, { literal: false })) || 'start_time'
    this.endField = pyStr(evaluate(node.partition_field_end ?? 'end_time', base, { literal: false })) || 'end_time'
    this.clientSideFilter = node.is_client_side_incremental === true
    this.isDataFeed = node.is_data_feed === true
  }

  #duration(v: unknown, what: string): PyDuration | undefined {
    if (v === undefined || v === null || v === '') return undefined
    const text = pyStr(evaluate(v, this.#base, { literal: false }))
    if (!text) return undefined
    const d = parseIsoDuration(text)
    if (!d) throw configError(`DatetimeBasedCursor ${what} ${JSON.stringify(text)} is not an ISO-8601 duration`)
    return d
  }

  /** Parses a record or state cursor value with cursor_datetime_formats (then ISO-8601). */
  parse(value: unknown): PyDateTime | undefined {
    if (value === undefined || value === null || value === '') return undefined
    if (value instanceof PyDateTime) return value
    const s = pyStr(value)
    for (const f of this.#formats) {
      const dt = strptime(s, f)
      if (dt) return dt
    }
    return strptime(s, this.datetimeFormat) ?? parseIsoDateTime(s)
  }

  format(dt: PyDateTime): string {
    return dt.strftime(this.datetimeFormat)
  }

  #minMax(v: unknown, dflt: () => PyDateTime, what: string): PyDateTime {
    if (v === undefined || v === null) return dflt()
    const node = typeof v === 'object' ? (v as ManifestNode) : { datetime: v }
    const text = pyStr(evaluate(node.datetime, this.#base) ?? '')
    if (!text) return dflt()
    const fmt = node.datetime_format ? pyStr(evaluate(node.datetime_format, this.#base, { literal: false })) : undefined
    let dt = (fmt ? strptime(text, fmt) : undefined) ?? this.parse(text)
    if (!dt) throw configError(`DatetimeBasedCursor ${what} ${JSON.stringify(text)} does not match ${fmt ?? this.datetimeFormat}`)
    const min = node.min_datetime ? this.parse(evaluate(node.min_datetime, this.#base)) : undefined
    const max = node.max_datetime ? this.parse(evaluate(node.max_datetime, this.#base)) : undefined
    if (min && dt.us < min.us) dt = min
    if (max && dt.us > max.us) dt = max
    return dt
  }

  startDatetime(): PyDateTime {
    return this.#minMax(this.#node.start_datetime, () => {
      throw configError('DatetimeBasedCursor needs a start_datetime')
    }, 'start_datetime')
  }

  endDatetime(): PyDateTime {
    return this.#minMax(this.#node.end_datetime, () => PyDateTime.now(), 'end_datetime')
  }

  /** Where reading starts given the stored cursor value (never before start_datetime). */
  startFrom(stateValue: unknown): PyDateTime {
    const start = this.startDatetime()
    const fromState = this.parse(stateValue)
    if (!fromState) return start
    const resumed = this.#lookback ? fromState.add(this.#lookback.negate()) : fromState
    return resumed.us > start.us ? resumed : start
  }

  /** The windows from `start` to end_datetime. */
  *windows(start: PyDateTime): Generator<Window> {
    const end = this.endDatetime()
    if (start.us > end.us) return
    if (!this.#step) {
      yield { lo: start, hi: end }
      return
    }
    let lo = start
    for (let guard = 0; guard < 1_000_000; guard++) {
      const next = lo.add(this.#step)
      if (next.us <= lo.us) throw configError('DatetimeBasedCursor step must be positive')
      if (next.us >= end.us) {
        yield { lo, hi: end }
        return
      }
      const hi = this.#granularity ? next.add(this.#granularity.negate()) : next
      yield { lo, hi }
      lo = next
    }
  }

  /** The slice keys a window adds (`stream_interval.start_time`...). */
  sliceValues(w: Window): Row {
    return { [this.startField]: this.format(w.lo), [this.endField]: this.format(w.hi) }
  }

  inject(parts: RequestParts, w: Window, ctx: TemplateContext): void {
    const s = this.#node.start_time_option as ManifestNode | undefined
    const e = this.#node.end_time_option as ManifestNode | undefined
    if (s && s.inject_into) injectOption(parts, s, this.format(w.lo), ctx, 'start_time_option')
    if (e && e.inject_into) injectOption(parts, e, this.format(w.hi), ctx, 'end_time_option')
  }

  /** The record's cursor value, parsed (undefined when missing or unparsable). */
  recordCursor(record: Row): PyDateTime | undefined {
    return this.parse(record[this.cursorField])
  }
}
