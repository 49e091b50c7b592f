import type { Connection, ConnectionEvents } from '@laminar-ts/core'
import { LaminarError } from '@laminar-ts/core'
import type { MemoryNetwork } from './memory-network'

type ListenerMap = { [E in keyof ConnectionEvents]: Array<ConnectionEvents[E]> }

interface QueuedFrame {
  frame: Uint8Array
  deliverAtMs: number
}

/**
 * One end of an in-memory connection. A sent frame belongs to the connection (the Transport
 * contract): the receiver gets the sender's bytes, copied only when the network's `copyFrames`
 * says the sender reuses its buffer. Receivers never write into a frame. Each direction is FIFO (unless the network's policy reorders a frame) and the
 * close signal travels behind the data, like a TCP FIN.
 *
 * Invariants: `bufferedBytes` counts this end's frames accepted by `send` and not yet delivered
 * or dropped by the peer; 'close' is emitted at most once and no 'message' follows it.
 */
export class MemoryConnection implements Connection {
  readonly remoteAddress: string
  /** The host this end lives on. */
  readonly localHost: string
  /** The host of the other end. */
  readonly remoteHost: string
  readonly #network: MemoryNetwork
  readonly #highWaterMarkBytes: number
  #peer: MemoryConnection | undefined
  #closed = false
  #closeEmitted = false
  /** Set when this end's host crashed: frames still in flight from it are lost. */
  #reset = false
  #bufferedBytes = 0
  #needDrain = false
  #drainScheduled = false
  readonly #queue: QueuedFrame[] = []
  #queueHead = 0
  #queueArmed = false
  #lastDeliverAtMs = 0
  #listeners: ListenerMap = { message: [], close: [], drain: [] }

  /** @internal Created in pairs by {@link MemoryNetwork}. */
  constructor(
    network: MemoryNetwork,
    localHost: string,
    remoteHost: string,
    remoteAddress: string,
    highWaterMarkBytes: number,
  ) {
    this.#network = network
    this.localHost = localHost
    this.remoteHost = remoteHost
    this.remoteAddress = remoteAddress
    this.#highWaterMarkBytes = highWaterMarkBytes
  }

  /** @internal */
  attach(peer: MemoryConnection): void {
    this.#peer = peer
  }

  get bufferedBytes(): number {
    return this.#bufferedBytes
  }

  get closed(): boolean {
    return this.#closed
  }

