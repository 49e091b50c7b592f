/**
 * Property test: 3- and 5-node clusters under random schedules (ticks, proposals, campaigns,
 * delivery in any order, drops, duplicates, partitions, crash-restarts) keep Raft's safety
 * properties after every step, and elect a leader and converge once healed.
 * RAFT_PROPERTY_RUNS sets the number of runs (default 200; the nightly run uses 10000).
 * RAFT_PROPERTY_MAX_STEPS sets the longest schedule (default 200 commands).
 * A failure prints fast-check's seed and path: RAFT_PROPERTY_SEED=... RAFT_PROPERTY_PATH=... replays it.
 */
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { Changer, enterJointAutoLeave, isLeaveJoint, restoreConfState } from '../../src/raft/confchange'
import type { ConfChange, ConfState, Message, RaftFaults } from '../../src/raft/index'
import { ProgressTracker } from '../../src/raft/progress-tracker'
import { bytes, decoder, Network } from './network'
import {
  type AppliedEntry,
  checkElectionSafety,
  checkLeaderCompleteness,
  checkLogMatching,
  checkStateMachineSafety,
  type ObservedLog,
} from './safety-checkers'

const RUNS = Number(process.env['RAFT_PROPERTY_RUNS'] ?? 200)
/** Longest schedule, in commands; longer schedules reach deeper states (and take longer). */
const MAX_STEPS = Number(process.env['RAFT_PROPERTY_MAX_STEPS'] ?? 200)
/** Replays a failure: fast-check prints the seed and path of a failing run. */
const REPLAY =
  process.env['RAFT_PROPERTY_SEED'] === undefined
    ? {}
    : { seed: Number(process.env['RAFT_PROPERTY_SEED']), path: process.env['RAFT_PROPERTY_PATH'] }
/** About 7 ms per run of 200 steps on one core; generous, so long nightly runs do not time out. */
const PROPERTY_TIMEOUT_MS = Math.max(30_000, (RUNS * MAX_STEPS) / 8)

type Command =
  | { kind: 'tick'; node: number; times: number }
  | { kind: 'tickAll'; times: number }
  | { kind: 'propose'; node: number; count: number }
  | { kind: 'campaign'; node: number }
  | { kind: 'deliver'; pick: number }
  | { kind: 'deliverRounds'; rounds: number }
  | { kind: 'drop'; pick: number }
  | { kind: 'duplicate'; pick: number }
  | { kind: 'partition'; mask: number }
  | { kind: 'heal' }
  | { kind: 'restart'; node: number }
  | { kind: 'read'; node: number }
  | { kind: 'compact'; node: number }
  | {
      kind: 'confChange'
      op: 'add' | 'remove' | 'learner' | 'joint' | 'leave'
      target: number
      other: number
      explicit: boolean
    }

const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('tick' as const),
      node: fc.nat(4),
      times: fc.integer({ min: 1, max: 12 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('tickAll' as const), times: fc.integer({ min: 1, max: 6 }) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('propose' as const),
      node: fc.nat(4),
      count: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('campaign' as const), node: fc.nat(4) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat() }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('deliverRounds' as const),
      rounds: fc.integer({ min: 1, max: 4 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('drop' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('partition' as const), mask: fc.nat(31) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('heal' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const), node: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('compact' as const), node: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('read' as const), node: fc.nat(4) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('confChange' as const),
      op: fc.constantFrom(
        'add' as const,
        'remove' as const,
        'learner' as const,
        'joint' as const,
        'leave' as const,
      ),
      target: fc.nat(4),
      other: fc.nat(4),
      explicit: fc.boolean(),
    }),
  },
)

