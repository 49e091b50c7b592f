import type { TopicMetadata } from '../broker/commands'
import { epochOfReplica, hostedReplicaId } from '../broker/replica-ids'
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
  /** This node's storage id: it hosts replicas only once the controller records this one. */
  storageId: string
  controller: ControllerHost
  multiRaft: MultiRaft
  newHost: (topic: TopicMetadata, partition: number) => PartitionHost
  openGroup: (
    groupId: string,
    host: PartitionHost,
    bootstrap: ConfState,
    logOptions: PartitionLogOptions,
    replica: { replicaId: string; logId: string },
  ) => Promise<RaftGroup>
  /** False once the node is stopping: groups that finish opening then are not started. */
  isRunning: () => boolean
  /** Keeps a storage clear under way for the node's stop to wait on. */
  trackDestroy: (clearing: Promise<void>) => void
  onFatal: (error: unknown) => void
}

/**
 * The log id a partition replica's entries and hard state are stored under: the group id plus
 * the replica's placement epoch, so each incarnation has its own and never reads another's.
 */
export function replicaLogId(groupId: string, replicaId: string): string {
  return `${groupId}@${epochOfReplica(replicaId)}`
}

/**
 * The partition groups a node hosts, started and stopped as the controller's placement says.
 *
 * A node hosts a partition while it is among its target or its current replicas: a replica being
 * moved off keeps its group until the controller records that the group's membership change
 * committed (`reassignmentDone`), and only then stops it and clears its log. Each placement has
 * its own replica id (the group's Raft name for it) and its own log: when the placement names
 * this node by another replica id than the one it hosts (moved off and back while this node did
 * not see the gap), the old incarnation is stopped and cleared and a fresh one started. Every
 * replica, the ones added by a reassignment included, starts Raft from the partition's initial
 * replicas (the configuration is not in the log): a replica added later replays the log's
 * membership changes from the same start as everyone else, and cannot campaign while that
 * configuration does not make it a voter.
 */
export class PartitionGroups {
  /** By group id (the wire id shared by every replica): one incarnation per partition here. */
  readonly hosts = new Map<string, PartitionHost>()
  /** Log ids of the incarnations being opened (their logs load asynchronously). */
  readonly #opening = new Set<string>()
  /** Log ids being cleared: a log id is never reopened, but the node's stop waits for them. */
  readonly #clearing = new Map<string, Promise<void>>()
  readonly #options: PartitionGroupsOptions
  #retentionRunning = false

  constructor(options: PartitionGroupsOptions) {
    this.#options = options
  }

  /** True for a log this node hosts, is opening, or the placement gives it (the sweep keeps it). */
  isKept(logId: string): boolean {
    for (const host of this.hosts.values()) if (logIdOf(host.group) === logId) return true
    return this.#opening.has(logId) || this.placedGroupIds().has(logId)
  }

