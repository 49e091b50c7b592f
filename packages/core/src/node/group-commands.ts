import { deadLetterRecord } from '../broker/dead-letter'
import type { DeadLetter, Dispatcher } from '../broker/dispatcher'
import type { DeliveryPartition } from './group-delivery'
import type { WireRecord } from './protocol'

export interface GroupCommandsOptions {
  host: DeliveryPartition
  produceDeadLetter: (topic: string, record: WireRecord) => Promise<void>
  /** The partition's dispatchers by group name, as they are at the moment of a flush. */
  dispatchers: () => Iterable<[string, Dispatcher]>
}

/**
 * Turns what a partition's dispatchers decided into Raft proposals, on the leader: acks,
 * redelivery counts and dropped dead letters (`takeCommands`), and dead letters forwarded to
 * their topic then confirmed with `deadLettered`. A flush runs once per microtask turn however
 * many members settled in it, and each group keeps one proposal in flight: acks arriving
 * meanwhile wait in its dispatcher and go out together in the next, so a busy group writes a
 * few large ack entries, not one per settle request.
 */
export class GroupCommands {
  readonly #options: GroupCommandsOptions
  /** Commands proposed per dispatcher and not yet applied (or failed). */
  readonly #proposing = new WeakMap<Dispatcher, number>()
  #scheduled = false
  #stopped = false

  constructor(options: GroupCommandsOptions) {
    this.#options = options
  }

  /** Flushes soon: after the current synchronous work, so settles arriving together share it. */
  schedule(): void {
    if (this.#scheduled || this.#stopped) return
    this.#scheduled = true
    queueMicrotask(() => {
      this.#scheduled = false
      this.#flush()
    })
  }

  stop(): void {
    this.#stopped = true
  }

  #flush(): void {
    if (this.#stopped || !this.#options.host.group.isLeader) return
    for (const [name, dispatcher] of this.#options.dispatchers()) {
      if ((this.#proposing.get(dispatcher) ?? 0) === 0) this.#propose(dispatcher)
      const deadLetters = dispatcher.takeDeadLetters()
      if (deadLetters.length > 0) void this.#deadLetter(name, deadLetters)
    }
  }

  /**
   * Proposes what the dispatcher accumulated. Bounded: a proposal never waits forever (applied,
   * or failed when leadership is lost), and the dispatcher bounds what accumulates meanwhile.
   */
  #propose(dispatcher: Dispatcher): void {
    const commands = dispatcher.takeCommands()
    if (commands.length === 0) return
    this.#proposing.set(dispatcher, commands.length)
    for (const command of commands) {
      void this.#options.host
        .propose(command)
        .catch(() => {})
        .finally(() => {
          const left = (this.#proposing.get(dispatcher) ?? 1) - 1
          this.#proposing.set(dispatcher, left)
          if (left === 0) this.schedule()
        })
    }
  }

  async #deadLetter(groupName: string, deadLetters: DeadLetter[]): Promise<void> {
    const host = this.#options.host
    const topic = host.stateMachine.group(groupName)?.config.deadLetterTopic ?? null
    const done: number[] = []
    for (const dl of deadLetters) {
      try {
        if (topic !== null) {
          const record = await host.record(dl.offset)
          if (record !== undefined) {
            const source = { topic: host.topic.name, partition: host.partition, group: groupName }
            await this.#options.produceDeadLetter(topic, deadLetterRecord(record, source, dl))
          }
        }
        done.push(dl.offset)
      } catch {
        // Not forwarded: the message stays unacked and comes back after a new leader rebuilds.
      }
    }
    if (done.length > 0)
      await host.propose({ type: 'deadLettered', group: groupName, offsets: done }).catch(() => {})
  }
}
