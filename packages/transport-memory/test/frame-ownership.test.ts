import { type Connection, isLaminarError } from '@laminar-ts/core'
import { describe, expect, it } from 'vitest'
import { MemoryNetwork } from '../src/index'

async function pair(network: MemoryNetwork): Promise<{ client: Connection; received: Uint8Array[] }> {
  const received: Uint8Array[] = []
  await network.transport({ host: 'server' }).listen('svc', (connection) => {
    connection.on('message', (frame) => received.push(frame))
  })
  const client = await network.transport({ host: 'client' }).connect('svc')
  return { client, received }
}

async function delivered(received: Uint8Array[], count: number): Promise<void> {
  for (let i = 0; i < 100 && received.length < count; i++) await new Promise((r) => setImmediate(r))
}

describe('MemoryNetwork frame ownership', () => {
  it('hands the sent frame itself to the receiver by default (a sent frame belongs to the connection)', async () => {
    const network = new MemoryNetwork()
    const { client, received } = await pair(network)
    const frame = Uint8Array.of(1, 2, 3)
    client.send(frame)
    await delivered(received, 1)
    expect(received[0]).toBe(frame)
    client.close()
  })

  it('with copyFrames, a sender reusing its buffer right after send does not change what arrives', async () => {
    const network = new MemoryNetwork({ copyFrames: true })
    const { client, received } = await pair(network)
    const scratch = new Uint8Array(3)
    for (const value of [1, 2, 3]) {
      scratch.fill(value)
      client.send(scratch)
    }
    scratch.fill(0xee)
    await delivered(received, 3)
    expect(received.map((frame) => [...frame])).toEqual([
      [1, 1, 1],
      [2, 2, 2],
      [3, 3, 3],
    ])
    client.close()
  })

  it('refuses listen and connect through a transport made before its host crashed', async () => {
    const network = new MemoryNetwork()
    const old = network.transport({ host: 'n1' })
    network.crashHost('n1')
    const restarted = network.transport({ host: 'n1' })
    // The crashed incarnation, finishing a start cut short, must not take the address...
    const refused = await old.listen('n1', () => {}).catch((error: unknown) => error)
    expect(isLaminarError(refused, 'CONNECTION_CLOSED')).toBe(true)
    const dial = await old.connect('n1').catch((error: unknown) => error)
    expect(isLaminarError(dial, 'CONNECTION_CLOSED')).toBe(true)
    // ...which the restarted incarnation gets.
    const listener = await restarted.listen('n1', () => {})
    expect(network.addresses()).toEqual(['n1'])
    await listener.close()
  })
})
