import type { SimHistory } from '../history'
import type { QueueEvent } from './queue-history'
import { type Checker, VIOLATIONS_PER_CHECKER_MAX, type Violation } from './violation'

type Observation = {
  topic: string
  partition: number
  offset: number
  value: string
  atMs: number
  source: string
}

function collector(checker: string): { add(message: string, atMs?: number): void; list: Violation[] } {
  const list: Violation[] = []
  return {
    list,
    add(message, atMs) {
      if (list.length < VIOLATIONS_PER_CHECKER_MAX) list.push({ checker, message, atMs })
    },
  }
}

/** Every (partition, offset, value) anyone observed: acks, deliveries, reads, final reads. */
function observations(events: readonly QueueEvent[]): Observation[] {
  const result: Observation[] = []
  for (const event of events) {
    if (event.kind === 'send') {
      if (event.outcome === 'ok' && event.offset !== undefined) {
        result.push({
          ...pick(event),
          offset: event.offset,
          value: event.value,
          source: `ack to ${event.client}`,
        })
      }
    } else {
      const source = event.kind === 'final' ? 'final read' : `${event.kind} by ${event.client}`
      for (const record of event.records) result.push({ ...pick(event), ...record, source })
    }
  }
  return result
}

function pick(event: QueueEvent): { topic: string; partition: number; atMs: number } {
  return { topic: event.topic, partition: event.partition, atMs: event.atMs }
}

function slot(topic: string, partition: number, offset?: number): string {
  return offset === undefined ? `${topic}/${partition}` : `${topic}/${partition}@${offset}`
}

/** Lost write: an acknowledged record is not at its offset in the final read of its partition. */
export function checkLostWrites(events: readonly QueueEvent[]): Violation[] {
  const out = collector('lost-write')
  const finals = new Map<string, Map<number, string>>()
  for (const event of events) {
    if (event.kind === 'final') {
      finals.set(slot(event.topic, event.partition), new Map(event.records.map((r) => [r.offset, r.value])))
    }
  }
  for (const event of events) {
    if (event.kind !== 'send' || event.outcome !== 'ok' || event.offset === undefined) continue
    const final = finals.get(slot(event.topic, event.partition))
    if (final === undefined) continue
    const found = final.get(event.offset)
    if (found !== event.value) {
      out.add(
        `${event.value} acknowledged at ${slot(event.topic, event.partition, event.offset)} ` +
          `but the final read has ${found === undefined ? 'nothing' : found} there`,
        event.atMs,
      )
    }
  }
  return out.list
}

/** Duplicate: one value at two offsets. */
export function checkDuplicates(events: readonly QueueEvent[]): Violation[] {
  const out = collector('duplicate')
  const where = new Map<string, string>()
  for (const o of observations(events)) {
    const at = slot(o.topic, o.partition, o.offset)
    const known = where.get(o.value)
    if (known === undefined) where.set(o.value, at)
    else if (known !== at) out.add(`${o.value} seen at ${known} and at ${at} (${o.source})`, o.atMs)
  }
  return out.list
}

/** Inconsistent offsets: two values at one offset. */
export function checkInconsistentOffsets(events: readonly QueueEvent[]): Violation[] {
  const out = collector('inconsistent-offsets')
  const values = new Map<string, string>()
  for (const o of observations(events)) {
    const at = slot(o.topic, o.partition, o.offset)
    const known = values.get(at)
    if (known === undefined) values.set(at, o.value)
    else if (known !== o.value) out.add(`${at} holds ${known} and ${o.value} (${o.source})`, o.atMs)
  }
  return out.list
}

/** Unseen: an acknowledged value never delivered to a group that consumed its topic. */
export function checkUnseen(events: readonly QueueEvent[], groups?: readonly string[]): Violation[] {
  const out = collector('unseen')
  const seenBy = new Map<string, Set<string>>()
  const groupsByTopic = new Map<string, Set<string>>()
  for (const event of events) {
    if (event.kind !== 'poll') continue
    let topicGroups = groupsByTopic.get(event.topic)
    if (topicGroups === undefined) groupsByTopic.set(event.topic, (topicGroups = new Set()))
    topicGroups.add(event.group)
    let seen = seenBy.get(event.group)
    if (seen === undefined) seenBy.set(event.group, (seen = new Set()))
    for (const record of event.records) seen.add(record.value)
  }
  for (const event of events) {
    if (event.kind !== 'send' || event.outcome !== 'ok') continue
    for (const group of groups ?? groupsByTopic.get(event.topic) ?? []) {
      if (!seenBy.get(group)?.has(event.value)) {
        out.add(`${event.value} was acknowledged but never delivered to group ${group}`, event.atMs)
      }
    }
  }
  return out.list
}

/**
 * Non-monotonic or skipping polls: offsets inside one delivery batch strictly increase, and a
 * stream read returns consecutive offsets from where it started.
 */
export function checkPollOrder(events: readonly QueueEvent[]): Violation[] {
  const out = collector('poll-order')
  for (const event of events) {
    if (event.kind === 'poll') {
      for (let i = 1; i < event.records.length; i++) {
        if (event.records[i]!.offset <= event.records[i - 1]!.offset) {
          out.add(
            `${event.client} got ${slot(event.topic, event.partition)} offsets out of order: ` +
              `${event.records[i - 1]!.offset} then ${event.records[i]!.offset}`,
            event.atMs,
          )
          break
        }
      }
    } else if (event.kind === 'read') {
      for (let i = 0; i < event.records.length; i++) {
        if (event.records[i]!.offset !== event.fromOffset + i) {
          out.add(
            `${event.client} read ${slot(event.topic, event.partition)} from ${event.fromOffset} and got offset ` +
              `${event.records[i]!.offset} at position ${i}`,
            event.atMs,
          )
          break
        }
      }
    }
  }
  return out.list
}

/** Seen but failed: a value whose send definitely failed shows up anywhere. */
export function checkSeenButFailed(events: readonly QueueEvent[]): Violation[] {
  const out = collector('seen-but-failed')
  const failed = new Set<string>()
  for (const event of events) if (event.kind === 'send' && event.outcome === 'failed') failed.add(event.value)
  for (const o of observations(events)) {
    if (failed.has(o.value))
      out.add(`${o.value} failed to send but was seen at ${slot(o.topic, o.partition, o.offset)}`)
  }
  return out.list
}

/** Every queue checker over a history's queue section. */
export const checkQueueHistory: Checker = (history: SimHistory) => [
  ...checkLostWrites(history.queue),
  ...checkDuplicates(history.queue),
  ...checkInconsistentOffsets(history.queue),
  ...checkUnseen(history.queue),
  ...checkPollOrder(history.queue),
  ...checkSeenButFailed(history.queue),
]
