import type { ClusterMember } from '../broker/commands'
import { nodeOfReplica } from '../broker/replica-ids'
import { isLaminarError } from '../errors/laminar-error'
import type { ConfChange, ConfChangeSingle, NodeId, RaftStatus } from '../raft/types'
import { type ControllerHost, partitionGroupId, sameMembers } from './controller-host'
import type { PartitionHost } from './partition-host'
import type { RaftGroup } from './raft-group'

/**
 * A learner is promoted to voter once its log is at most this many entries behind the leader's
 * commit index: close enough that the new quorum does not stall on it.
 */
export const LEARNER_LAG_ENTRIES_MAX = 1024

/** What a group's leader should do next about its membership. */
export type MembershipStep =
  | { type: 'change'; change: ConfChange }
  /** Nothing to do: the configuration is the target. */
  | { type: 'done' }
  /** A change is under way (joint config, transfer) or a learner is catching up. */
  | { type: 'wait' }

const WAIT: MembershipStep = { type: 'wait' }
const DONE: MembershipStep = { type: 'done' }

function change(changes: ConfChangeSingle[]): MembershipStep {
  // One change is a simple change; several enter a joint configuration that Raft leaves by itself.
  return { type: 'change', change: { transition: 'auto', changes } }
}

function caughtUp(status: RaftStatus, id: NodeId): boolean {
  const progress = status.progress[id]
  return (
    progress !== undefined &&
    progress.state === 'replicate' &&
    progress.match + LEARNER_LAG_ENTRIES_MAX >= status.commit
  )
}

/**
 * The next step moving a partition group's configuration to `target` (its leader decides):
 * add each new replica as a learner (it catches up from the leader's log, or a snapshot, without
 * a vote), then, once every one of them is caught up, promote them and remove the replicas left
 * out in one joint change (safe for any sizes, 1 to 1 included). A learner not in the target is
 * removed first. Pure: the status in, the step out.
 */
export function nextPartitionStep(status: RaftStatus, target: readonly NodeId[]): MembershipStep {
  const config = status.config
  if (status.leadTransferee !== '' || config.votersOutgoing.length > 0) return WAIT
  const inConfig = new Set([...config.voters, ...config.learners])
  const missing = target.find((id) => !inConfig.has(id))
  if (missing !== undefined) return change([{ type: 'addLearner', nodeId: missing }])
  const strayLearner = config.learners.find((id) => !target.includes(id))
  if (strayLearner !== undefined) return change([{ type: 'removeNode', nodeId: strayLearner }])
  const promote = config.learners
  const demote = config.voters.filter((id) => !target.includes(id))
  if (promote.length === 0 && demote.length === 0) return DONE
  if (!promote.every((id) => caughtUp(status, id))) return WAIT
  return change([
    ...promote.map((nodeId): ConfChangeSingle => ({ type: 'addNode', nodeId })),
    ...demote.map((nodeId): ConfChangeSingle => ({ type: 'removeNode', nodeId })),
  ])
}

/** Controller voters wanted among `activeCount` active members: 5 from 5 members on, else up to 3. */
export function controllerVotersWanted(activeCount: number, votersMax: number): number {
  return activeCount >= 5 && votersMax >= 5 ? 5 : Math.min(activeCount, 3, votersMax)
}

/**
 * The next step for the controller group (its leader decides). The group's configuration names
 * controller replica ids (`ClusterMember.controllerReplicaId`): a member's current one, and old
 * ones of members that came back without their state. One change at a time: every active member
 * follows as a learner; an old incarnation that is a learner is removed; an old incarnation that
 * is a voter is replaced, once its successor (a learner) caught up, by one joint change (promote
 * the new id, remove the old: the quorum never counts a forgotten vote, and the voter count
 * holds); caught-up learners are promoted while fewer active voters than wanted remain (so a
 * leaving voter is replaced before it goes); a node removed from the cluster (forgotten after
 * leaving) is removed, a voter only while another voter remains; active voters beyond the
 * wanted count are demoted to learners. Leaving members keep their place until forgotten: they
 * still host replicas and must learn when the moves off them complete.
 */
