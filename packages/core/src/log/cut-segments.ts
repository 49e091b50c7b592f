import type { StorageOperation } from '../ports/storage'
import { KeyKind } from './keys'
import type { LogState } from './log-state'
import { encodeSegment } from './records'

/**
 * Cuts the segment table, the time index and the term runs at `from` (entries at and after it
 * go), in memory, and plans the matching row updates. Entry rows themselves are the caller's.
 * `removedEntryBytes` sizes each removed entry of the segment that survives the cut; it is given
 * that segment's average stored entry size for entries it cannot size exactly.
 * Shared by Raft's conflict truncation and recovery's torn-tail cut.
 */
export function cutSegmentsFrom(
  state: LogState,
  from: number,
  operations: StorageOperation[],
  removedEntryBytes: (index: number, averageBytes: number) => number,
): void {
  const { keys, segments } = state
  while (segments.length > 0 && segments[segments.length - 1]!.baseIndex >= from) {
    const segment = segments.pop()!
    operations.push({ type: 'del', key: keys.indexed(KeyKind.segment, segment.baseIndex) })
    for (const index of segment.pointIndexes)
      operations.push({ type: 'del', key: keys.indexed(KeyKind.timePoint, index) })
  }
  const segment = segments[segments.length - 1]
  if (segment !== undefined && segment.lastIndex >= from) {
    const averageBytes = segment.bytes / (segment.lastIndex - segment.baseIndex + 1)
    let removedBytes = 0
    for (let index = from; index <= segment.lastIndex; index++)
      removedBytes += removedEntryBytes(index, averageBytes)
    segment.bytes = Math.max(0, Math.round(segment.bytes - removedBytes))
    segment.lastIndex = from - 1
    while (
      segment.pointIndexes.length > 0 &&
      segment.pointIndexes[segment.pointIndexes.length - 1]! >= from
    ) {
      operations.push({ type: 'del', key: keys.indexed(KeyKind.timePoint, segment.pointIndexes.pop()!) })
      segment.pointTimestampsMs.pop()
    }
    operations.push({
      type: 'put',
      key: keys.indexed(KeyKind.segment, segment.baseIndex),
      value: encodeSegment(segment),
    })
  }
  for (const start of state.termRuns.truncateFrom(from)) {
    operations.push({ type: 'del', key: keys.indexed(KeyKind.termRun, start) })
  }
}
