import { LaminarError } from '../errors/laminar-error'
import { type LogState, totalBytesOf } from './log-state'
import type { SegmentRow } from './records'

/**
 * How many of the oldest segments compaction through `throughIndex` drops: those ending at or
 * before both `throughIndex` and the snapshot index, since entries the snapshot does not cover
 * are still needed to catch followers up.
 */
export function segmentsToCompact(state: LogState, throughIndex: number): number {
  const limit = Math.min(throughIndex, state.snapshot.metadata.index)
  return countOldest(state, (segment) => segment.lastIndex <= limit)
}

/**
 * How many of the oldest segments retention drops at `nowMs`: while the log is over
 * `retentionBytesMax` or a segment's newest entry is older than `retentionAgeMsMax`, never one
 * holding an entry at or after `retainFromIndexMin`. Throws INVALID_ARGUMENT.
 */
export function segmentsToRetire(
  state: LogState,
  options: { nowMs: number; retainFromIndexMin: number },
): number {
  if (typeof options?.nowMs !== 'number' || typeof options.retainFromIndexMin !== 'number') {
    throw new LaminarError('INVALID_ARGUMENT', 'retention needs nowMs and retainFromIndexMin numbers')
  }
  const { retentionBytesMax, retentionAgeMsMax } = state.options
  let bytes = totalBytesOf(state)
  return countOldest(state, (segment) => {
    if (segment.lastIndex >= options.retainFromIndexMin) return false
    const over = bytes > retentionBytesMax || options.nowMs - segment.lastTimestampMs > retentionAgeMsMax
    if (over) bytes -= segment.bytes
    return over
  })
}

function countOldest(state: LogState, drop: (segment: SegmentRow) => boolean): number {
  const segments = state.segments
  let count = 0
  // The active (last) segment is never dropped: staged appends still update its row.
  while (count < segments.length - 1 && drop(segments[count]!)) count++
  return count
}
