import { type Connection, isLaminarError } from '@laminar-ts/core'
import { describe, expect, it } from 'vitest'
import { type MemoryTransport, Simulation } from '../src/index'

/** A simulation with idle processes: the tests drive its network directly on virtual time. */
function world(seed = 1) {
  const sim = new Simulation({ seed, nodes: 3, process: () => ({ start: async () => {} }) })
  const transports = new Map<string, MemoryTransport>()
  const transport = (host: string): MemoryTransport => {
    let found = transports.get(host)
    if (found === undefined) transports.set(host, (found = sim.network.transport({ host })))
    return found
  }
  return { sim, transport }
}

async function pair(w: ReturnType<typeof world>, from: string, to: string) {
  let server: Connection | undefined
  const received: number[] = []
  await w.transport(to).listen(`${to}:svc`, (connection) => {
    server = connection
    connection.on('message', (frame) => received.push(frame[0]!))
  })
  let client: Connection | undefined
  void w
    .transport(from)
    .connect(`${to}:svc`)
    .then((connection) => {
      client = connection
    })
  await w.sim.runFor(100)
  expect(client).toBeDefined()
  return { client: client!, server: () => server!, received }
}

const frame = (value: number) => Uint8Array.of(value)

describe('simulated network faults', () => {
  it('keeps per-connection FIFO order under random delays when nothing reorders', async () => {
    const w = world()
    w.sim.setLinkFaults({ delayMsMin: 1, delayMsMax: 50 })
    const { client, received } = await pair(w, 'n1', 'n2')
    for (let i = 0; i < 100; i++) client.send(frame(i))
    await w.sim.runFor(1_000)
    expect(received).toEqual(Array.from({ length: 100 }, (_, i) => i))
  })

  it('drops every frame at drop rate 1, and delivers again when the rate is back to 0', async () => {
    const w = world()
    const { client, received } = await pair(w, 'n1', 'n2')
    w.sim.setLinkFaults({ dropRate: 1 })
    for (let i = 0; i < 20; i++) client.send(frame(i))
    await w.sim.runFor(500)
    expect(received).toEqual([])
    w.sim.setLinkFaults({ dropRate: 0 })
    client.send(frame(99))
    await w.sim.runFor(500)
    expect(received).toEqual([99])
  })

  it('duplicates frames at duplicate rate 1', async () => {
    const w = world()
    const { client, received } = await pair(w, 'n1', 'n2')
    w.sim.setLinkFaults({ duplicateRate: 1 })
    for (let i = 0; i < 10; i++) client.send(frame(i))
    await w.sim.runFor(500)
    expect(received).toHaveLength(20)
    expect([...new Set(received)].sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i))
  })

  it('reorders frames when the reorder rate is on', async () => {
    const w = world(3)
    const { client, received } = await pair(w, 'n1', 'n2')
    w.sim.setLinkFaults({ reorderRate: 1, delayMsMin: 1, delayMsMax: 40 })
    for (let i = 0; i < 50; i++) client.send(frame(i))
    await w.sim.runFor(1_000)
    expect([...received].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i))
    expect(received).not.toEqual([...received].sort((a, b) => a - b))
  })

  it('a partition drops frames both ways and refuses connects; heal restores both', async () => {
    const w = world()
    const { client, server, received } = await pair(w, 'n1', 'n2')
    const back: number[] = []
    client.on('message', (f) => back.push(f[0]!))
    w.sim.partition(['n1'], ['n2', 'n3'])
    client.send(frame(1))
    server().send(frame(2))
    let refused: unknown
    w.transport('n1')
      .connect('n2:svc')
      .catch((error: unknown) => {
        refused = error
      })
    await w.sim.runFor(500)
    expect(received).toEqual([])
    expect(back).toEqual([])
    expect(isLaminarError(refused, 'CONNECTION_CLOSED')).toBe(true)
    w.sim.heal()
    client.send(frame(3))
    await w.sim.runFor(500)
    expect(received).toEqual([3])
  })

  it('a one-way cut loses one direction only', async () => {
    const w = world()
    const { client, server, received } = await pair(w, 'n1', 'n2')
    const back: number[] = []
    client.on('message', (f) => back.push(f[0]!))
    w.sim.oneWay('n1', 'n2')
    client.send(frame(1))
    server().send(frame(2))
    await w.sim.runFor(500)
    expect(received).toEqual([])
    expect(back).toEqual([2])
  })

  it('a bridge node talks to both sides that cannot talk to each other', () => {
    const w = world()
    w.sim.bridge(['n1'], ['n3'], 'n2')
    expect(w.sim.links.isCut('n1', 'n3')).toBe(true)
    expect(w.sim.links.isCut('n3', 'n1')).toBe(true)
    expect(w.sim.links.isCut('n1', 'n2')).toBe(false)
    expect(w.sim.links.isCut('n2', 'n3')).toBe(false)
  })

  it('holds deliveries to a paused host and releases them in order on resume', async () => {
    const w = world()
    const { client, received } = await pair(w, 'n1', 'n2')
    w.sim.network.pauseHost('n2')
    for (let i = 0; i < 5; i++) client.send(frame(i))
    await w.sim.runFor(1_000)
    expect(received).toEqual([])
    expect(client.bufferedBytes).toBe(5)
    w.sim.network.resumeHost('n2')
    await w.sim.runFor(100)
    expect(received).toEqual([0, 1, 2, 3, 4])
    expect(client.bufferedBytes).toBe(0)
  })

  it('a crashed host resets its peers connections and stops listening', async () => {
    const w = world()
    const { client } = await pair(w, 'n1', 'n2')
    let closeError: Error | undefined
    let closes = 0
    client.on('close', (error) => {
      closes++
      closeError = error
    })
    w.sim.network.crashHost('n2')
    await w.sim.runFor(100)
    expect(closes).toBe(1)
    expect(isLaminarError(closeError, 'CONNECTION_CLOSED')).toBe(true)
    expect(client.send(frame(1))).toBe(false)
    const error = await w
      .transport('n1')
      .connect('n2:svc')
      .catch((caught: unknown) => caught)
    expect(isLaminarError(error, 'CONNECTION_CLOSED')).toBe(true)
  })

  it('reports backpressure while frames are in flight on a slow link, then drains', async () => {
    const sim = new Simulation({ seed: 1, nodes: 2, process: () => ({ start: async () => {} }) })
    sim.setLinkFaults({ delayMsMin: 100, delayMsMax: 100 })
    const network = sim.network
    let server: Connection | undefined
    await network.transport({ host: 'n2' }).listen('svc', (c) => {
      server = c
    })
    let client: Connection | undefined
    void network
      .transport({ host: 'n1' })
      .connect('svc')
      .then((c) => {
        client = c
      })
    await sim.runFor(200)
    expect(server).toBeDefined()
    let drains = 0
    client!.on('drain', () => drains++)
    const big = new Uint8Array(network.highWaterMarkBytes / 2)
    expect(client!.send(big)).toBe(true)
    expect(client!.send(big)).toBe(false)
    await sim.runFor(50)
    expect(drains).toBe(0)
    await sim.runFor(200)
    expect(drains).toBe(1)
    expect(client!.bufferedBytes).toBe(0)
  })
})
