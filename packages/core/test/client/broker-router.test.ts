import { describe, expect, it } from 'vitest'
import { Admin } from '../../src/client/admin'
import { BrokerRouter } from '../../src/client/broker-router'
import type { NodeChannel } from '../../src/client/node-channel'
import { LaminarError } from '../../src/index'
import type { ClusterMetadata } from '../../src/node/protocol'
import type { Clock } from '../../src/ports/clock'

/** A clock whose timers fire at once and are counted with their delays. */
function countingClock(): Clock & { sleeps: number[] } {
  const sleeps: number[] = []
  return {
    sleeps,
    now: () => 0,
    setTimer: (callback, delayMs) => {
      sleeps.push(delayMs)
      queueMicrotask(callback)
      return undefined
    },
    clearTimer: () => {},
  }
}

/** Every node answers NOT_LEADER pointing at the next one of `ring`. */
function hintRing(ring: readonly string[]): NodeChannel & { asked: Array<string | undefined> } {
  const asked: Array<string | undefined> = []
  return {
    asked,
    request: async (nodeId) => {
      asked.push(nodeId)
      const here = ring.indexOf(nodeId ?? ring[0]!)
      throw new LaminarError('NOT_LEADER', 'not the leader', { leaderHint: ring[(here + 1) % ring.length] })
    },
    setAddresses: () => {},
    close: () => {},
  }
}

describe('BrokerRouter follows leader hints', () => {
  it('at once to a new node, but backs off when the hints go round a loop', async () => {
    const clock = countingClock()
    const channel = hintRing(['a', 'b'])
    const router = new BrokerRouter({
      channel,
      clock,
      requestTimeoutMs: 1000,
      attemptsMax: 9,
      retryBackoffMs: 10,
    })
    const error = await router.metadata().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LaminarError)
    expect((error as LaminarError).code).toBe('TIMEOUT')
    expect(channel.asked).toHaveLength(9)
    // a -> b and b -> a are each followed once; seeing a hint again pauses, with the pause doubling.
    expect(channel.asked.slice(0, 3)).toEqual([undefined, 'b', 'a'])
    expect(clock.sleeps).toEqual([10, 20, 40])
  })

  it('follows a chain of new hints without pausing', async () => {
    const clock = countingClock()
    const channel = hintRing(['a', 'b', 'c', 'd', 'e'])
    const router = new BrokerRouter({
      channel,
      clock,
      requestTimeoutMs: 1000,
      attemptsMax: 5,
      retryBackoffMs: 10,
    })
    await router.metadata().catch(() => undefined)
    expect(channel.asked).toEqual([undefined, 'b', 'c', 'd', 'e'])
    expect(clock.sleeps).toEqual([])
  })
})

describe('describeTopic after createTopic', () => {
  it('shows the leader createTopic waited for, though the node answering metadata does not know it yet', async () => {
    let created = false
    const metadata = (): ClusterMetadata => ({
      nodes: ['n1', 'n2', 'n3'].map((id) => ({ id, address: id })),
      controllerLeader: 'n1',
      topics: created
        ? [
            {
              name: 't',
              topicId: 1,
              replicationFactor: 3,
              config: {},
              partitions: [
                {
                  partition: 0,
                  replicas: ['n1', 'n2', 'n3'],
                  currentReplicas: ['n1', 'n2', 'n3'],
                  leader: null,
                },
              ],
            },
          ]
        : [],
    })
    const channel: NodeChannel = {
      request: async (_nodeId, request) => {
        if (request.op === 'metadata') return metadata()
        if (request.op === 'createTopic') {
          created = true
          return null
        }
        if (request.op === 'leader') return 'n2'
        throw new Error(`unexpected ${request.op}`)
      },
      setAddresses: () => {},
      close: () => {},
    }
    const router = new BrokerRouter({
      channel,
      clock: countingClock(),
      requestTimeoutMs: 1000,
      attemptsMax: 3,
      retryBackoffMs: 10,
    })
    const admin = new Admin(router)
    await admin.createTopic({ topic: 't', partitions: 1 })
    expect((await admin.describeTopic({ topic: 't' })).partitions[0]!.leader).toBe('n2')
  })
})
