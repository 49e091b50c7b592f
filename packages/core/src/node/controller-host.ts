import type { ControllerCommand, ControllerResult, TopicMetadata } from '../broker/commands'
import { ControllerStateMachine } from '../broker/controller-state-machine'
import { decodeControllerCommand, encodeControllerCommand } from '../codec/index'
import { LaminarError } from '../errors/laminar-error'
import type { NodeId } from '../raft/types'
import type { PeerConfig } from './node-options'
import type { ClusterMetadata, TopicDescription } from './protocol'
import type { GroupApplier, RaftGroup } from './raft-group'

/** The controller's Raft group id on every node. */
export const CONTROLLER_GROUP_ID = 'controller'

/** The Raft group id of one partition; the topic id tells a re-created topic from its predecessor. */
export function partitionGroupId(topicId: number, partition: number): string {
  return `p/${topicId}/${partition}`
}

/**
 * The controller as hosted on one node: its state machine applied from the controller group,
 * metadata answers, and admin proposals (leader only). Voters are the first 3 or 5 nodes;
 * every other node follows as a learner, so every node knows the placement.
 */
export class ControllerHost implements GroupApplier {
  readonly stateMachine = new ControllerStateMachine()
  readonly #peers: readonly PeerConfig[]
  #group: RaftGroup | undefined
  #joining: Promise<void> | undefined
  /** Called after applying a command that changed the metadata version. */
  onChange: (() => void) | undefined

  constructor(peers: readonly PeerConfig[]) {
    this.#peers = peers
  }

  attach(group: RaftGroup): void {
    this.#group = group
  }

  get group(): RaftGroup {
    if (this.#group === undefined) throw new LaminarError('INTERNAL', 'controller group not started')
    return this.#group
  }

  applyCommand(index: number, command: Uint8Array): ControllerResult | undefined {
    const before = this.stateMachine.version
    const result = this.stateMachine.apply(index, decodeControllerCommand(command))
    if (this.stateMachine.version !== before) this.onChange?.()
    return result
  }

  restoreSnapshot(data: Uint8Array): void {
    this.stateMachine.restore(data)
    this.onChange?.()
  }

  onRoleChange(isLeader: boolean): void {
    if (isLeader) void this.ensureMembers().catch(() => {})
  }

  /**
   * Proposes a join for every configured node the controller does not know yet: placement
   * only uses members, so a fresh cluster needs them before its first topic.
   */
  ensureMembers(): Promise<void> {
    if (this.#joining !== undefined) return this.#joining
    const known = new Set(this.stateMachine.members().map((m) => m.nodeId))
    const missing = this.#peers.filter((p) => !known.has(p.id))
    if (missing.length === 0) return Promise.resolve()
    this.#joining = Promise.all(
      missing.map((p) =>
        this.propose({ type: 'join', nodeId: p.id, addresses: { peer: p.address, client: p.address } }),
      ),
    )
      .then(() => undefined)
      .finally(() => {
        this.#joining = undefined
      })
    return this.#joining
  }

  /** Proposes a command on the controller leader; error results become LaminarErrors. */
  async propose(command: ControllerCommand): Promise<number> {
    const result = (await this.group.propose(encodeControllerCommand(command))) as
      | ControllerResult
      | undefined
    if (result === undefined) throw new LaminarError('INTERNAL', `controller ignored ${command.type}`)
    if (result.type === 'error')
      throw new LaminarError(result.code, result.message, { details: { command: command.type } })
    return result.version
  }

  topics(): TopicMetadata[] {
    return this.stateMachine.topics()
  }

  leader(): NodeId | null {
    const leader = this.#group?.leader ?? ''
    return leader === '' ? null : leader
  }

  /** Metadata as this node knows it; `leaderOf` answers for the partitions it hosts. */
  metadata(leaderOf: (topicId: number, partition: number) => string | null): ClusterMetadata {
    return {
      nodes: this.#peers.map((p) => ({ id: p.id, address: p.address })),
      controllerLeader: this.leader(),
      topics: this.topics().map((t) => describeTopic(t, leaderOf)),
    }
  }
}

export function describeTopic(
  topic: TopicMetadata,
  leaderOf: (topicId: number, partition: number) => string | null,
): TopicDescription {
  return {
    name: topic.name,
    topicId: topic.topicId,
    replicationFactor: topic.replicationFactor,
    config: { ...topic.config },
    partitions: topic.partitions.map((p) => ({
      partition: p.partition,
      replicas: [...p.replicas],
      leader: leaderOf(topic.topicId, p.partition),
    })),
  }
}
