import { describe, expect, it } from 'vitest'
import { isLaminarError } from '../errors/laminar-error'
import type { Connection, Listener, Transport } from '../ports/transport'

/** What a transport adapter hands the compliance suite for one test. */
export interface TransportSuiteHarness {
  /** The transport that listens. */
  server: Transport
  /** The transport that connects (may be the same object as `server`). */
  client: Transport
  /** An address `server` can listen on; the suite connects to the Listener's `address`. */
  listenAddress(): string
  /** An address nothing listens on. */
  unreachableAddress: string
  /** Release everything the harness opened (called after each test). */
  close?(): Promise<void>
}

export interface TransportSuiteOptions {
  /** Name shown in the test report, e.g. 'MemoryTransport'. */
  name: string
  /** A fresh harness per test. */
  factory: () => TransportSuiteHarness | Promise<TransportSuiteHarness>
  /**
   * Bytes the suite may queue before it expects `send` to report backpressure; sending stops
   * there if `send` never returned false, and the test fails. Default 64 MiB.
   */
  backpressureBytesMax?: number
}

/**
 * The Transport compliance suite: every adapter runs it with its own factory.
 *
 * ```ts
 * transportComplianceSuite({ name: 'MemoryTransport', factory: () => { ... } })
 * ```
 */
export function transportComplianceSuite(options: TransportSuiteOptions): void {
  const backpressureBytesMax = options.backpressureBytesMax ?? 64 * 1024 * 1024

  async function withHarness(body: (harness: TransportSuiteHarness) => Promise<void>): Promise<void> {
    const harness = await options.factory()
    try {
      await body(harness)
    } finally {
      await harness.close?.()
    }
  }

  describe(`Transport compliance: ${options.name}`, () => {
    it('delivers frames in order in both directions', () =>
      withHarness(async (harness) => {
        const { listener, client, server } = await connectPair(harness)
        const toServer = collect(server)
        const toClient = collect(client)
        const count = 200
        for (let i = 0; i < count; i++) client.send(frameOf(i, 1 + (i % 50)))
        await toServer.waitFor(count)
        for (let i = 0; i < count; i++) server.send(frameOf(i + 1000, 3))
        await toClient.waitFor(count)
        expect(toServer.frames.map(frameIndex)).toEqual(range(0, count))
        expect(toClient.frames.map(frameIndex)).toEqual(range(1000, 1000 + count))
        expect(toServer.frames[7]!.byteLength).toBe(4 + 1 + 7)
        client.close()
        await listener.close()
      }))

    it('delivers frames intact, views into a larger buffer included', () =>
      withHarness(async (harness) => {
        const { listener, client, server } = await connectPair(harness)
        const received = collect(server)
        const sizes = [1, 7, 1000, 65_536, 300_000]
        // A sent frame belongs to the connection (see Connection.send): the sender leaves it alone.
        const sent = sizes.map((size, i) => {
          const backing = patterned(size + 16, i)
          return backing.subarray(8, 8 + size)
        })
        const originals = sent.map((frame) => frame.slice())
        for (const frame of sent) client.send(frame)
        await received.waitFor(sizes.length)
        for (let i = 0; i < sizes.length; i++) {
          // A byte loop: deep equality on large arrays is slow in the assertion library.
          expect(received.frames[i]!.byteLength).toBe(sizes[i])
          expect(bytesEqual(received.frames[i]!, originals[i]!)).toBe(true)
        }
        client.close()
        await listener.close()
      }))

    it('emits close once on both ends when the client closes, and send then returns false', () =>
      withHarness(async (harness) => {
        const { listener, client, server } = await connectPair(harness)
        const clientCloses = countCloses(client)
        const serverCloses = countCloses(server)
        client.close()
        client.close()
        expect(client.closed).toBe(true)
        await Promise.all([clientCloses.first, serverCloses.first])
        expect(server.closed).toBe(true)
        expect(client.send(frameOf(1, 1))).toBe(false)
        expect(server.send(frameOf(2, 1))).toBe(false)
        await settle(harness)
        expect(clientCloses.count()).toBe(1)
        expect(serverCloses.count()).toBe(1)
        await listener.close()
      }))

    it('emits close once on both ends when the server closes', () =>
      withHarness(async (harness) => {
        const { listener, client, server } = await connectPair(harness)
        const clientCloses = countCloses(client)
        const serverCloses = countCloses(server)
        server.close()
        await Promise.all([clientCloses.first, serverCloses.first])
        expect(client.closed).toBe(true)
        expect(client.send(frameOf(1, 1))).toBe(false)
        await settle(harness)
        expect(clientCloses.count()).toBe(1)
        expect(serverCloses.count()).toBe(1)
        await listener.close()
      }))

    it('delivers frames sent before close, and no message after close', () =>
      withHarness(async (harness) => {
        const { listener, client, server } = await connectPair(harness)
        const received = collect(server)
        let messagesAfterClose = 0
        let serverClosed = false
        server.on('message', () => {
          if (serverClosed) messagesAfterClose++
        })
        const closed = new Promise<void>((resolve) =>
          server.on('close', () => {
            serverClosed = true
            resolve()
          }),
        )
        for (let i = 0; i < 20; i++) client.send(frameOf(i, 10))
        client.close()
        await closed
        expect(received.frames.map(frameIndex)).toEqual(range(0, 20))
        await settle(harness)
        expect(messagesAfterClose).toBe(0)
        await listener.close()
      }))

    it('rejects a connect to an address nothing listens on with CONNECTION_CLOSED', () =>
      withHarness(async (harness) => {
        const error = await harness.client.connect(harness.unreachableAddress).then(
          () => undefined,
          (caught: unknown) => caught,
        )
        expect(isLaminarError(error, 'CONNECTION_CLOSED')).toBe(true)
      }))

    it('rejects a connect after the listener closed, and keeps existing connections', () =>
      withHarness(async (harness) => {
        const { listener, client, server } = await connectPair(harness)
        await listener.close()
        const error = await harness.client.connect(listener.address).then(
          (connection) => {
            connection.close()
            return undefined
          },
          (caught: unknown) => caught,
        )
        expect(isLaminarError(error, 'CONNECTION_CLOSED')).toBe(true)
        const received = collect(server)
        client.send(frameOf(5, 5))
        await received.waitFor(1)
        expect(frameIndex(received.frames[0]!)).toBe(5)
        client.close()
      }))

    it('reports backpressure above the high-water mark and emits drain once flushed', () =>
      withHarness(async (harness) => {
        const { listener, client, server } = await connectPair(harness)
        const received = collect(server)
        const frameBytes = 64 * 1024
        let sent = 0
        let accepted = true
        while (accepted && sent * frameBytes < backpressureBytesMax) {
          accepted = client.send(frameOf(sent, frameBytes - 4))
          sent++
        }
        expect(accepted).toBe(false)
        expect(client.bufferedBytes).toBeGreaterThan(0)
        await new Promise<void>((resolve) => client.on('drain', resolve))
        expect(client.send(frameOf(sent, 4))).toBe(true)
        await received.waitFor(sent + 1)
        expect(received.frames.map(frameIndex)).toEqual(range(0, sent + 1))
        client.close()
        await listener.close()
      }))

    it('serves many connections at once', () =>
      withHarness(async (harness) => {
        const listener = await harness.server.listen(harness.listenAddress(), (connection) => {
          connection.on('message', (frame) => connection.send(frame))
        })
        const clientCount = 25
        const framesEach = 8
        const clients = await Promise.all(
          range(0, clientCount).map(() => harness.client.connect(listener.address)),
        )
        const echoes = clients.map((connection) => collect(connection))
        clients.forEach((connection, c) => {
          for (let i = 0; i < framesEach; i++) connection.send(frameOf(c * 100 + i, c))
        })
        await Promise.all(echoes.map((echo) => echo.waitFor(framesEach)))
        echoes.forEach((echo, c) => {
          expect(echo.frames.map(frameIndex)).toEqual(range(c * 100, c * 100 + framesEach))
        })
        for (const connection of clients) connection.close()
        await listener.close()
      }))
  })
}