  send(frame: Uint8Array): boolean {
    if (!(frame instanceof Uint8Array)) {
      throw new LaminarError('INVALID_ARGUMENT', 'frame must be a Uint8Array')
    }
    if (this.#closed) return false
    this.#network.tap?.(this.localHost, this.remoteHost, frame)
    const fate = this.#network.policy.frameFate(this.localHost, this.remoteHost, frame.byteLength)
    if (fate.drop) return this.#bufferedBytes < this.#highWaterMarkBytes
    // With copyFrames, a real copy: that sender reuses its buffer at once (Buffer#slice would only be a view).
    const copy = this.#network.copyFrames ? new Uint8Array(frame) : frame
    const bytes = copy.byteLength
    this.#bufferedBytes += bytes
    const scheduler = this.#network.scheduler
    if (fate.reorder) {
      scheduler.schedule(fate.delayMs, () => this.#deliver(copy, bytes))
    } else {
      const deliverAtMs = Math.max(this.#lastDeliverAtMs, scheduler.now() + fate.delayMs)
      this.#lastDeliverAtMs = deliverAtMs
      this.#queue.push({ frame: copy, deliverAtMs })
      this.#armQueue()
    }
    if (fate.duplicateDelayMs !== undefined) {
      // Always a copy: each delivery is the receiver's own frame (Raft's log seals entries in place).
      const duplicate = new Uint8Array(frame)
      scheduler.schedule(fate.delayMs + fate.duplicateDelayMs, () => this.#deliver(duplicate, 0))
    }
    if (this.#bufferedBytes >= this.#highWaterMarkBytes) {
      this.#needDrain = true
      return false
    }
    return true
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    const peer = this.#peer
    const scheduler = this.#network.scheduler
    // The FIN follows the data already sent, so the peer reads everything before 'close'.
    const finDelayMs = Math.max(0, this.#lastDeliverAtMs - scheduler.now())
    if (peer !== undefined) {
      scheduler.schedule(finDelayMs, () =>
        this.#network.runOnHost(this.remoteHost, () => peer.#remoteClosed()),
      )
    }
    scheduler.schedule(0, () => this.#network.runOnHost(this.localHost, () => this.#emitClose(undefined)))
  }

  // Listener lists are copy-on-write: emitting iterates the current array without copying it
  // per frame, and a listener added or removed while emitting takes effect from the next event.
  on<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): this {
    const listeners = this.#listeners as unknown as Record<E, Array<ConnectionEvents[E]>>
    const current: Array<ConnectionEvents[E]> = listeners[event]
    listeners[event] = current.concat([listener])
    return this
  }

  off<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): this {
    const listeners = this.#listeners as unknown as Record<E, Array<ConnectionEvents[E]>>
    const current: Array<ConnectionEvents[E]> = listeners[event]
    const index = current.indexOf(listener)
    if (index >= 0) listeners[event] = current.filter((_, i) => i !== index)
    return this
  }

  /**
   * @internal The host crashed: this end vanishes without events (its process is gone), its
   * frames in flight are lost, and the peer sees a reset.
   */
  crash(): void {
    this.#reset = true
    this.#closed = true
    this.#closeEmitted = true
    this.#listeners.message = []
    this.#listeners.close = []
    this.#listeners.drain = []
    const peer = this.#peer
    if (peer !== undefined) {
      const error = new LaminarError('CONNECTION_CLOSED', `connection reset: host ${this.localHost} is down`)
      this.#network.scheduler.schedule(0, () =>
        this.#network.runOnHost(this.remoteHost, () => peer.#remoteClosed(error)),
      )
    }
  }

  #armQueue(): void {
    if (this.#queueArmed || this.#queueHead >= this.#queue.length) return
    this.#queueArmed = true
    const head = this.#queue[this.#queueHead]!
    const delayMs = Math.max(0, head.deliverAtMs - this.#network.scheduler.now())
    this.#network.scheduler.schedule(delayMs, () => this.#flushQueue())
  }

  #flushQueue(): void {
    this.#queueArmed = false
    const nowMs = this.#network.scheduler.now()
    while (this.#queueHead < this.#queue.length) {
      const head = this.#queue[this.#queueHead]!
      if (head.deliverAtMs > nowMs) break
      this.#queueHead++
      this.#deliver(head.frame, head.frame.byteLength)
    }
    if (this.#queueHead === this.#queue.length) {
      this.#queue.length = 0
      this.#queueHead = 0
    } else if (this.#queueHead > 1024) {
      this.#queue.splice(0, this.#queueHead)
      this.#queueHead = 0
    }
    this.#armQueue()
  }

  /** Hand one frame to the peer's host; `bytes` is what it counted in `bufferedBytes`. */
  #deliver(frame: Uint8Array, bytes: number): void {
    const peer = this.#peer
    if (this.#reset || peer === undefined) return
    if (this.#network.isRunning(this.remoteHost)) {
      this.#arrive(peer, frame, bytes)
      return
    }
    this.#network.runOnHost(this.remoteHost, () => this.#arrive(peer, frame, bytes))
  }

  #arrive(peer: MemoryConnection, frame: Uint8Array, bytes: number): void {
    this.#bufferedBytes -= bytes
    if (this.#needDrain && this.#bufferedBytes < this.#highWaterMarkBytes) this.#scheduleDrain()
    peer.#receive(frame)
  }

  #receive(frame: Uint8Array): void {
    if (this.#closed) return
    for (const listener of this.#listeners.message) listener(frame)
  }

  #scheduleDrain(): void {
    if (this.#drainScheduled) return
    this.#drainScheduled = true
    this.#network.scheduler.schedule(0, () =>
      this.#network.runOnHost(this.localHost, () => {
        this.#drainScheduled = false
        if (this.#closed || !this.#needDrain || this.#bufferedBytes >= this.#highWaterMarkBytes) return
        this.#needDrain = false
        for (const listener of this.#listeners.drain) listener()
      }),
    )
  }

  #remoteClosed(error?: Error): void {
    this.#closed = true
    this.#emitClose(error)
  }

  #emitClose(error: Error | undefined): void {
    if (this.#closeEmitted) return
    this.#closeEmitted = true
    this.#network.forget(this)
    for (const listener of this.#listeners.close) listener(error)
  }
}
