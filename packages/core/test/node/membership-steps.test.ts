import { describe, expect, it } from 'vitest'
import type { ClusterMember, ProgressStatus, RaftStatus } from '../../src/index'
import {
  controllerVotersWanted,
  LEARNER_LAG_ENTRIES_MAX,
  nextControllerStep,
  nextPartitionStep,
} from '../../src/node/membership-driver'

/** A leader's status with the given configuration; every peer caught up unless `match` says otherwise. */
function leaderStatus(
  voters: string[],
  learners: string[] = [],
  options: { outgoing?: string[]; match?: Record<string, number>; transferee?: string } = {},
): RaftStatus {
  const commit = 5000
  const progress: Record<string, ProgressStatus> = {}
  for (const id of [...voters, ...learners, ...(options.outgoing ?? [])]) {
    progress[id] = {
      match: options.match?.[id] ?? commit,
      next: commit + 1,
      state: 'replicate',
      recentActive: true,
      isLearner: learners.includes(id),
      inflight: 0,
    }
  }
  return {
    id: voters[0]!,
    role: 'leader',
    term: 3,
    vote: voters[0]!,
    leader: voters[0]!,
    commit,
    applied: commit,
    leadTransferee: options.transferee ?? '',
    config: {
      voters,
      votersOutgoing: options.outgoing ?? [],
      learners,
      learnersNext: [],
      autoLeave: (options.outgoing ?? []).length > 0,
    },
    progress,
  }
}

const member = (nodeId: string, leaving = false, controllerReplicaId = nodeId): ClusterMember => ({
  nodeId,
  addresses: {},
  leaving,
  storageId: '',
  replicaFloor: 0,
  controllerReplicaId,
})

/** The controller step where every node outside `members` was removed from the cluster. */
const step = (status: RaftStatus, members: ClusterMember[], votersMax: number) =>
  nextControllerStep(status, members, votersMax, (id) => !members.some((m) => m.nodeId === id))

describe('partition membership steps', () => {
  it('adds target replicas as learners one at a time, then swaps in one joint change', () => {
    const target = ['n2', 'n3', 'n4']
    expect(nextPartitionStep(leaderStatus(['n1', 'n2', 'n3']), target)).toEqual({
      type: 'change',
      change: { transition: 'auto', changes: [{ type: 'addLearner', nodeId: 'n4' }] },
    })
    expect(nextPartitionStep(leaderStatus(['n1', 'n2', 'n3'], ['n4']), target)).toEqual({
      type: 'change',
      change: {
        transition: 'auto',
        changes: [
          { type: 'addNode', nodeId: 'n4' },
          { type: 'removeNode', nodeId: 'n1' },
        ],
      },
    })
    expect(nextPartitionStep(leaderStatus(['n2', 'n3', 'n4']), target)).toEqual({ type: 'done' })
  })

  it('waits for a lagging learner, a joint configuration and a leadership transfer', () => {
    const target = ['n2', 'n3', 'n4']
    const lagging = leaderStatus(['n1', 'n2', 'n3'], ['n4'], {
      match: { n4: 5000 - LEARNER_LAG_ENTRIES_MAX - 1 },
    })
    expect(nextPartitionStep(lagging, target)).toEqual({ type: 'wait' })
    const close = leaderStatus(['n1', 'n2', 'n3'], ['n4'], { match: { n4: 5000 - LEARNER_LAG_ENTRIES_MAX } })
    expect(nextPartitionStep(close, target).type).toBe('change')
    expect(
      nextPartitionStep(leaderStatus(['n2', 'n3', 'n4'], [], { outgoing: ['n1', 'n2', 'n3'] }), target),
    ).toEqual({
      type: 'wait',
    })
    expect(nextPartitionStep(leaderStatus(['n1', 'n2', 'n3'], [], { transferee: 'n2' }), target)).toEqual({
      type: 'wait',
    })
  })

  it('drops a learner the target no longer wants before anything else', () => {
    expect(nextPartitionStep(leaderStatus(['n1', 'n2', 'n3'], ['n5']), ['n1', 'n2', 'n3'])).toEqual({
      type: 'change',
      change: { transition: 'auto', changes: [{ type: 'removeNode', nodeId: 'n5' }] },
    })
  })

  it('moves a single replica 1 to 1 through a joint change', () => {
    expect(nextPartitionStep(leaderStatus(['n1'], ['n2']), ['n2'])).toMatchObject({
      change: {
        changes: [
          { type: 'addNode', nodeId: 'n2' },
          { type: 'removeNode', nodeId: 'n1' },
        ],
      },
    })
  })
})

