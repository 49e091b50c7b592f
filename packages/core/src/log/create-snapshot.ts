import { LaminarError } from '../errors/laminar-error'
import type { Snapshot } from '../raft/types'
import { KeyKind } from './keys'
import { type LogState, termOf } from './log-state'
import { encodeSnapshot } from './records'
import { emptyPlan, type WritePlan } from './staging'

/**
 * Plans recording a snapshot the host took at `snapshot.metadata.index` (within the log) and
 * applies it to memory. Entries stay: compaction drops them. Throws INVALID_ARGUMENT for an
 * index outside the log, a wrong term or an index not newer than the current snapshot.
 */
export function planCreateSnapshot(state: LogState, snapshot: Snapshot): WritePlan {
  const { index, term, confState } = snapshot?.metadata ?? {}
  if (
    !Number.isSafeInteger(index) ||
    !(snapshot.data instanceof Uint8Array) ||
    typeof confState !== 'object'
  ) {
    throw new LaminarError(
      'INVALID_ARGUMENT',
      'snapshot needs an integer index, a confState and Uint8Array data',
    )
  }
  if (index <= state.snapshot.metadata.index || index > state.lastIndex || index < state.start.index) {
    throw new LaminarError(
      'INVALID_ARGUMENT',
      `snapshot index ${index} is outside (${state.snapshot.metadata.index}, ${state.lastIndex}]`,
    )
  }
  if (termOf(state, index) !== term)
    throw new LaminarError('INVALID_ARGUMENT', `snapshot term ${term} does not match`)
  state.snapshot = snapshot
  const plan = emptyPlan(state.lastTimestampMs)
  plan.operations.push({
    type: 'put',
    key: state.keys.single(KeyKind.snapshot),
    value: encodeSnapshot(snapshot),
  })
  return plan
}