export function nextControllerStep(
  status: RaftStatus,
  members: readonly ClusterMember[],
  votersMax: number,
  wasRemoved: (nodeId: NodeId) => boolean,
): MembershipStep {
  const config = status.config
  if (status.leadTransferee !== '' || config.votersOutgoing.length > 0) return WAIT
  // A controller that has not admitted its founders yet has nothing to decide.
  if (members.length === 0) return WAIT
  const current = new Map(members.map((m) => [m.nodeId, m.controllerReplicaId]))
  const active = members.filter((m) => !m.leaving).map((m) => m.controllerReplicaId)
  const inConfig = new Set([...config.voters, ...config.learners])
  const missing = active.find((id) => !inConfig.has(id))
  if (missing !== undefined) return change([{ type: 'addLearner', nodeId: missing }])
  /** An earlier incarnation of a member: its node lost the state that id voted and acked with. */
  const isOld = (id: NodeId): boolean => {
    const now = current.get(nodeOfReplica(id))
    return now !== undefined && now !== id
  }
  const oldLearner = config.learners.find(isOld)
  if (oldLearner !== undefined) return change([{ type: 'removeNode', nodeId: oldLearner }])
  for (const old of config.voters.filter(isOld)) {
    const successor = current.get(nodeOfReplica(old))!
    if (config.learners.includes(successor) && caughtUp(status, successor)) {
      return change([
        { type: 'addNode', nodeId: successor },
        { type: 'removeNode', nodeId: old },
      ])
    }
  }
  const activeVoters = config.voters.filter((id) => active.includes(id))
  if (
    activeVoters.length + config.voters.filter(isOld).length <
    controllerVotersWanted(active.length, votersMax)
  ) {
    const candidate = config.learners.find((id) => active.includes(id) && caughtUp(status, id))
    if (candidate !== undefined) return change([{ type: 'addNode', nodeId: candidate }])
  }
  // Gone: removed from the cluster. A founder not admitted yet is neither member nor gone.
  const gone = (id: NodeId): boolean => !current.has(nodeOfReplica(id)) && wasRemoved(nodeOfReplica(id))
  const goneVoter = config.voters.find(gone)
  if (goneVoter !== undefined && config.voters.length > 1)
    return change([{ type: 'removeNode', nodeId: goneVoter }])
  const goneLearner = config.learners.find(gone)
  if (goneLearner !== undefined) return change([{ type: 'removeNode', nodeId: goneLearner }])
  // More active voters than wanted (members left): demote one, not the leader itself; never
  // while a founder is still to be admitted (the member count is not the cluster's yet).
  const settled = [...config.voters, ...config.learners].every((id) => current.has(nodeOfReplica(id)))
  if (settled && activeVoters.length > controllerVotersWanted(active.length, votersMax)) {
    const demoted = [...activeVoters].reverse().find((id) => id !== status.id)
    if (demoted !== undefined) return change([{ type: 'addLearner', nodeId: demoted }])
  }
  return DONE
}

/** A partition group whose voters reached the target, to tell the controller. */
export interface ReassignmentReport {
  topic: string
  topicId: number
  partition: number
  /** The group's voters, as replica ids. */
  replicas: string[]
}

export interface MembershipDriverOptions {
  nodeId: string
  /** This node's storage id (see JoinCommand.storageId). */
  storageId: string
  controller: ControllerHost
  partitions: ReadonlyMap<string, PartitionHost>
  controllerVotersMax: number
  /** Sends the report to the controller leader (through the node's own client). */
  report: (report: ReassignmentReport) => Promise<void>
  /** Joins with this node's storage id (through the node's own client). */
  register: () => Promise<unknown>
  /** Drives the groups after a proposal. */
  schedule: () => void
}

/**
 * On a node, moves the membership of the groups it leads towards the controller's state: the
 * controller group towards the members, each partition group towards its target replicas, and
 * reports finished moves. Runs every few ticks and on controller changes; each call proposes at
 * most one change per group (Raft takes one pending change at a time anyway).
 */
export class MembershipDriver {
  readonly #options: MembershipDriverOptions
  /** Groups whose report is on its way (one at a time per group). */
  readonly #reporting = new Set<string>()
  #registering = false

  constructor(options: MembershipDriverOptions) {
    this.#options = options
  }

  step(): void {
    const { controller, partitions } = this.#options
    this.#registerStorage()
    if (!controller.attached) return
    const controllerGroup = controller.group
    if (controllerGroup.isLeader) {
      const members = controller.stateMachine.members()
      const next = nextControllerStep(
        controllerGroup.raft.status(),
        members,
        this.#options.controllerVotersMax,
        (id) => controller.stateMachine.wasRemoved(id),
      )
      if (next.type === 'change') this.#propose(controllerGroup, next.change)
    }
    for (const host of partitions.values()) {
      const group = host.group
      if (!group.isLeader || group.stopped) continue
      const assignment = controller.stateMachine.topic(host.topic.name)?.partitions[host.partition]
      if (
        assignment === undefined ||
        controller.stateMachine.topic(host.topic.name)?.topicId !== host.topic.topicId
      )
        continue
      // Nothing moves while the target is the current placement (the common case: no status built).
      if (sameMembers(assignment.replicaIds, assignment.currentReplicaIds)) continue
      // The group's configuration names replica ids: the target's, one per placement, so a node
      // placed here again is a new member and its earlier incarnation is removed like any other.
      const next = nextPartitionStep(group.raft.status(), assignment.replicaIds)
      if (next.type === 'change') this.#propose(group, next.change)
      else if (next.type === 'done') {
        this.#report(partitionGroupId(host.topic.topicId, host.partition), {
          topic: host.topic.name,
          topicId: host.topic.topicId,
          partition: host.partition,
          replicas: [...assignment.replicaIds],
        })
      }
    }
  }

  /**
   * A member whose storage the controller does not know (a founder admitted by the leader, or a
   * node back on a wiped disk) joins again with its storage id; it hosts no replica till then.
   * A node removed from the cluster is not a member and does not come back this way.
   */
  #registerStorage(): void {
    const member = this.#options.controller.stateMachine.member(this.#options.nodeId)
    if (this.#registering || member === undefined || member.storageId === this.#options.storageId) return
    this.#registering = true
    void this.#options
      .register()
      .catch(() => {
        // Retried at a later step.
      })
      .finally(() => {
        this.#registering = false
      })
  }

  #propose(group: RaftGroup, confChange: ConfChange): void {
    try {
      group.proposeConfChange(confChange)
      this.#options.schedule()
    } catch (error) {
      // A change already pending, a transfer, a lost leadership: the next step tries again.
      if (!isLaminarError(error)) throw error
    }
  }

  #report(groupId: string, report: ReassignmentReport): void {
    if (this.#reporting.has(groupId)) return
    this.#reporting.add(groupId)
    void this.#options
      .report(report)
      .catch(() => {
        // Retried at a later step while the controller still shows the move.
      })
      .finally(() => this.#reporting.delete(groupId))
  }
}
