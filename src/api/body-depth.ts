/**
 * How deep a request body may nest. Real configurations, catalogs and manifests stay far below
 * it; everything that walks a body (secrets, enums, validation) can then recurse safely.
 */
export const MAX_BODY_DEPTH = 64

/**
 * The path (`a.b.0.c`) of the first value nested deeper than `maxDepth` objects or arrays, or
 * undefined. Iterative, so a hostile body cannot overflow the stack here either.
 */
export function pathBeyondDepth(value: unknown, maxDepth: number): string | undefined {
  const stack: Array<{ value: unknown; path: string[] }> = [{ value, path: [] }]
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!
    if (typeof current !== 'object' || current === null) continue
    if (path.length >= maxDepth) return path.join('.')
    for (const [key, child] of Object.entries(current)) stack.push({ value: child, path: [...path, key] })
  }
  return undefined
}
