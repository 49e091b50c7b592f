import type { Storage } from '../ports/storage'
import type { LogState, SegmentState } from './log-state'
import { readStoredEntries } from './read-stored'

/** A staged append not yet written: its entries share one (clamped) timestamp. */
export interface UnwrittenRange {
  fromIndex: number
  toIndex: number
  timestampMs: number
}

/** The first i in [0, count) for which the monotonic predicate `atOrAfter(i)` holds (count if none). */
function lowerBound(count: number, atOrAfter: (i: number) => boolean): number {
  let lo = 0
  let hi = count
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (atOrAfter(mid)) hi = mid
    else lo = mid + 1
  }
  return lo
}

/**
 * Seeks by time. Append timestamps never decrease along the log (staging clamps them), so:
 * the segment table narrows to the first segment whose newest entry is at or after the
 * target, its sparse points narrow to one interval, and one bounded read of that interval
 * finds the entry. Unwritten entries are answered from their staged timestamp.
 */
export async function findFirstIndexAtOrAfter(
  storage: Storage,
  state: LogState,
  unwritten: readonly UnwrittenRange[],
  timestampMs: number,
): Promise<number | undefined> {
  const segments = state.segments
  let pinnedFrom = Number.POSITIVE_INFINITY
  for (const range of unwritten) pinnedFrom = Math.min(pinnedFrom, range.fromIndex)
  // A segment's lastTimestampMs may be stale-high after a truncation cut its newest entries; every
  // later entry is at or after it though (clamping), so a miss in one segment means the next
  // segment's first entry.
  for (let at = lowerBound(segments.length, (i) => segments[i]!.lastTimestampMs >= timestampMs); ; at++) {
    const segment: SegmentState | undefined = segments[at]
    if (segment === undefined) return undefined
    if (segment.firstTimestampMs >= timestampMs) return segment.baseIndex
    const found = await findInSegment(storage, state, segment, unwritten, pinnedFrom, timestampMs)
    if (found !== undefined) return found
  }
}

async function findInSegment(
  storage: Storage,
  state: LogState,
  segment: SegmentState,
  unwritten: readonly UnwrittenRange[],
  pinnedFrom: number,
  timestampMs: number,
): Promise<number | undefined> {
  const points = segment.pointTimestampsMs
  // The first point at or after the target; the answer lies after the point before it.
  const next = lowerBound(points.length, (i) => points[i]! >= timestampMs)
  const scanFrom = next === 0 ? segment.baseIndex : segment.pointIndexes[next - 1]! + 1
  const scanTo = next < points.length ? segment.pointIndexes[next]! : segment.lastIndex
  const storedTo = Math.min(scanTo + 1, pinnedFrom)
  if (scanFrom < storedTo) {
    const timestampsMs: number[] = []
    const stored = await readStoredEntries(
      storage,
      state,
      scanFrom,
      storedTo,
      Number.POSITIVE_INFINITY,
      timestampsMs,
    )
    for (let i = 0; i < stored.length; i++) if (timestampsMs[i]! >= timestampMs) return stored[i]!.index
  }
  const ranges = [...unwritten].sort((a, b) => a.fromIndex - b.fromIndex)
  for (const range of ranges) {
    const from = Math.max(range.fromIndex, scanFrom, storedTo)
    if (from <= Math.min(range.toIndex, scanTo) && range.timestampMs >= timestampMs) return from
  }
  return undefined
}
