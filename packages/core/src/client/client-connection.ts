import { LaminarError } from '../errors/laminar-error'
import {
  type ClientRequest,
  decodeFrame,
  encodeFrame,
  FRAME_BYTES_MAX_DEFAULT,
  fromWireError,
  PROTOCOL_VERSION,
} from '../node/protocol'
import type { Clock, TimerHandle } from '../ports/clock'
import type { Connection, Transport } from '../ports/transport'

export interface ClientConnectionOptions {
  transport: Transport
  clock: Clock
  address: string
  clientId: string
  token: string
  /** Requests awaiting an answer on this connection; more are refused with BUFFER_FULL. */
  inFlightMax: number
  frameBytesMax?: number
}

interface PendingRequest {
  resolve: (result: unknown) => void
  reject: (error: unknown) => void
  timer: TimerHandle
}

/**
 * One client connection to one node: a hello frame, then requests matched to responses by a
 * correlation id, many in flight at once (pipelining) up to `inFlightMax`.
 */
export class ClientConnection {
  readonly address: string
  readonly #options: ClientConnectionOptions
  readonly #pending = new Map<number, PendingRequest>()
  #connection: Connection | undefined
  #opening: Promise<Connection> | undefined
  #nextId = 1
  #closed = false

  constructor(options: ClientConnectionOptions) {
    this.#options = options
    this.address = options.address
  }

  get closed(): boolean {
    return this.#closed
  }

  get inFlight(): number {
    return this.#pending.size
  }

  async #open(): Promise<Connection> {
    if (this.#connection !== undefined && !this.#connection.closed) return this.#connection
    if (this.#closed) throw new LaminarError('CONNECTION_CLOSED', `connection to ${this.address} closed`)
    if (this.#opening === undefined) {
      this.#opening = this.#options.transport.connect(this.address).then(
        (connection) => {
          this.#opening = undefined
          connection.on('message', (frame) => this.#onFrame(frame))
          connection.on('close', () => this.#onClose(connection))
          connection.send(
            encodeFrame({
              kind: 'hello',
              version: PROTOCOL_VERSION,
              role: 'client',
              nodeId: this.#options.clientId,
              token: this.#options.token,
            }),
          )
          this.#connection = connection
          return connection
        },
        (error) => {
          this.#opening = undefined
          throw error instanceof LaminarError
            ? error
            : new LaminarError('CONNECTION_CLOSED', `cannot connect to ${this.address}`, { cause: error })
        },
      )
    }
    return this.#opening
  }

  /** Sends one request; resolves with its result or rejects with the node's LaminarError. */
  async request(request: ClientRequest, timeoutMs: number): Promise<unknown> {
    if (this.#pending.size >= this.#options.inFlightMax) {
      throw new LaminarError('BUFFER_FULL', `${this.#options.inFlightMax} requests already in flight`, {
        details: { inFlightMax: this.#options.inFlightMax, address: this.address },
      })
    }
    const connection = await this.#open()
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      const timer = this.#options.clock.setTimer(() => {
        if (!this.#pending.delete(id)) return
        reject(
          new LaminarError('TIMEOUT', `${request.op} to ${this.address} timed out after ${timeoutMs} ms`, {
            details: { op: request.op, timeoutMs },
          }),
        )
      }, timeoutMs)
      this.#pending.set(id, { resolve, reject, timer })
      connection.send(encodeFrame({ kind: 'request', id, request }))
      if (connection.closed) this.#onClose(connection)
    })
  }

  #onFrame(bytes: Uint8Array): void {
    let frame: ReturnType<typeof decodeFrame>
    try {
      frame = decodeFrame(bytes, this.#options.frameBytesMax ?? FRAME_BYTES_MAX_DEFAULT)
    } catch {
      this.#connection?.close()
      return
    }
    if (frame.kind !== 'response') return
    if (frame.id === 0 && !frame.ok) {
      // Connection-level refusal (bad handshake): every request on it fails the same way.
      this.#failAll(fromWireError(frame.error))
      return
    }
    const pending = this.#pending.get(frame.id)
    if (pending === undefined) return
    this.#pending.delete(frame.id)
    this.#options.clock.clearTimer(pending.timer)
    if (frame.ok) pending.resolve(frame.result)
    else pending.reject(fromWireError(frame.error))
  }

  #onClose(connection: Connection): void {
    if (this.#connection === connection) this.#connection = undefined
    this.#failAll(new LaminarError('CONNECTION_CLOSED', `connection to ${this.address} closed`))
  }

  #failAll(error: LaminarError): void {
    const pending = [...this.#pending.values()]
    this.#pending.clear()
    for (const p of pending) {
      this.#options.clock.clearTimer(p.timer)
      p.reject(error)
    }
  }

  close(): void {
    this.#closed = true
    this.#connection?.close()
    this.#connection = undefined
    this.#failAll(new LaminarError('CONNECTION_CLOSED', `connection to ${this.address} closed by the client`))
  }
}
