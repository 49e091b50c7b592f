import type { Clock, Connection, Listener } from '@laminar-ts/core'
import { LaminarError, systemClock } from '@laminar-ts/core'
import { type LinkPolicy, perfectLinks } from './link-policy'
import { MemoryConnection } from './memory-connection'
import { MemoryTransport } from './memory-transport'
import { ClockScheduler, type DeliveryScheduler, RealTimeScheduler } from './scheduler'

/** Default per-connection high-water mark: `send` returns false at or above it. */
export const CONNECTION_HIGH_WATER_MARK_BYTES_DEFAULT = 1024 * 1024

/** A bound on frames held for one paused host before the oldest are lost. */
export const HELD_DELIVERIES_MAX = 1_000_000

export interface MemoryNetworkOptions {
  /**
   * Time source for deliveries. Omitted: real time, with zero-delay deliveries batched on the
   * event loop. Given (the Simulation gives its virtual clock): every delivery is a timer on it.
   */
  clock?: Clock
  /** Decides delay, drop, duplicate and reorder per frame. Default: a perfect network. */
  policy?: LinkPolicy
  /** Per-connection buffer bound in bytes; see {@link Connection.send}. */
  highWaterMarkBytes?: number
  /**
   * Copy every frame on send (default false). A sent frame belongs to the connection (the
   * Transport contract), so handing the sender's bytes to the receiver is safe for senders that
   * keep it: LaminarNodes and clients never touch a frame after sending it. Turn it on for a
   * sender that packs every frame into one reused buffer (the simulator's Raft processes do).
   */
  copyFrames?: boolean
}

interface HostState {
  paused: boolean
  /** Deliveries waiting while the host is paused, in arrival order. */
  held: Array<() => void>
  connections: Set<MemoryConnection>
  addresses: Set<string>
}

interface Registration {
  host: string
  onConnection: (connection: Connection) => void
}

/**
 * An in-process network. Every {@link MemoryTransport} created from it can reach the addresses
 * the others listen on. Hosts (named per transport) are the unit of faults: the Simulation
 * pauses, crashes and partitions hosts through the methods marked "simulator hook".
 */
export class MemoryNetwork {
  readonly scheduler: DeliveryScheduler
  /** The link policy; replaceable at any time (the Simulation swaps in its fault model). */
  policy: LinkPolicy
  readonly highWaterMarkBytes: number
  /** See {@link MemoryNetworkOptions.copyFrames}. */
  readonly copyFrames: boolean
  /** Sees every frame handed to `send` on an open connection (the Simulation hashes them into its trace). */
  tap: ((fromHost: string, toHost: string, frame: Uint8Array) => void) | undefined
  readonly #registrations = new Map<string, Registration>()
  readonly #hosts = new Map<string, HostState>()
  /** Bumped by every crash of a host; transports remember the one they were made in. */
  readonly #incarnations = new Map<string, number>()
  #connectionSeq = 0
  #hostSeq = 0

  constructor(options: MemoryNetworkOptions = {}) {
    this.scheduler =
      options.clock === undefined ? new RealTimeScheduler(systemClock) : new ClockScheduler(options.clock)
    this.policy = options.policy ?? perfectLinks
    const highWaterMarkBytes = options.highWaterMarkBytes ?? CONNECTION_HIGH_WATER_MARK_BYTES_DEFAULT
    if (!Number.isInteger(highWaterMarkBytes) || highWaterMarkBytes < 1) {
      throw new LaminarError('INVALID_ARGUMENT', 'highWaterMarkBytes must be a positive integer')
    }
    this.highWaterMarkBytes = highWaterMarkBytes
    this.copyFrames = options.copyFrames ?? false
  }

