/**
 * Linearizable reads without a log entry (etcd-io/raft read_only.go, ReadOnlySafe): the leader
 * records its commit index for a request, confirms it is still leader with a heartbeat round
 * carrying the request context, and answers once a quorum acknowledged it.
 */
import type { Message, NodeId } from './types'

/** Bound on ReadIndex requests queued before a new leader commits its first entry. */
export const PENDING_READ_INDEX_MAX = 4096
/** Bound on ReadIndex requests awaiting heartbeat acks. */
export const READ_ONLY_PENDING_MAX = 4096

/** A ReadIndex request awaiting heartbeat acks: the read index and who confirmed it. */
export interface ReadIndexStatus {
  request: Message
  index: number
  acks: Set<NodeId>
}

/** Map key for a request context: the bytes as a latin-1 string (contexts are small). */
export function contextKey(context: Uint8Array | undefined): string {
  if (context === undefined || context.byteLength === 0) return ''
  let key = ''
  for (let i = 0; i < context.byteLength; i++) key += String.fromCharCode(context[i] as number)
  return key
}

/** Pending ReadIndex requests of a leader, bounded by `capacity`. */
export class ReadOnly {
  /** Requests awaiting heartbeat acks, by context key. Invariant: same keys as `queue`. */
  private readonly pending = new Map<string, ReadIndexStatus>()
  /** Context keys in arrival order; a quorum ack for one confirms every earlier one too. */
  private queue: string[] = []
  /** Bound on outstanding requests. */
  readonly capacity: number

  constructor(capacity: number) {
    this.capacity = capacity
  }

  get size(): number {
    return this.queue.length
  }

  /** Records a request at `index`. A duplicate context is ignored. Returns false when full. */
  addRequest(index: number, request: Message): boolean {
    const key = contextKey(request.context)
    if (this.pending.has(key)) return true
    if (this.queue.length >= this.capacity) return false
    this.pending.set(key, { request, index, acks: new Set() })
    this.queue.push(key)
    return true
  }

  /** Records a heartbeat ack for a context; returns who acked it so far, or undefined if unknown. */
  recvAck(id: NodeId, context: Uint8Array | undefined): ReadonlyMap<NodeId, boolean> | undefined {
    const status = this.pending.get(contextKey(context))
    if (!status) return undefined
    status.acks.add(id)
    const votes = new Map<NodeId, boolean>()
    for (const acked of status.acks) votes.set(acked, true)
    return votes
  }

  /** Removes and returns every request up to and including the one with `context`. */
  advance(context: Uint8Array | undefined): ReadIndexStatus[] {
    const key = contextKey(context)
    const position = this.queue.indexOf(key)
    if (position < 0) return []
    const released: ReadIndexStatus[] = []
    for (let i = 0; i <= position; i++) {
      const queued = this.queue[i] as string
      const status = this.pending.get(queued)
      if (status) released.push(status)
      this.pending.delete(queued)
    }
    this.queue = this.queue.slice(position + 1)
    return released
  }

  /** Context of the newest pending request: heartbeats carry it so acks confirm all requests. */
  lastPendingRequestContext(): Uint8Array | undefined {
    const key = this.queue[this.queue.length - 1]
    return key === undefined ? undefined : this.pending.get(key)?.request.context
  }
}