describe('controller membership steps', () => {
  it('wants 3 voters below 5 active members, 5 from 5 on, never more than votersMax', () => {
    expect([1, 2, 3, 4, 5, 9].map((n) => controllerVotersWanted(n, 5))).toEqual([1, 2, 3, 3, 5, 5])
    expect(controllerVotersWanted(9, 3)).toBe(3)
  })

  it('adds joined members as learners, promotes up to 5 voters', () => {
    const members = ['n1', 'n2', 'n3', 'n4', 'n5'].map((id) => member(id))
    expect(step(leaderStatus(['n1', 'n2', 'n3']), members, 5)).toMatchObject({
      change: { changes: [{ type: 'addLearner', nodeId: 'n4' }] },
    })
    expect(step(leaderStatus(['n1', 'n2', 'n3'], ['n4', 'n5']), members, 5)).toMatchObject({
      change: { changes: [{ type: 'addNode', nodeId: 'n4' }] },
    })
    expect(step(leaderStatus(['n1', 'n2', 'n3'], ['n4', 'n5']), members.slice(0, 4), 5)).toMatchObject({
      change: { changes: [{ type: 'removeNode', nodeId: 'n5' }] },
    })
    expect(step(leaderStatus(['n1', 'n2', 'n3', 'n4', 'n5']), members, 5)).toEqual({
      type: 'done',
    })
  })

  it('replaces a leaving voter first, removes it once forgotten, never the last voter', () => {
    const leaving = [member('n1', true), member('n2'), member('n3'), member('n4')]
    expect(step(leaderStatus(['n1', 'n2', 'n3'], ['n4']), leaving, 5)).toMatchObject({
      change: { changes: [{ type: 'addNode', nodeId: 'n4' }] },
    })
    // Still a member (its replicas are moving): it keeps its vote.
    expect(step(leaderStatus(['n1', 'n2', 'n3', 'n4']), leaving, 5)).toEqual({ type: 'done' })
    const forgotten = leaving.slice(1)
    expect(step(leaderStatus(['n1', 'n2', 'n3', 'n4']), forgotten, 5)).toMatchObject({
      change: { changes: [{ type: 'removeNode', nodeId: 'n1' }] },
    })
    expect(step(leaderStatus(['n1']), [member('n2')], 5)).toMatchObject({
      change: { changes: [{ type: 'addLearner', nodeId: 'n2' }] },
    })
    expect(step(leaderStatus(['n1'], ['n2']), [member('n2')], 5)).toMatchObject({
      change: { changes: [{ type: 'addNode', nodeId: 'n2' }] },
    })
  })

  it('shrinks to the wanted count when members left', () => {
    const four = ['n1', 'n2', 'n3', 'n4'].map((id) => member(id))
    expect(step(leaderStatus(['n1', 'n2', 'n3', 'n4', 'n5']), four, 5)).toMatchObject({
      change: { changes: [{ type: 'removeNode', nodeId: 'n5' }] },
    })
    expect(step(leaderStatus(['n1', 'n2', 'n3', 'n4']), four, 5)).toMatchObject({
      change: { changes: [{ type: 'addLearner', nodeId: 'n4' }] },
    })
    expect(step(leaderStatus(['n1', 'n2', 'n3'], ['n4']), four, 5)).toEqual({ type: 'done' })
  })

  it('replaces an old controller incarnation: learner first, then one joint change swapping the ids', () => {
    const members = [member('n1'), member('n2'), member('n3', false, 'n3@7')]
    expect(step(leaderStatus(['n1', 'n2', 'n3']), members, 5)).toMatchObject({
      change: { changes: [{ type: 'addLearner', nodeId: 'n3@7' }] },
    })
    // Catching up: nothing, and never a fourth voter (the old id still counts as a seat).
    const lagging = leaderStatus(['n1', 'n2', 'n3'], ['n3@7'], { match: { 'n3@7': 10 } })
    expect(step(lagging, members, 5)).toEqual({ type: 'done' })
    expect(step(leaderStatus(['n1', 'n2', 'n3'], ['n3@7']), members, 5)).toEqual({
      type: 'change',
      change: {
        transition: 'auto',
        changes: [
          { type: 'addNode', nodeId: 'n3@7' },
          { type: 'removeNode', nodeId: 'n3' },
        ],
      },
    })
    expect(step(leaderStatus(['n1', 'n2', 'n3@7']), members, 5)).toEqual({ type: 'done' })
    // An old incarnation that is a learner is simply removed.
    expect(step(leaderStatus(['n1', 'n2', 'n3@7'], ['n3@5']), members, 5)).toMatchObject({
      change: { changes: [{ type: 'removeNode', nodeId: 'n3@5' }] },
    })
  })

  it('does nothing before the founders are admitted, and never takes a founder still joining for gone', () => {
    expect(step(leaderStatus(['n1', 'n2', 'n3']), [], 5)).toEqual({ type: 'wait' })
    const admitting = nextControllerStep(leaderStatus(['n1', 'n2', 'n3']), [member('n1')], 5, () => false)
    expect(admitting).toEqual({ type: 'done' })
  })
})
