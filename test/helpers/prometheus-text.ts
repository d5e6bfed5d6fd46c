/**
 * A reader of the Prometheus text exposition format (0.0.4) for assertions. The npm parsers
 * tried lose histogram label sets, so this reads sample lines itself: `name{l="v",...} value`.
 */
export interface PromSample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface PromText {
  samples: PromSample[]
  /** `# TYPE` of each metric family. */
  types: Map<string, string>
  /** The one sample with this name whose labels include `labels`; throws when none or several match. */
  value(name: string, labels?: Record<string, string>): number
  /** Every sample with this name whose labels include `labels`. */
  all(name: string, labels?: Record<string, string>): PromSample[]
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g

/** Parses an exposition; throws on a line that is neither a comment nor a sample. */
export function parsePromText(text: string): PromText {
  const samples: PromSample[] = []
  const types = new Map<string, string>()
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    if (line.startsWith('#')) {
      const type = /^# TYPE (\S+) (\S+)$/.exec(line)
      if (type) types.set(type[1]!, type[2]!)
      continue
    }
    const m = SAMPLE.exec(line)
    if (!m) throw new Error(`Not a Prometheus sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\')
    samples.push({ name: m[1]!, labels, value: Number(m[3]) })
  }
  const all = (name: string, labels: Record<string, string> = {}): PromSample[] =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  return {
    samples,
    types,
    all,
    value(name, labels = {}) {
      const found = all(name, labels)
      if (found.length !== 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`)
      return found[0]!.value
    },
  }
}