  /** The log ids of the partition replicas the controller's placement, as applied here, gives this node. */
  placedGroupIds(): Set<string> {
    const placed = new Set<string>()
    if (this.#replicaFloor() === undefined) return placed
    for (const hosted of this.#options.controller.stateMachine.partitionsOf(this.#options.nodeId))
      placed.add(replicaLogId(partitionGroupId(hosted.topicId, hosted.partition), hosted.replicaId))
    return placed
  }

  /**
   * The lowest replica epoch this node may host, or undefined while the controller has not
   * recorded this node's storage (not registered yet, or registered by another storage: a
   * wiped disk hosts nothing until the controller has renewed the replicas it lost).
   */
  #replicaFloor(): number | undefined {
    const member = this.#options.controller.stateMachine.member(this.#options.nodeId)
    return member?.storageId === this.#options.storageId ? member.replicaFloor : undefined
  }

  /** Starts the partition replicas placed here and stops (clearing their logs) those no longer placed. */
  reconcile(): void {
    const { controller, nodeId } = this.#options
    const wanted = new Map<string, string>()
    const replicaFloor = this.#replicaFloor()
    for (const topic of replicaFloor === undefined ? [] : controller.topics()) {
      for (const assignment of topic.partitions) {
        const replicaId = hostedReplicaId(assignment, nodeId, replicaFloor)
        if (replicaId === undefined) continue
        const groupId = partitionGroupId(topic.topicId, assignment.partition)
        const logId = replicaLogId(groupId, replicaId)
        wanted.set(groupId, replicaId)
        if (this.hosts.get(groupId)?.group.replicaId === replicaId || this.#opening.has(logId)) continue
        this.#opening.add(logId)
        // The preferred replica of a group that never moved campaigns at once, so leaders land
        // where placement spread them; a replica added by a move waits to be told the config.
        const campaign =
          assignment.initialReplicas[0] === replicaId &&
          sameMembers(assignment.replicaIds, assignment.initialReplicas) &&
          sameMembers(assignment.currentReplicaIds, assignment.initialReplicas)
        const replica = { replicaId, logId }
        void this.#start(
          groupId,
          topic,
          assignment.partition,
          assignment.initialReplicas,
          replica,
          campaign,
        ).then((dropped) => {
          this.#opening.delete(logId)
          // Dropped while it opened, and placed here again meanwhile: that change found it
          // still opening, so start it now.
          if (dropped && this.#options.isRunning() && this.placedGroupIds().has(logId)) this.reconcile()
        })
      }
    }
    for (const [groupId, host] of this.hosts) {
      if (wanted.get(groupId) === host.group.replicaId) continue
      this.#stopHost(groupId, host)
    }
  }

  /** Opens and starts a replica; true when it was dropped because it was no longer placed here. */
  async #start(
    groupId: string,
    topic: TopicMetadata,
    partition: number,
    initialReplicas: string[],
    replica: { replicaId: string; logId: string },
    campaign: boolean,
  ): Promise<boolean> {
    const host = this.#options.newHost(topic, partition)
    let group: RaftGroup
    try {
      await this.#clearing.get(replica.logId)
      group = await this.#options.openGroup(
        groupId,
        host,
        bootstrapConfState(initialReplicas),
        {
          segmentBytesMax: topic.config.segmentBytes,
          ...(topic.config.retentionBytes > 0 ? { retentionBytesMax: topic.config.retentionBytes } : {}),
          ...(topic.config.retentionMs > 0 ? { retentionAgeMsMax: topic.config.retentionMs } : {}),
        },
        replica,
      )
    } catch (error) {
      this.#options.onFatal(error)
      return false
    }
    if (!this.#options.isRunning()) return false
    // The topic may have been deleted, or the replica moved off, while the log opened.
    if (!this.placedGroupIds().has(replica.logId)) {
      group.stop()
      this.#destroyLog(group)
      return true
    }
    // An earlier incarnation still hosted (the placement renamed this node's replica while the
    // new one opened) goes first: one incarnation per partition per node.
    const earlier = this.hosts.get(groupId)
    if (earlier !== undefined) this.#stopHost(groupId, earlier)
    host.attach(group)
    this.hosts.set(groupId, host)
    this.#options.multiRaft.add(group)
    if (campaign && group.raft.status().term === 0) group.raft.campaign()
    return false
  }

  /** One retention pass over the partitions hosted here, never two at once. */
  async applyRetention(nowMs: number): Promise<void> {
    if (this.#retentionRunning || !this.#options.isRunning()) return
    this.#retentionRunning = true
    try {
      for (const host of [...this.hosts.values()]) {
        if (host.group.stopped) continue
        await host.applyRetention(nowMs).catch((error: unknown) => {
          // A replica removed during the pass refuses writes: that is not a failure.
          if (!host.group.stopped) this.#options.onFatal(error)
        })
      }
    } finally {
      this.#retentionRunning = false
    }
  }

  #stopHost(groupId: string, host: PartitionHost): void {
    this.hosts.delete(groupId)
    host.stop()
    if (this.#options.multiRaft.groups.get(groupId) === host.group) this.#options.multiRaft.remove(groupId)
    this.#destroyLog(host.group)
  }

  /** Clears a stopped replica's log from storage; the node's stop waits for clears under way. */
  #destroyLog(group: RaftGroup): void {
    if (!(group.log instanceof SegmentedGroupLog)) return
    const logId = logIdOf(group)
    const previous = this.#clearing.get(logId) ?? Promise.resolve()
    const clearing = previous.then(() => (group.log as SegmentedGroupLog).destroy())
    const settled = clearing.then(
      () => undefined,
      () => undefined,
    )
    this.#clearing.set(logId, settled)
    void settled.then(() => {
      if (this.#clearing.get(logId) === settled) this.#clearing.delete(logId)
    })
    this.#options.trackDestroy(clearing)
  }
}

function logIdOf(group: RaftGroup): string {
  return replicaLogId(group.groupId, group.replicaId)
}