  /** A transport whose connections and listeners live on `host` (default: a fresh unique host). */
  transport(options: { host?: string } = {}): MemoryTransport {
    const host = options.host ?? `host-${++this.#hostSeq}`
    if (typeof host !== 'string' || host.length === 0) {
      throw new LaminarError('INVALID_ARGUMENT', 'host must be a non-empty string')
    }
    this.#host(host)
    return new MemoryTransport(this, host, this.#incarnations.get(host) ?? 0)
  }

  /**
   * @internal Refuses a transport made before its host crashed: a process cut short by a crash
   * may still finish an `await` (storage, a timer already due) and must not listen or dial as
   * the host's next incarnation (it would take the restarted node's address).
   */
  assertIncarnation(host: string, incarnation: number): void {
    if ((this.#incarnations.get(host) ?? 0) !== incarnation) {
      throw new LaminarError('CONNECTION_CLOSED', `host ${host} crashed: its old transport is closed`, {
        details: { host },
      })
    }
  }

  /** Addresses currently listened on, in listen order. */
  addresses(): string[] {
    return [...this.#registrations.keys()]
  }

  /** @internal Used by MemoryTransport.listen. */
  listen(host: string, address: string, onConnection: (connection: Connection) => void): Listener {
    if (typeof address !== 'string' || address.length === 0) {
      throw new LaminarError('INVALID_ARGUMENT', 'address must be a non-empty string')
    }
    if (typeof onConnection !== 'function') {
      throw new LaminarError('INVALID_ARGUMENT', 'onConnection must be a function')
    }
    if (this.#registrations.has(address)) {
      throw new LaminarError('INVALID_ARGUMENT', `address ${address} is already in use`, {
        details: { address },
      })
    }
    const registration: Registration = { host, onConnection }
    this.#registrations.set(address, registration)
    this.#host(host).addresses.add(address)
    return {
      address,
      close: async () => {
        if (this.#registrations.get(address) === registration) {
          this.#registrations.delete(address)
          this.#hosts.get(host)?.addresses.delete(address)
        }
      },
    }
  }

  /** @internal Used by MemoryTransport.connect. */
  connect(fromHost: string, address: string): Promise<Connection> {
    if (typeof address !== 'string' || address.length === 0) {
      return Promise.reject(new LaminarError('INVALID_ARGUMENT', 'address must be a non-empty string'))
    }
    const registration = this.#registrations.get(address)
    if (registration === undefined) return Promise.reject(unreachable(address))
    const fate = this.policy.connectFate(fromHost, registration.host)
    const fromState = this.#host(fromHost)
    return new Promise<Connection>((resolve, reject) => {
      this.scheduler.schedule(fate.delayMs, () => {
        // The dialling host may have crashed meanwhile: its handshake dies with it.
        if (this.#hosts.get(fromHost) !== fromState) return
        if (fate.refuse || this.#registrations.get(address) !== registration) {
          this.runOnHost(fromHost, () => reject(unreachable(address)))
          return
        }
        const id = ++this.#connectionSeq
        const client = new MemoryConnection(
          this,
          fromHost,
          registration.host,
          address,
          this.highWaterMarkBytes,
        )
        const server = new MemoryConnection(
          this,
          registration.host,
          fromHost,
          `${fromHost}#${id}`,
          this.highWaterMarkBytes,
        )
        client.attach(server)
        server.attach(client)
        fromState.connections.add(client)
        this.#host(registration.host).connections.add(server)
        // Accept first, so the server's listeners are attached before any frame arrives.
        this.runOnHost(registration.host, () => {
          if (!server.closed) registration.onConnection(server)
        })
        this.runOnHost(fromHost, () => resolve(client))
      })
    })
  }

  /** @internal True when `host` exists and is not paused: deliveries to it run at once. */
  isRunning(host: string): boolean {
    const state = this.#hosts.get(host)
    return state !== undefined && !state.paused
  }

  /** @internal Run a delivery on `host` now, or when it resumes if it is paused. */
  runOnHost(host: string, delivery: () => void): void {
    const state = this.#hosts.get(host)
    if (state === undefined) return
    if (!state.paused) {
      delivery()
      return
    }
    if (state.held.length >= HELD_DELIVERIES_MAX) state.held.shift()
    state.held.push(delivery)
  }

  /** @internal A connection end emitted close: stop tracking it. */
  forget(connection: MemoryConnection): void {
    this.#hosts.get(connection.localHost)?.connections.delete(connection)
  }

  /** Simulator hook: hold every delivery to `host` (frames, accepts, closes) until resumed. */
  pauseHost(host: string): void {
    this.#host(host).paused = true
  }

  /** Simulator hook: deliver what was held, in order, then run normally. */
  resumeHost(host: string): void {
    const state = this.#host(host)
    if (!state.paused) return
    state.paused = false
    const held = state.held.splice(0)
    this.scheduler.schedule(0, () => {
      for (const delivery of held) this.runOnHost(host, delivery)
    })
  }

  /**
   * Simulator hook: the process on `host` died. Its listeners disappear, its connections
   * vanish without events on its side and reset on the other, held deliveries are lost.
   * The host can be used again (a restart) through a new transport on the same name.
   */
  crashHost(host: string): void {
    this.#incarnations.set(host, (this.#incarnations.get(host) ?? 0) + 1)
    const state = this.#hosts.get(host)
    if (state === undefined) return
    this.#hosts.delete(host)
    for (const address of state.addresses) {
      if (this.#registrations.get(address)?.host === host) this.#registrations.delete(address)
    }
    for (const connection of state.connections) connection.crash()
    state.held.length = 0
  }

  /** Number of open connection ends on `host` (for tests and status). */
  connectionCount(host: string): number {
    return this.#hosts.get(host)?.connections.size ?? 0
  }

  #host(host: string): HostState {
    let state = this.#hosts.get(host)
    if (state === undefined) {
      state = { paused: false, held: [], connections: new Set(), addresses: new Set() }
      this.#hosts.set(host, state)
    }
    return state
  }
}

function unreachable(address: string): LaminarError {
  return new LaminarError('CONNECTION_CLOSED', `nothing listens at ${address}`, { details: { address } })
}
