import type { GroupCommit } from '../log/group-commit'
import { SegmentedLog } from '../log/segmented-log'
import type { Clock } from '../ports/clock'
import type { Random } from '../ports/random'
import type { Storage } from '../ports/storage'
import type { ConfState, NodeId } from '../raft/types'
import type { NodeTuning } from './node-options'
import type { PartitionLogOptions } from './partition-groups'
import { encodeNodeId } from './proposal-envelope'
import { type GroupApplier, RaftGroup } from './raft-group'
import { SegmentedGroupLog } from './segmented-group-log'

export interface GroupOpenerOptions {
  nodeId: NodeId
  storage: Storage
  groupCommit: GroupCommit
  clock: Clock
  random: Random
  tuning: NodeTuning
}

/** Opens the Raft groups of one node run: each group's log from storage, its Raft node on it. */
export class GroupOpener {
  readonly #options: GroupOpenerOptions
  /**
   * The proposer name in proposal headers: the node id plus a fresh incarnation per start, so
   * entries proposed by an earlier run can never be taken for requests of this run on replay.
   */
  readonly #proposerBytes: Uint8Array

  constructor(options: GroupOpenerOptions) {
    this.#options = options
    const incarnation = Math.floor(options.random.next() * 0x1_0000_0000).toString(36)
    this.#proposerBytes = encodeNodeId(`${options.nodeId}#${incarnation}`)
  }

  /**
   * Opens a group's log (recovering it from storage) and builds its Raft node on it, starting
   * from `bootstrap` while the log holds no configuration of its own. A partition replica passes
   * its `replica` identity: its Raft id, and the log id its entries and hard state are stored
   * under (one per incarnation, so a replica placed here again never reads an earlier one's log).
   */
  async open(
    groupId: string,
    applier: GroupApplier,
    bootstrap: ConfState,
    logOptions: PartitionLogOptions,
    replica?: { replicaId: string; logId: string },
  ): Promise<RaftGroup> {
    const { tuning } = this.#options
    const log = await SegmentedLog.open(this.#options.storage, replica?.logId ?? groupId, {
      entryCacheBytesMax: tuning.entryCacheBytesPerGroupMax,
      ...logOptions,
    })
    // A log that retention compacted starts at its snapshot: restore the state machine from it
    // and let Raft hand out only the entries after it.
    const snapshot = log.snapshot()
    const applied = snapshot.metadata.index
    if (applied > 0) applier.restoreSnapshot?.(snapshot.data)
    return new RaftGroup({
      groupId,
      nodeId: this.#options.nodeId,
      ...(replica === undefined ? {} : { replicaId: replica.replicaId }),
      nodeIdBytes: this.#proposerBytes,
      log: new SegmentedGroupLog(log, this.#options.groupCommit, this.#options.clock, bootstrap),
      applier,
      pendingProposalsMax: tuning.pendingProposalsPerGroupMax,
      raft: {
        electionTicks: tuning.electionTicks,
        heartbeatTicks: tuning.heartbeatTicks,
        random: () => this.#options.random.next(),
        maxSizePerMsg: tuning.maxSizePerMsg,
        maxInflightMsgs: tuning.maxInflightMsgs,
        checkQuorum: true,
        preVote: true,
        applied,
      },
    })
  }
}