/** The change a command asks for, or undefined when it would not apply to `confState`. */
function confChangeFor(
  command: Extract<Command, { kind: 'confChange' }>,
  ids: string[],
  confState: ConfState,
): ConfChange | undefined {
  const target = ids[command.target % ids.length] as string
  const other = ids[command.other % ids.length] as string
  // Never shrink a 2-voter configuration: that is the documented 2-node removal hazard (a crash
  // of the departing node during the handover can leave the other unable to elect anyone).
  if (confState.voters.length <= 2 && command.op !== 'add' && command.op !== 'leave') return undefined
  let change: ConfChange
  switch (command.op) {
    case 'add':
      change = { transition: 'auto', changes: [{ type: 'addNode', nodeId: target }] }
      break
    case 'remove':
      change = { transition: 'auto', changes: [{ type: 'removeNode', nodeId: target }] }
      break
    case 'learner':
      change = { transition: 'auto', changes: [{ type: 'addLearner', nodeId: target }] }
      break
    case 'joint':
      change = {
        transition: command.explicit ? 'explicit' : 'auto',
        changes: [
          { type: 'addNode', nodeId: target },
          { type: 'removeNode', nodeId: other },
        ],
      }
      break
    default:
      change = { transition: 'auto', changes: [] }
  }
  // Validate against the current configuration with the real Changer (the host's job, as in etcd).
  try {
    const tracker = new ProgressTracker(4)
    restoreConfState(tracker, 1, confState)
    const changer = new Changer(tracker, 1)
    if (isLeaveJoint(change)) changer.leaveJoint()
    else {
      const autoLeave = enterJointAutoLeave(change)
      if (autoLeave === undefined) changer.simple(change.changes)
      else changer.enterJoint(autoLeave, change.changes)
    }
  } catch {
    return undefined
  }
  return change
}

/** Tracks the history needed by the checkers and runs them all. */
class SafetyMonitor {
  private readonly leadersByTerm = new Map<number, string>()
  private readonly appliedByIndex = new Map<number, AppliedEntry>()
  private readonly committed = new Map<number, { term: number; observedInTerm: number }>()
  constructor(private readonly network: Network) {}

  check(): string | undefined {
    const network = this.network
    const logs = new Map<string, ObservedLog>()
    const leaders: Array<{ id: string; term: number; log: ObservedLog }> = []
    for (const [id, node] of network.nodes) {
      const storage = node.storage
      const firstIndex = storage.firstIndex()
      const terms: number[] = []
      for (let index = firstIndex; index <= storage.lastIndex(); index++) terms.push(storage.term(index))
      const log = { firstIndex, terms }
      logs.set(id, log)
      const status = node.raw.status()
      if (status.role === 'leader') leaders.push({ id, term: status.term, log })
      const applied = node.state.map((key, i): AppliedEntry => {
        const [index, term] = key.split(':')
        if (Number(index) !== i + 1)
          throw new Error(`${id}: state machine has index ${index} at position ${i}`)
        return { index: i + 1, term: Number(term), data: key }
      })
      const stateMachine = checkStateMachineSafety(this.appliedByIndex, id, applied)
      if (stateMachine) return stateMachine
      for (const entry of applied) {
        if (!this.committed.has(entry.index)) {
          this.committed.set(entry.index, { term: entry.term, observedInTerm: status.term })
        }
      }
    }
    return (
      checkElectionSafety(this.leadersByTerm, leaders) ??
      checkLogMatching(logs) ??
      checkLeaderCompleteness(this.committed, leaders)
    )
  }
}

function takeMessage(network: Network, pick: number): Message | undefined {
  if (network.pending.length === 0) return undefined
  const position = pick % network.pending.length
  const [message] = network.pending.splice(position, 1)
  return message
}

const stats = { runs: 0, maxTerm: 0, maxCommit: 0, confChanges: 0, snapshots: 0, readsAnswered: 0 }
afterAll(() => {
  if (stats.runs > 0)
    console.log(
      `runs ${stats.runs}: avg max term ${stats.maxTerm / stats.runs}, avg max commit ${stats.maxCommit / stats.runs}, conf changes taken ${stats.confChanges}, nodes restored from a snapshot ${stats.snapshots}, reads answered ${stats.readsAnswered}`,
    )
})

interface ScheduleConfig {
  preVote: boolean
  checkQuorum: boolean
}

const configArbitrary: fc.Arbitrary<ScheduleConfig> = fc.record({
  preVote: fc.boolean(),
  checkQuorum: fc.boolean(),
})

