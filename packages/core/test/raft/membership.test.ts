import { describe, expect, it } from 'vitest'
import { bootstrapConfState, type ConfChange, isRaftError, MemoryLogStorage } from '../../src/raft/index'
import { bytes, caught, Network } from './network'

function electAndSettle(network: Network, id: string): void {
  network.elect(id)
  network.stabilize()
}

/** A joining node starts with the configuration it joins (see docs/raft.md, "Adding a node"). */
function joiner(network: Network, id: string, voters: string[], learners: string[] = []): void {
  network.addNode(id, new MemoryLogStorage({ confState: bootstrapConfState(voters, learners) }))
}

const addNode = (nodeId: string): ConfChange => ({
  transition: 'auto',
  changes: [{ type: 'addNode', nodeId }],
})

describe('membership changes', () => {
  it('adds a voter with a simple change; the new node catches up from the log', () => {
    const network = new Network(['a', 'b', 'c'])
    electAndSettle(network, 'a')
    network.raw('a').propose(bytes('before'))
    network.stabilize()
    joiner(network, 'd', ['a', 'b', 'c', 'd'])
    network.raw('a').proposeConfChange(addNode('d'))
    network.stabilize()
    expect(network.node('a').confState.voters).toEqual(['a', 'b', 'c', 'd'])
    network.raw('a').propose(bytes('after'))
    network.stabilize()
    expect(network.appliedData('d')).toEqual(['before', 'after'])
    expect(network.node('d').confState.voters).toEqual(['a', 'b', 'c', 'd'])
  })

  it('joint consensus: replaces a voter through a joint config that is left automatically', () => {
    const network = new Network(['a', 'b', 'c'])
    electAndSettle(network, 'a')
    joiner(network, 'd', ['a', 'b', 'd'])
    network.raw('a').proposeConfChange({
      transition: 'auto',
      changes: [
        { type: 'addNode', nodeId: 'd' },
        { type: 'removeNode', nodeId: 'c' },
      ],
    })
    network.stabilize()
    for (const id of ['a', 'b', 'd']) {
      expect(network.node(id).confState).toMatchObject({ voters: ['a', 'b', 'd'], votersOutgoing: [] })
    }
    // The applied log shows both steps: enter joint, then the automatic leave.
    const confEntries = network.node('a').applied.filter((e) => e.type === 'confChange')
    expect(confEntries).toHaveLength(2)
    network.raw('a').propose(bytes('x'))
    network.stabilize()
    expect(network.appliedData('d')).toEqual(['x'])
  })

  it('joint consensus with an explicit transition stays joint until asked to leave', () => {
    const network = new Network(['a', 'b', 'c'])
    electAndSettle(network, 'a')
    joiner(network, 'd', ['a', 'b', 'c', 'd'])
    network
      .raw('a')
      .proposeConfChange({ transition: 'explicit', changes: [{ type: 'addNode', nodeId: 'd' }] })
    network.stabilize()
    expect(network.node('a').confState).toMatchObject({
      voters: ['a', 'b', 'c', 'd'],
      votersOutgoing: ['a', 'b', 'c'],
    })
    // Nothing but leaving is allowed while joint.
    expect(
      isRaftError(
        caught(() => network.raw('a').proposeConfChange(addNode('e'))),
        'proposalDropped',
      ),
    ).toBe(true)
    network.raw('a').proposeConfChange({ transition: 'auto', changes: [] })
    network.stabilize()
    expect(network.node('a').confState).toMatchObject({ voters: ['a', 'b', 'c', 'd'], votersOutgoing: [] })
  })

  it('removing the leader: it hands leadership to a remaining voter, then steps down', () => {
    const network = new Network(['a', 'b', 'c'], { seed: 5 })
    electAndSettle(network, 'a')
    network.recordDelivered = true
    network.raw('a').proposeConfChange({ transition: 'auto', changes: [{ type: 'removeNode', nodeId: 'a' }] })
    network.stabilize()
    // Handover: the most up-to-date voter got TimeoutNow and was elected without waiting for a timeout.
    expect(network.delivered.some((m) => m.type === 'timeoutNow' && m.from === 'a')).toBe(true)
    // The old leader steps down on its next heartbeat, answered with the newer term.
    network.tickAll()
    network.stabilize()
    expect(network.raw('a').status().role).toBe('follower')
    const leaders = network.leaders()
    expect(leaders).toHaveLength(1)
    expect(['b', 'c']).toContain(leaders[0])
    const leader = leaders[0] as string
    expect(network.node(leader).confState.voters).toEqual(['b', 'c'])
    network.raw(leader).propose(bytes('after removal'))
    network.stabilize()
    expect(network.appliedData('b')).toEqual(['after removal'])
    expect(network.appliedData('c')).toEqual(['after removal'])
  })

  it.each([
    ['removed', { type: 'removeNode', nodeId: 'a' }],
    ['demoted to learner', { type: 'addLearner', nodeId: 'a' }],
  ] as const)('2 voters, the leader %s: the handover keeps the remaining node live', (_, change) => {
    const network = new Network(['a', 'b'], { seed: 9 })
    electAndSettle(network, 'a')
    network.raw('a').proposeConfChange({ transition: 'auto', changes: [change] })
    network.stabilize()
    network.tickAll()
    network.stabilize()
    expect(network.leaders()).toEqual(['b'])
    expect(network.node('b').confState.voters).toEqual(['b'])
    network.raw('b').propose(bytes('alone'))
    network.stabilize()
    expect(network.appliedData('b')).toEqual(['alone'])
  })

  it('one pending change at a time', () => {
    const network = new Network(['a', 'b', 'c'])
    electAndSettle(network, 'a')
    network.raw('a').proposeConfChange(addNode('d'))
    expect(
      isRaftError(
        caught(() => network.raw('a').proposeConfChange(addNode('e'))),
        'proposalDropped',
      ),
    ).toBe(true)
    network.stabilize()
    // Applied: the next change is accepted.
    network.raw('a').proposeConfChange(addNode('e'))
  })

  it('no change before the new leader applied an entry of its term', () => {
    const network = new Network(['a', 'b', 'c'])
    network.raw('a').campaign()
    // Deliver votes only: a becomes leader but its empty entry is not committed yet.
    for (let i = 0; i < 6 && network.raw('a').status().role !== 'leader'; i++) {
      network.processReadies()
      network.deliverPending((m) => m.type !== 'app')
    }
    expect(network.raw('a').status().role).toBe('leader')
    expect(
      isRaftError(
        caught(() => network.raw('a').proposeConfChange(addNode('d'))),
        'proposalDropped',
      ),
    ).toBe(true)
    network.stabilize()
    network.raw('a').proposeConfChange(addNode('d'))
  })

  it('a learner receives the log but does not count toward the quorum, then is promoted', () => {
    const network = new Network(['a', 'b'])
    electAndSettle(network, 'a')
    joiner(network, 'l', ['a', 'b'], ['l'])
    network.raw('a').proposeConfChange({ transition: 'auto', changes: [{ type: 'addLearner', nodeId: 'l' }] })
    network.stabilize()
    expect(network.node('a').confState).toMatchObject({ voters: ['a', 'b'], learners: ['l'] })
    network.raw('a').propose(bytes('to learner'))
    network.stabilize()
    expect(network.appliedData('l')).toEqual(['to learner'])
    // With b down, the learner's ack does not make a quorum.
    network.isolate('b')
    network.raw('a').propose(bytes('needs b'))
    network.stabilize()
    expect(network.appliedData('a')).toEqual(['to learner'])
    network.heal()
    network.tickAll()
    network.stabilize()
    network.raw('a').proposeConfChange(addNode('l'))
    network.stabilize()
    expect(network.node('l').confState).toMatchObject({ voters: ['a', 'b', 'l'], learners: [] })
    expect(network.appliedData('l')).toEqual(['to learner', 'needs b'])
  })

  it('applying an invalid change (leaving a config that is not joint) throws invalidConfChange', () => {
    const network = new Network(['a', 'b', 'c'])
    electAndSettle(network, 'a')
    const error = caught(() => network.raw('a').applyConfChange({ transition: 'auto', changes: [] }))
    expect(isRaftError(error, 'invalidConfChange')).toBe(true)
  })

  it('a change that cannot apply (removing the last voter) is refused at proposal time', () => {
    const network = new Network(['solo'])
    electAndSettle(network, 'solo')
    const error = caught(() =>
      network
        .raw('solo')
        .proposeConfChange({ transition: 'auto', changes: [{ type: 'removeNode', nodeId: 'solo' }] }),
    )
    expect(isRaftError(error, 'invalidConfChange')).toBe(true)
    // Nothing was appended: the next change is accepted.
    network.raw('solo').proposeConfChange(addNode('b'))
  })

  it('proposing to leave a config that is not joint is dropped', () => {
    const network = new Network(['a', 'b', 'c'])
    electAndSettle(network, 'a')
    const error = caught(() => network.raw('a').proposeConfChange({ transition: 'auto', changes: [] }))
    expect(isRaftError(error, 'proposalDropped')).toBe(true)
  })
})
