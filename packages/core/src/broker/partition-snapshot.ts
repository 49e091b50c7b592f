import { decodeSnapshot, encodeSnapshot } from '../codec/snapshot-codec'
import { arrayOf, int, str } from '../codec/value-checks'
import { ConsumerGroup } from './consumer-group'
import { OffsetIndex } from './offset-index'
import { ProducerTable } from './producer-table'

/** Everything a PartitionStateMachine replicates, as its snapshot carries it. */
export interface PartitionSnapshotState {
  appliedIndex: number
  endOffset: number
  logStartOffset: number
  index: OffsetIndex
  producers: ProducerTable
  groups: Map<string, ConsumerGroup>
  committedOffsets: Map<string, number>
}

/** Canonical bytes: groups and reader positions sorted by name, so equal states give equal bytes. */
export function encodePartitionSnapshot(state: PartitionSnapshotState): Uint8Array {
  const groups = [...state.groups.values()].sort((a, b) => compareStrings(a.name, b.name))
  const committed = [...state.committedOffsets].sort((a, b) => compareStrings(a[0], b[0]))
  return encodeSnapshot('partition', [
    state.appliedIndex,
    state.endOffset,
    state.logStartOffset,
    state.index.toSnapshot(),
    state.producers.toSnapshot(),
    groups.map((group) => group.toSnapshot()),
    committed,
  ])
}

/** Fresh state objects from snapshot bytes; throws STORAGE_CORRUPT on anything malformed. */
export function decodePartitionSnapshot(bytes: Uint8Array): PartitionSnapshotState {
  return decodeSnapshot('partition', bytes, (body) => {
    const [applied, end, start, index, producers, groups, committed] = body
    const groupMap = new Map<string, ConsumerGroup>()
    for (const value of arrayOf(groups, 'groups')) {
      const group = ConsumerGroup.fromSnapshot(value)
      groupMap.set(group.name, group)
    }
    const committedOffsets = new Map<string, number>()
    for (const pair of arrayOf(committed, 'committed offsets')) {
      const [name, offset] = arrayOf(pair, 'committed offset')
      committedOffsets.set(str(name, 'group'), int(offset, 'offset'))
    }
    return {
      appliedIndex: int(applied, 'appliedIndex'),
      endOffset: int(end, 'endOffset'),
      logStartOffset: int(start, 'logStartOffset'),
      index: OffsetIndex.fromSnapshot(index),
      producers: ProducerTable.fromSnapshot(producers),
      groups: groupMap,
      committedOffsets,
    }
  })
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
