import { describe, expect, it } from 'vitest'
import { isRaftError } from '../../src/raft/index'
import { bytes, caught, Network } from './network'

describe('leadership transfer', () => {
  it('hands leadership to an up-to-date follower', () => {
    const network = new Network(['a', 'b', 'c'])
    network.elect('a')
    const term = network.raw('a').status().term
    network.raw('a').transferLeadership('b')
    network.stabilize()
    expect(network.leaders()).toEqual(['b'])
    expect(network.raw('b').status().term).toBe(term + 1)
    expect(network.raw('a').status()).toMatchObject({ role: 'follower', leader: 'b' })
  })

  it('catches a lagging transferee up first, then sends TimeoutNow', () => {
    const network = new Network(['a', 'b', 'c'])
    network.elect('a')
    network.isolate('c')
    for (let i = 0; i < 5; i++) network.raw('a').propose(bytes(`e${i}`))
    network.stabilize()
    network.heal()
    network.recordDelivered = true
    network.raw('a').transferLeadership('c')
    network.stabilize()
    expect(network.leaders()).toEqual(['c'])
    const types = network.delivered.map((m) => m.type)
    expect(types.indexOf('app')).toBeLessThan(types.indexOf('timeoutNow'))
    expect(network.appliedData('c')).toEqual(['e0', 'e1', 'e2', 'e3', 'e4'])
  })

  it('a follower forwards the transfer request to the leader', () => {
    const network = new Network(['a', 'b', 'c'])
    network.elect('a')
    network.raw('c').transferLeadership('c')
    network.stabilize()
    expect(network.leaders()).toEqual(['c'])
  })

  it('proposals are dropped (thrown) while a transfer is in progress, and the transfer aborts after an election timeout', () => {
    const network = new Network(['a', 'b', 'c'])
    network.elect('a')
    network.isolate('c')
    network.raw('a').transferLeadership('c')
    network.stabilize()
    expect(network.raw('a').status().leadTransferee).toBe('c')
    expect(
      isRaftError(
        caught(() => network.raw('a').propose(bytes('x'))),
        'proposalDropped',
      ),
    ).toBe(true)
    for (let i = 0; i < 10; i++) {
      network.tick('a')
      network.stabilize()
    }
    expect(network.raw('a').status()).toMatchObject({ role: 'leader', leadTransferee: '' })
    network.raw('a').propose(bytes('after abort'))
    network.stabilize()
    expect(network.appliedData('b')).toEqual(['after abort'])
  })

  it('a transfer overrides the followers check-quorum lease', () => {
    const network = new Network(['a', 'b', 'c'])
    network.elect('a')
    // Followers heard from a just now, so a plain vote would be ignored; the transfer's is not.
    network.tickAll()
    network.stabilize()
    network.raw('a').transferLeadership('b')
    network.stabilize()
    expect(network.leaders()).toEqual(['b'])
  })
})

describe('ReadIndex', () => {
  it('a fresh leader queues a read until it commits an entry of its term, then answers', () => {
    const network = new Network(['a', 'b', 'c'])
    network.raw('a').campaign()
    for (let i = 0; i < 6 && network.raw('a').status().role !== 'leader'; i++) {
      network.processReadies()
      network.deliverPending((m) => m.type !== 'app')
    }
    expect(network.raw('a').status()).toMatchObject({ role: 'leader', commit: 0 })
    network.raw('a').readIndex(bytes('ctx-1'))
    network.processReadies()
    expect(network.node('a').readStates).toEqual([])
    network.stabilize()
    expect(network.node('a').readStates).toEqual([{ index: 1, requestCtx: bytes('ctx-1') }])
  })

  it('a follower forwards a read to the leader and gets the read index back', () => {
    const network = new Network(['a', 'b', 'c'])
    network.elect('a')
    network.raw('a').propose(bytes('v'))
    network.stabilize()
    const commit = network.raw('a').status().commit
    network.raw('b').readIndex(bytes('from-b'))
    network.stabilize()
    expect(network.node('b').readStates).toEqual([{ index: commit, requestCtx: bytes('from-b') }])
  })

  it('a leader that lost its quorum never answers a read (it must confirm leadership first)', () => {
    const network = new Network(['a', 'b', 'c'])
    network.elect('a')
    network.isolate('b')
    network.isolate('c')
    network.raw('a').readIndex(bytes('stale?'))
    network.stabilize()
    expect(network.node('a').readStates).toEqual([])
  })

  it('a read with no known leader is dropped visibly', () => {
    const network = new Network(['a', 'b', 'c'])
    expect(
      isRaftError(
        caught(() => network.raw('a').readIndex(bytes('x'))),
        'readIndexDropped',
      ),
    ).toBe(true)
  })

  it('a single-node leader answers at once with its commit index', () => {
    const network = new Network(['solo'])
    network.elect('solo')
    network.raw('solo').readIndex(bytes('r'))
    network.stabilize()
    expect(network.node('solo').readStates).toEqual([{ index: 1, requestCtx: bytes('r') }])
  })
})
