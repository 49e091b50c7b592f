/**
 * Applies membership changes to a configuration (etcd-io/raft confchange/confchange.go and
 * restore.go). The Changer never mutates the tracker it reads: it returns a new config and
 * progress map that the caller installs with ProgressTracker.setConfig.
 */
import { RaftError } from './errors'
import { Progress } from './progress'
import {
  cloneTrackerConfig,
  isJoint,
  type ProgressMap,
  type ProgressTracker,
  type TrackerConfig,
} from './progress-tracker'
import { type ConfChange, type ConfChangeSingle, type ConfState, NONE, type NodeId } from './types'

/** A configuration and progress map computed by the Changer, ready for ProgressTracker.setConfig. */
export interface ChangeResult {
  config: TrackerConfig
  progress: ProgressMap
}

function fail(message: string): never {
  throw new RaftError('invalidConfChange', message)
}

/** True when the change asks to leave a joint configuration. */
export function isLeaveJoint(change: ConfChange): boolean {
  return change.transition === 'auto' && change.changes.length === 0
}

/** When the change enters a joint configuration, whether it leaves it automatically; else undefined. */
export function enterJointAutoLeave(change: ConfChange): boolean | undefined {
  if (change.transition === 'auto' && change.changes.length <= 1) return undefined
  return change.transition !== 'explicit'
}

/** Computes the configuration a membership change leads to, validating it (etcd's confchange.Changer). */
export class Changer {
  private readonly tracker: ProgressTracker
  /** The leader's last index: new peers are probed from here. */
  private readonly lastIndex: number

  constructor(tracker: ProgressTracker, lastIndex: number) {
    this.tracker = tracker
    this.lastIndex = lastIndex
  }

  /** Enters a joint configuration: outgoing = current voters, incoming = current voters with `changes` applied. */
  enterJoint(autoLeave: boolean, changes: ConfChangeSingle[]): ChangeResult {
    const { config, progress } = this.checkAndCopy()
    if (isJoint(config)) fail('config is already joint')
    if (config.voters[0].size === 0) fail("can't make a zero-voter config joint")
    config.voters[1] = new Set(config.voters[0])
    this.apply(config, progress, changes)
    config.autoLeave = autoLeave
    return checkAndReturn(config, progress)
  }

  /** Leaves a joint configuration: drops the outgoing voters and promotes learnersNext to learners. */
  leaveJoint(): ChangeResult {
    const { config, progress } = this.checkAndCopy()
    if (!isJoint(config)) fail("can't leave a non-joint config")
    for (const id of config.learnersNext) {
      config.learners.add(id)
      const peer = progress.get(id)
      if (peer) peer.isLearner = true
    }
    config.learnersNext.clear()
    for (const id of config.voters[1]) {
      if (!config.voters[0].has(id) && !config.learners.has(id)) progress.delete(id)
    }
    config.voters[1] = new Set()
    config.autoLeave = false
    return checkAndReturn(config, progress)
  }

  /** Applies changes that alter at most one voter, without joint consensus. */
  simple(changes: ConfChangeSingle[]): ChangeResult {
    const { config, progress } = this.checkAndCopy()
    if (isJoint(config)) fail("can't apply simple config change in joint config")
    this.apply(config, progress, changes)
    let changedVoters = 0
    const before = this.tracker.config.voters[0]
    const after = config.voters[0]
    for (const id of before) if (!after.has(id)) changedVoters++
    for (const id of after) if (!before.has(id)) changedVoters++
    if (changedVoters > 1) fail('more than one voter changed without entering joint config')
    return checkAndReturn(config, progress)
  }

  private apply(config: TrackerConfig, progress: ProgressMap, changes: ConfChangeSingle[]): void {
    for (const change of changes) {
      if (change.nodeId === NONE) continue
      switch (change.type) {
        case 'addNode':
          this.makeVoter(config, progress, change.nodeId)
          break
        case 'addLearner':
          this.makeLearner(config, progress, change.nodeId)
          break
        case 'removeNode':
          this.remove(config, progress, change.nodeId)
          break
        default:
          fail(`unknown conf change type ${String((change as ConfChangeSingle).type)}`)
      }
    }
    if (config.voters[0].size === 0) fail('removed all voters')
  }

  private makeVoter(config: TrackerConfig, progress: ProgressMap, id: NodeId): void {
    const peer = progress.get(id)
    if (!peer) {
      this.initProgress(config, progress, id, false)
      return
    }
    peer.isLearner = false
    config.learners.delete(id)
    config.learnersNext.delete(id)
    config.voters[0].add(id)
  }

