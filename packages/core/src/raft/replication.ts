/**
 * What a leader sends: appends (flow-controlled by Progress), snapshots, heartbeats, TimeoutNow
 * and ReadIndex answers (etcd-io/raft raft.go, the send* and bcast* functions).
 */
import { newMessage } from './message'
import type { Progress } from './progress'
import type { Raft } from './raft'
import { type Message, NONE, type NodeId, RaftLogError } from './types'

/** Sends an append to `to`, even an empty one (it carries the commit index). */
export function sendAppend(raft: Raft, to: NodeId): void {
  maybeSendAppend(raft, to, true)
}

/**
 * Sends an append with the entries from progress.next on, if the progress is not paused.
 * Returns true when a message was sent. Never throws for entries the host has not loaded
 * ('temporarilyUnavailable'): it sends nothing and the next heartbeat response retries.
 */
export function maybeSendAppend(raft: Raft, to: NodeId, sendIfEmpty: boolean): boolean {
  const progress = raft.tracker.progress.get(to)
  if (progress === undefined || progress.isPaused()) return false
  const log = raft.raftLog
  const prevIndex = progress.next - 1
  const prevTerm = log.term(prevIndex)
  // The entry before next was compacted: only a snapshot can catch this follower up.
  if (prevTerm === undefined) return maybeSendSnapshot(raft, to, progress)
  let entries: Message['entries']
  try {
    entries =
      progress.state === 'replicate' && progress.inflights.full()
        ? []
        : log.entries(progress.next, raft.maxMsgBytes)
  } catch (error) {
    if (error instanceof RaftLogError) {
      if (error.kind === 'compacted') return maybeSendSnapshot(raft, to, progress)
      if (error.kind === 'temporarilyUnavailable') return false
    }
    throw error
  }
  if (entries.length === 0 && !sendIfEmpty) return false
  const message = newMessage('app', to, NONE, 0)
  message.index = prevIndex
  message.logTerm = prevTerm
  message.entries = entries
  message.commit = log.committed
  raft.send(message)
  progress.sentEntries(entries.length)
  if (progress.sentCommit < log.committed) progress.sentCommit = log.committed
  return true
}

/** Sends the latest snapshot to a follower that is behind the first index, if it is active. */
function maybeSendSnapshot(raft: Raft, to: NodeId, progress: Progress): boolean {
  // Snapshots are expensive: do not send one to a follower we have not heard from lately.
  if (!progress.recentActive) return false
  let snapshot: ReturnType<Raft['raftLog']['snapshot']>
  try {
    snapshot = raft.raftLog.snapshot()
  } catch (error) {
    if (error instanceof RaftLogError && error.kind === 'snapshotTemporarilyUnavailable') return false
    throw error
  }
  if (snapshot.metadata.index === 0) return false
  progress.becomeSnapshot(snapshot.metadata.index)
  const message = newMessage('snap', to, NONE, 0)
  message.snapshot = snapshot
  raft.send(message)
  return true
}

/** Sends appends (possibly empty, to carry the commit index) to every peer. */
export function bcastAppend(raft: Raft): void {
  for (const id of raft.tracker.progress.keys()) {
    if (id !== raft.id) maybeSendAppend(raft, id, true)
  }
}

/** Sends a heartbeat to every peer; `context` ties the acks to a ReadIndex request. */
export function bcastHeartbeat(raft: Raft, context?: Uint8Array): void {
  const heartbeatContext = context ?? raft.readOnly.lastPendingRequestContext()
  for (const [id, progress] of raft.tracker.progress) {
    if (id === raft.id) continue
    const message = newMessage('heartbeat', id, NONE, 0)
    // Never beyond what the follower has: it cannot commit entries it lacks (they may differ).
    message.commit = Math.min(progress.match, raft.raftLog.committed)
    message.context = heartbeatContext
    raft.send(message)
  }
}

/** Tells `to` to campaign at once (the last step of a leadership transfer). */
export function sendTimeoutNow(raft: Raft, to: NodeId): void {
  raft.send(newMessage('timeoutNow', to, NONE, 0))
}

/**
 * Answers a ReadIndex request at `readIndex`: a local request becomes a ReadState, a forwarded
 * one a readIndexResp. Returns undefined for local ones.
 */
function respondToReadIndex(raft: Raft, request: Message, readIndex: number): void {
  if (request.from === NONE || request.from === raft.id) {
    raft.readStates.push({ index: readIndex, requestCtx: request.context ?? new Uint8Array(0) })
    return
  }
  const response = newMessage('readIndexResp', request.from, NONE, 0)
  response.index = readIndex
  response.context = request.context
  raft.send(response)
}

/** Starts confirming leadership for a ReadIndex request (ReadOnlySafe), or answers a singleton at once. */
export function startReadIndex(raft: Raft, request: Message): boolean {
  if (raft.tracker.isSingleton()) {
    respondToReadIndex(raft, request, raft.raftLog.committed)
    return true
  }
  if (!raft.readOnly.addRequest(raft.raftLog.committed, request)) return false
  raft.readOnly.recvAck(raft.id, request.context)
  bcastHeartbeat(raft, request.context)
  return true
}

/** Handles a heartbeat ack carrying a ReadIndex context: answers every request a quorum confirmed. */
export function ackReadIndex(raft: Raft, from: NodeId, context: Uint8Array | undefined): void {
  if (context === undefined || context.byteLength === 0) return
  const acks = raft.readOnly.recvAck(from, context)
  if (acks === undefined || raft.tracker.tallyAcks(acks) !== 'won') return
  for (const status of raft.readOnly.advance(context)) respondToReadIndex(raft, status.request, status.index)
}

/** Once this leader committed an entry of its term, answers the ReadIndex requests that waited for it. */
export function releasePendingReadIndexMessages(raft: Raft): void {
  if (raft.pendingReadIndexMessages.length === 0 || !raft.committedEntryInCurrentTerm()) return
  const pending = raft.pendingReadIndexMessages
  raft.pendingReadIndexMessages = []
  // Each was admitted within PENDING_READ_INDEX_MAX; the read-only queue has the same bound, so a
  // full queue drops the remainder (the requester times out and retries, as with a lost message).
  for (const request of pending) startReadIndex(raft, request)
}
