import type { TopicMetadata } from '../broker/commands'
import { bootstrapConfState } from '../raft/index'
import type { ConfState, NodeId } from '../raft/types'
import { type ControllerHost, partitionGroupId, sameMembers } from './controller-host'
import type { MultiRaft } from './multi-raft'
import type { PartitionHost } from './partition-host'
import type { RaftGroup } from './raft-group'
import { SegmentedGroupLog } from './segmented-group-log'

/** Log settings a partition group's log opens with (from its topic's config). */
export interface PartitionLogOptions {
  segmentBytesMax?: number
  retentionBytesMax?: number
  retentionAgeMsMax?: number
}

export interface PartitionGroupsOptions {
  nodeId: NodeId
  controller: ControllerHost
  multiRaft: MultiRaft
  newHost: (topic: TopicMetadata, partition: number) => PartitionHost
  openGroup: (
    groupId: string,
    host: PartitionHost,
    bootstrap: ConfState,
    logOptions: PartitionLogOptions,
  ) => Promise<RaftGroup>
  /** False once the node is stopping: groups that finish opening then are not started. */
  isRunning: () => boolean
  /** Keeps a storage clear under way for the node's stop to wait on. */
  trackDestroy: (clearing: Promise<void>) => void
  onFatal: (error: unknown) => void
}

/**
 * The partition groups a node hosts, started and stopped as the controller's placement says.
 *
 * A node hosts a partition while it is among its target or its current replicas: a replica being
 * moved off keeps its group until the controller records that the group's membership change
 * committed (`reassignmentDone`), and only then stops it and clears its log. Every replica, the
 * ones added by a reassignment included, starts Raft from the partition's initial replicas (the
 * configuration is not in the log): a replica added later replays the log's membership changes
 * from the same start as everyone else, and cannot campaign while that configuration does not
 * make it a voter.
 */
export class PartitionGroups {
  readonly hosts = new Map<string, PartitionHost>()
  /** Groups being opened (their logs load asynchronously). */
  readonly #opening = new Set<string>()
  /**
   * Logs being cleared, by group id. A replica moved off and back onto this node reopens its
   * group only after the clear: opening during it could read a half-cleared log (a hard state
   * whose entries are gone).
   */
  readonly #clearing = new Map<string, Promise<void>>()
  readonly #options: PartitionGroupsOptions

  constructor(options: PartitionGroupsOptions) {
    this.#options = options
  }

  /** True for a group this node hosts, is opening, or the placement gives it (the sweep keeps it). */
  isKept(groupId: string): boolean {
    return this.hosts.has(groupId) || this.#opening.has(groupId) || this.placedGroupIds().has(groupId)
  }

  /** The partition group ids the controller's placement, as applied here, gives this node. */
  placedGroupIds(): Set<string> {
    const placed = new Set<string>()
    for (const hosted of this.#options.controller.stateMachine.partitionsOf(this.#options.nodeId))
      placed.add(partitionGroupId(hosted.topicId, hosted.partition))
    return placed
  }

  /** Starts the partition groups placed here and stops (clearing their logs) those no longer placed. */
  reconcile(): void {
    const { controller, nodeId } = this.#options
    const wanted = new Set<string>()
    for (const topic of controller.topics()) {
      for (const assignment of topic.partitions) {
        if (!assignment.replicas.includes(nodeId) && !assignment.currentReplicas.includes(nodeId)) continue
        const groupId = partitionGroupId(topic.topicId, assignment.partition)
        wanted.add(groupId)
        if (this.hosts.has(groupId) || this.#opening.has(groupId)) continue
        this.#opening.add(groupId)
        // The preferred replica of a group that never moved campaigns at once, so leaders land
        // where placement spread them; a replica added by a move waits to be told the config.
        const campaign =
          assignment.initialReplicas[0] === nodeId &&
          sameMembers(assignment.replicas, assignment.initialReplicas) &&
          sameMembers(assignment.currentReplicas, assignment.initialReplicas)
        void this.#start(groupId, topic, assignment.partition, assignment.initialReplicas, campaign).then(
          (dropped) => {
            this.#opening.delete(groupId)
            // Dropped while it opened, and placed here again meanwhile: that change found it
            // still opening, so start it now.
            if (dropped && this.#options.isRunning() && this.placedGroupIds().has(groupId)) this.reconcile()
          },
        )
      }
    }
    for (const [groupId, host] of this.hosts) {
      if (wanted.has(groupId)) continue
      this.hosts.delete(groupId)
      host.stop()
      this.#options.multiRaft.remove(groupId)
      this.#destroyLog(host.group)
    }
  }

  /** Opens and starts a group; true when it was dropped because it was no longer placed here. */
  async #start(
    groupId: string,
    topic: TopicMetadata,
    partition: number,
    initialReplicas: string[],
    campaign: boolean,
  ): Promise<boolean> {
    const host = this.#options.newHost(topic, partition)
    let group: RaftGroup
    try {
      await this.#clearing.get(groupId)
      group = await this.#options.openGroup(groupId, host, bootstrapConfState(initialReplicas), {
        segmentBytesMax: topic.config.segmentBytes,
        ...(topic.config.retentionBytes > 0 ? { retentionBytesMax: topic.config.retentionBytes } : {}),
        ...(topic.config.retentionMs > 0 ? { retentionAgeMsMax: topic.config.retentionMs } : {}),
      })
    } catch (error) {
      this.#options.onFatal(error)
      return false
    }
    if (!this.#options.isRunning()) return false
    // The topic may have been deleted, or the replica moved off, while the log opened.
    if (!this.placedGroupIds().has(groupId)) {
      group.stop()
      this.#destroyLog(group)
      return true
    }
    host.attach(group)
    this.hosts.set(groupId, host)
    this.#options.multiRaft.add(group)
    if (campaign && group.raft.status().term === 0) group.raft.campaign()
    return false
  }

  /** Clears a stopped group's log from storage; the node's stop waits for clears under way. */
  #destroyLog(group: RaftGroup): void {
    if (!(group.log instanceof SegmentedGroupLog)) return
    const groupId = group.groupId
    const previous = this.#clearing.get(groupId) ?? Promise.resolve()
    const clearing = previous.then(() => (group.log as SegmentedGroupLog).destroy())
    const settled = clearing.then(
      () => undefined,
      () => undefined,
    )
    this.#clearing.set(groupId, settled)
    void settled.then(() => {
      if (this.#clearing.get(groupId) === settled) this.#clearing.delete(groupId)
    })
    this.#options.trackDestroy(clearing)
  }
}