  private makeLearner(config: TrackerConfig, progress: ProgressMap, id: NodeId): void {
    const peer = progress.get(id)
    if (!peer) {
      this.initProgress(config, progress, id, true)
      return
    }
    if (peer.isLearner) return
    // Remove as a voter first, keeping the progress: the node stays a replication target.
    this.remove(config, progress, id)
    progress.set(id, peer)
    // A voter still in the outgoing half cannot be a learner yet (voters and learners are disjoint):
    // it becomes one when the joint configuration is left.
    if (config.voters[1].has(id)) {
      config.learnersNext.add(id)
    } else {
      peer.isLearner = true
      config.learners.add(id)
    }
  }

  private remove(config: TrackerConfig, progress: ProgressMap, id: NodeId): void {
    if (!progress.has(id)) return
    config.voters[0].delete(id)
    config.learners.delete(id)
    config.learnersNext.delete(id)
    // An outgoing voter keeps its progress until the joint configuration is left.
    if (!config.voters[1].has(id)) progress.delete(id)
  }

  private initProgress(config: TrackerConfig, progress: ProgressMap, id: NodeId, isLearner: boolean): void {
    if (isLearner) config.learners.add(id)
    else config.voters[0].add(id)
    // Probe from the last index: the new peer answers with a rejection hint if it is behind.
    // recentActive so that check-quorum does not step the leader down before the peer is heard.
    progress.set(id, new Progress(0, Math.max(this.lastIndex, 1), this.tracker.maxInflight, isLearner, true))
  }

  private checkAndCopy(): ChangeResult {
    const config = cloneTrackerConfig(this.tracker.config)
    const progress: ProgressMap = new Map()
    for (const [id, peer] of this.tracker.progress) {
      // Shallow copy sharing the inflights: the old map is discarded once the result is installed.
      progress.set(id, Object.assign(Object.create(Object.getPrototypeOf(peer)) as Progress, peer))
    }
    checkInvariants(config, progress)
    return { config, progress }
  }
}

function checkAndReturn(config: TrackerConfig, progress: ProgressMap): ChangeResult {
  checkInvariants(config, progress)
  return { config, progress }
}

function checkInvariants(config: TrackerConfig, progress: ProgressMap): void {
  for (const set of [config.voters[0], config.voters[1], config.learners, config.learnersNext]) {
    for (const id of set) if (!progress.has(id)) fail(`no progress for ${id}`)
  }
  for (const id of config.learnersNext) {
    if (!config.voters[1].has(id)) fail(`${id} is in learnersNext, but not in outgoing voters`)
    if (progress.get(id)?.isLearner) fail(`${id} is in learnersNext, but is already marked as learner`)
  }
  for (const id of config.learners) {
    if (config.voters[1].has(id)) fail(`${id} is in learners and outgoing voters`)
    if (config.voters[0].has(id)) fail(`${id} is in learners and incoming voters`)
    if (!progress.get(id)?.isLearner) fail(`${id} is in learners, but is not marked as learner`)
  }
  if (!isJoint(config)) {
    if (config.learnersNext.size > 0) fail('learnersNext must be empty when not joint')
    if (config.autoLeave) fail('autoLeave must be false when not joint')
  }
}

/**
 * Rebuilds a configuration from a ConfState (a snapshot's, or storage's on start) by replaying
 * simple changes from an empty config, then entering the joint config if the state is joint.
 */
export function restoreConfState(
  tracker: ProgressTracker,
  lastIndex: number,
  confState: ConfState,
): ChangeResult {
  const outgoing: ConfChangeSingle[] = confState.votersOutgoing.map((nodeId) => ({ type: 'addNode', nodeId }))
  const incoming: ConfChangeSingle[] = [
    ...confState.votersOutgoing.map((nodeId): ConfChangeSingle => ({ type: 'removeNode', nodeId })),
    ...confState.voters.map((nodeId): ConfChangeSingle => ({ type: 'addNode', nodeId })),
    ...confState.learners.map((nodeId): ConfChangeSingle => ({ type: 'addLearner', nodeId })),
    ...confState.learnersNext.map((nodeId): ConfChangeSingle => ({ type: 'addLearner', nodeId })),
  ]
  const step = (operation: (changer: Changer) => ChangeResult): void => {
    const result = operation(new Changer(tracker, lastIndex))
    tracker.setConfig(result.config, result.progress)
  }
  if (outgoing.length === 0) {
    for (const change of incoming) step((changer) => changer.simple([change]))
  } else {
    for (const change of outgoing) step((changer) => changer.simple([change]))
    step((changer) => changer.enterJoint(confState.autoLeave, incoming))
  }
  return { config: tracker.config, progress: tracker.progress }
}
