// Binary searches over ascending number arrays, shared by the broker's indexes and queues.

/** First position in ascending `values` whose value is >= target (values.length if none). */
export function lowerBound(values: readonly number[], target: number): number {
  let lo = 0
  let hi = values.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (values[mid]! < target) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** First position in ascending `values` whose value is > target (values.length if none). */
export function upperBound(values: readonly number[], target: number): number {
  let lo = 0
  let hi = values.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (values[mid]! <= target) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** The item with `offset` in `items` ascending by offset, or undefined. */
export function findByOffset<T extends { offset: number }>(
  items: readonly T[],
  offset: number,
): T | undefined {
  let lo = 0
  let hi = items.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (items[mid]!.offset < offset) lo = mid + 1
    else hi = mid
  }
  return items[lo]?.offset === offset ? items[lo] : undefined
}