interface ConnectedPair {
  listener: Listener
  client: Connection
  server: Connection
}

async function connectPair(harness: TransportSuiteHarness): Promise<ConnectedPair> {
  let acceptServer: (connection: Connection) => void = () => {}
  const accepted = new Promise<Connection>((resolve) => {
    acceptServer = resolve
  })
  const listener = await harness.server.listen(harness.listenAddress(), (connection) =>
    acceptServer(connection),
  )
  const client = await harness.client.connect(listener.address)
  expect(typeof client.remoteAddress).toBe('string')
  const server = await accepted
  expect(server.remoteAddress.length).toBeGreaterThan(0)
  return { listener, client, server }
}

interface Collector {
  frames: Uint8Array[]
  waitFor(count: number): Promise<void>
}

/** Records every frame a connection receives; `waitFor` resolves once `count` have arrived. */
function collect(connection: Connection): Collector {
  const frames: Uint8Array[] = []
  const waiters: Array<{ count: number; resolve: () => void; reject: (error: Error) => void }> = []
  const wake = (): void => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (frames.length >= waiters[i]!.count) waiters.splice(i, 1)[0]!.resolve()
    }
  }
  connection.on('message', (frame) => {
    frames.push(frame)
    wake()
  })
  connection.on('close', () => {
    for (const waiter of waiters.splice(0)) {
      if (frames.length >= waiter.count) waiter.resolve()
      else waiter.reject(new Error(`connection closed after ${frames.length} of ${waiter.count} frames`))
    }
  })
  return {
    frames,
    waitFor: (count) =>
      frames.length >= count
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => waiters.push({ count, resolve, reject })),
  }
}

function countCloses(connection: Connection): { first: Promise<void>; count: () => number } {
  let count = 0
  const first = new Promise<void>((resolve) =>
    connection.on('close', () => {
      count++
      resolve()
    }),
  )
  return { first, count: () => count }
}

/**
 * Let stray events surface before asserting that they did not happen: a fresh connection's
 * round trip goes through the same machinery as any late event would.
 */
async function settle(harness: TransportSuiteHarness): Promise<void> {
  const listener = await harness.server.listen(harness.listenAddress(), (connection) => {
    connection.on('message', (frame) => connection.send(frame))
  })
  const probe = await harness.client.connect(listener.address)
  const echo = collect(probe)
  probe.send(frameOf(0, 1))
  await echo.waitFor(1)
  probe.close()
  await listener.close()
}

/** A frame whose first 4 bytes carry `index` (big-endian) followed by `padBytes` bytes. */
function frameOf(index: number, padBytes: number): Uint8Array {
  const frame = new Uint8Array(4 + padBytes)
  new DataView(frame.buffer).setUint32(0, index)
  return frame
}

function frameIndex(frame: Uint8Array): number {
  return new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0)
}

function patterned(size: number, seed: number): Uint8Array {
  const frame = new Uint8Array(size)
  for (let i = 0; i < size; i++) frame[i] = (i * 31 + seed * 7) & 0xff
  return frame
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i)
}