function runSchedule(
  size: number,
  seed: number,
  config: ScheduleConfig,
  commands: Command[],
  faults?: RaftFaults,
): void {
  const ids = Array.from({ length: size }, (_, i) => `n${i}`)
  const network = new Network(ids, { seed, config: { ...config, ...(faults ? { faults } : {}) } })
  const monitor = new SafetyMonitor(network)
  let proposals = 0
  // Linearizable reads: a read index must cover everything committed anywhere when the read began.
  const readFloor = new Map<string, number>()
  const checkReads = (): string | undefined => {
    for (const node of network.nodes.values()) {
      for (const readState of node.readStates) {
        const context = decoder.decode(readState.requestCtx)
        const floor = readFloor.get(context)
        if (floor !== undefined && readState.index < floor) {
          return `read index: ${node.id} answered ${context} at ${readState.index}, below commit ${floor} when it began`
        }
      }
    }
    return undefined
  }
  const idOf = (n: number) => ids[n % size] as string

  const step = (command: Command): void => {
    switch (command.kind) {
      case 'tick':
        network.tick(idOf(command.node), command.times)
        break
      case 'tickAll':
        network.tickAll(command.times)
        break
      case 'propose':
        for (let i = 0; i < command.count; i++) {
          try {
            network.raw(idOf(command.node)).propose(bytes(`p${proposals++}`))
          } catch {
            // Dropped proposals are thrown; the schedule just moves on.
          }
        }
        break
      case 'campaign':
        network.raw(idOf(command.node)).campaign()
        break
      case 'deliver': {
        const message = takeMessage(network, command.pick)
        if (message) network.deliver(message)
        break
      }
      case 'deliverRounds':
        for (let round = 0; round < command.rounds; round++) {
          network.deliverPending()
          network.processReadies()
        }
        break
      case 'drop': {
        const message = takeMessage(network, command.pick)
        if (message) network.reportLost(message)
        break
      }
      case 'duplicate': {
        const message = network.pending[command.pick % Math.max(1, network.pending.length)]
        if (message) network.pending.push(message)
        break
      }
      case 'partition':
        network.heal()
        // Nodes whose bit is set form one side; links across are cut.
        for (let i = 0; i < size; i++) {
          for (let j = i + 1; j < size; j++) {
            if (((command.mask >> i) & 1) !== ((command.mask >> j) & 1))
              network.cut(ids[i] as string, ids[j] as string)
          }
        }
        break
      case 'heal':
        network.heal()
        break
      case 'restart':
        network.restart(idOf(command.node))
        break
      case 'read': {
        const context = `r${readFloor.size}`
        const commitNow = Math.max(...[...network.nodes.values()].map((node) => node.raw.status().commit))
        try {
          network.raw(idOf(command.node)).readIndex(bytes(context))
          readFloor.set(context, commitNow)
        } catch {
          // No leader known: dropped visibly.
        }
        break
      }
      case 'compact':
        network.compact(idOf(command.node))
        break
      case 'confChange': {
        const leader = network.leaders()[0]
        if (leader === undefined) break
        const change = confChangeFor(command, ids, network.node(leader).confState)
        if (change === undefined) break
        try {
          network.raw(leader).proposeConfChange(change)
          stats.confChanges++
        } catch {
          // Dropped (one change pending, or the leader has not applied its own-term entry yet).
        }
        break
      }
    }
    // Hosts persist and send promptly; the schedule controls delivery, not persistence.
    network.processReadies()
    // Bound the in-flight queue (as a real network's buffers are bounded).
    if (network.pending.length > 200) {
      for (const message of network.pending.splice(0, network.pending.length - 200))
        network.reportLost(message)
    }
  }

  for (const command of commands) {
    step(command)
    const violation = monitor.check() ?? checkReads()
    if (violation)
      throw new Error(`${violation} (size ${size}, seed ${seed}, config ${JSON.stringify(config)})`)
  }
  if (process.env['RAFT_PROPERTY_STATS']) {
    const statuses = [...network.nodes.values()].map((node) => node.raw.status())
    stats.runs++
    stats.maxTerm += Math.max(...statuses.map((s) => s.term))
    stats.maxCommit += Math.max(...statuses.map((s) => s.commit))
    stats.snapshots += [...network.nodes.values()].filter((node) => node.snapshotIndex > 0).length
    for (const node of network.nodes.values()) stats.readsAnswered += node.readStates.length
  }

  // Liveness once healed: a leader emerges and every member (of the newest configuration)
  // converges on its log. Removed nodes stay up: a removed leader's vote may still be needed by a
  // peer that never learned of the removal (the 2-node removal hazard in docs/raft.md).
  network.heal()
  let converged = false
  for (let round = 0; round < 300 && !converged; round++) {
    const newest = [...network.nodes.values()].reduce((a, b) =>
      b.raw.status().commit > a.raw.status().commit ? b : a,
    )
    const members = new Set([
      ...newest.confState.voters,
      ...newest.confState.votersOutgoing,
      ...newest.confState.learners,
    ])
    network.tickAll()
    network.stabilize()
    const leaders = network.leaders().filter((id) => members.has(id))
    if (leaders.length === 1) {
      const leader = network.node(leaders[0] as string)
      const last = leader.storage.lastIndex()
      converged = [...members].every((id) => {
        const node = network.node(id)
        return node.raw.status().commit === leader.raw.status().commit && node.storage.lastIndex() === last
      })
    }
    const violation = monitor.check()
    if (violation) throw new Error(`${violation} (size ${size}, seed ${seed}, healing)`)
  }
  if (!converged) throw new Error(`no convergence after healing (size ${size}, seed ${seed})`)
}

