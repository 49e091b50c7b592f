import type { ConfState, HardState, LogStorage, Snapshot } from '../raft/types'
import type { SegmentedLog } from './segmented-log'

function isEmptyConf(conf: ConfState): boolean {
  return conf.voters.length === 0 && conf.learners.length === 0 && conf.votersOutgoing.length === 0
}

/**
 * Raft's view of a SegmentedLog for a group bootstrapped from outside the log: a fresh log holds
 * no configuration, so this view answers `bootstrap` until the log stores one of its own (in its
 * hard state's conf or a snapshot). Invariant: `bootstrap` is identical on every replica.
 */
export function bootstrappedLogStorage(log: SegmentedLog, bootstrap: ConfState): LogStorage {
  return {
    initialState: (): { hardState: HardState; confState: ConfState } => {
      const state = log.initialState()
      return {
        hardState: state.hardState,
        confState: isEmptyConf(state.confState) ? bootstrap : state.confState,
      }
    },
    entries: (lo, hi, maxBytes) => log.entries(lo, hi, maxBytes),
    term: (index) => log.term(index),
    lastIndex: () => log.lastIndex(),
    firstIndex: () => log.firstIndex(),
    snapshot: (): Snapshot => {
      const snapshot = log.snapshot()
      if (!isEmptyConf(snapshot.metadata.confState)) return snapshot
      return { ...snapshot, metadata: { ...snapshot.metadata, confState: bootstrap } }
    },
  }
}