describe('raft safety under random schedules', () => {
  for (const size of [3, 5]) {
    it(
      `${size} nodes: election safety, log matching, leader completeness, state machine safety`,
      () => {
        fc.assert(
          fc.property(
            fc.integer({ min: 1, max: 2 ** 31 - 1 }),
            configArbitrary,
            fc.array(commandArbitrary, { minLength: 20, maxLength: MAX_STEPS, size: 'max' }),
            (seed, config, commands) => {
              runSchedule(size, seed, config, commands)
            },
          ),
          { numRuns: RUNS, ...REPLAY },
        )
      },
      PROPERTY_TIMEOUT_MS,
    )
  }
})

describe('the safety checkers are not vacuous', () => {
  it.skipIf(process.env['RAFT_FAULT_PROBE'] === undefined)(
    'find a violation when a fault hook breaks a rule',
    () => {
      const faults: RaftFaults =
        process.env['RAFT_FAULT_PROBE'] === 'forgetVote'
          ? { forgetVote: true }
          : { commitPreviousTermByCounting: true }
      let found: unknown
      try {
        fc.assert(
          fc.property(
            fc.integer({ min: 1, max: 2 ** 31 - 1 }),
            configArbitrary,
            fc.array(commandArbitrary, { minLength: 20, maxLength: 300, size: 'max' }),
            (seed, config, commands) => {
              runSchedule(3, seed, config, commands, faults)
            },
          ),
          { numRuns: RUNS },
        )
      } catch (error) {
        found = error
      }
      console.log(String(found).slice(0, 300))
      expect(found).toBeDefined()
    },
  )

  it('flag two leaders in one term', () => {
    expect(checkElectionSafety(new Map([[3, 'a']]), [{ id: 'b', term: 3 }])).toMatch(/election safety/)
  })

  it('flag logs that agree at an index but differ below it', () => {
    const logs = new Map<string, ObservedLog>([
      ['a', { firstIndex: 1, terms: [1, 1, 2] }],
      ['b', { firstIndex: 1, terms: [1, 2, 2] }],
    ])
    expect(checkLogMatching(logs)).toMatch(/log matching/)
  })

  it('flag a later leader missing a committed entry', () => {
    const committed = new Map([[2, { term: 1, observedInTerm: 1 }]])
    const leader = { id: 'a', term: 2, log: { firstIndex: 1, terms: [1] } }
    expect(checkLeaderCompleteness(committed, [leader])).toMatch(/leader completeness/)
  })

  it('flag two different entries applied at one index', () => {
    const applied = new Map<number, AppliedEntry>()
    checkStateMachineSafety(applied, 'a', [{ index: 1, term: 1, data: 'x' }])
    expect(checkStateMachineSafety(applied, 'b', [{ index: 1, term: 1, data: 'y' }])).toMatch(/state machine/)
  })
})
