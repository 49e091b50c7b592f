import { describe, expect, it } from 'vitest'
import { isLaminarError, type Message } from '../../src/index'
import { decodeFrame, decodeRaftFrame, encodeFrame, encodeRaftFrame } from '../../src/node/protocol'
import { RAFT_WIRE_VERSION } from '../../src/node/raft-wire'

const bytes = (...values: number[]) => new Uint8Array(values)

function message(overrides: Partial<Message>): Message {
  return {
    type: 'app',
    to: 'n2',
    from: 'n1',
    term: 3,
    logTerm: 2,
    index: 10,
    entries: [],
    commit: 9,
    reject: false,
    rejectHint: 0,
    ...overrides,
  }
}

const groups = new Map<string, Message[]>([
  [
    'p/1/0',
    [
      message({
        entries: [
          { term: 3, index: 11, type: 'normal', data: new Uint8Array(2000).fill(5) },
          { term: 3, index: 12, type: 'confChange', data: bytes(1, 2) },
          { term: 3, index: 13, type: 'normal', data: new Uint8Array(0) },
        ],
      }),
      message({ type: 'appResp', to: 'n1', from: 'n2', reject: true, rejectHint: 7, index: 2 ** 40 }),
    ],
  ],
  [
    'contröller',
    [
      message({ type: 'heartbeat', context: bytes(9, 9) }),
      message({
        type: 'snap',
        snapshot: {
          metadata: {
            index: 100,
            term: 4,
            confState: {
              voters: ['n1', 'n2'],
              votersOutgoing: ['n3'],
              learners: [],
              learnersNext: ['n4'],
              autoLeave: true,
            },
          },
          data: bytes(4, 5, 6),
        },
      }),
    ],
  ],
])

describe('raft wire frames', () => {
  it('round-trip every field, with entry data as views of the frame', () => {
    const frame = encodeRaftFrame(groups)
    const decoded = decodeRaftFrame(frame)
    expect(new Map(decoded)).toEqual(groups)
    const data = decoded[0]![1][0]!.entries[0]!.data
    expect(data.buffer).toBe(frame.buffer)
    // Through the frame codec too: a raft frame is told apart from msgpack frames by its first byte.
    const viaFrame = decodeFrame(encodeFrame({ kind: 'raft', groups: [...groups] }))
    expect(viaFrame.kind).toBe('raft')
    expect(viaFrame.kind === 'raft' && new Map(viaFrame.groups)).toEqual(groups)
    expect(decodeFrame(encodeFrame({ kind: 'welcome', nodeId: 'n1' }))).toEqual({
      kind: 'welcome',
      nodeId: 'n1',
    })
  })

  it('refuses truncated, padded and corrupted frames with INVALID_ARGUMENT, never a crash', () => {
    const frame = encodeRaftFrame(groups)
    const bad: Uint8Array[] = [
      bytes(0),
      bytes(0, RAFT_WIRE_VERSION + 1, 0, 0, 0, 0),
      bytes(0, RAFT_WIRE_VERSION - 1, 0, 0, 0, 0),
      frame.subarray(0, frame.length - 1),
    ]
    const padded = new Uint8Array(frame.length + 1)
    padded.set(frame)
    bad.push(padded)
    // Huge counts must be refused before anything is allocated for them.
    bad.push(bytes(0, RAFT_WIRE_VERSION, 0, 0, 0, 1, 0, 1, 0x67, 0xff, 0xff, 0xff, 0xff))
    for (const b of bad) {
      let error: unknown
      try {
        decodeFrame(b)
      } catch (caught) {
        error = caught
      }
      expect(isLaminarError(error, 'INVALID_ARGUMENT')).toBe(true)
    }
    // Any single flipped byte either decodes or is refused with INVALID_ARGUMENT.
    for (let i = 1; i < 200; i++) {
      const copy = frame.slice()
      copy[i] = copy[i]! ^ 0xff
      try {
        decodeFrame(copy)
      } catch (error) {
        expect(isLaminarError(error, 'INVALID_ARGUMENT')).toBe(true)
      }
    }
  })
})
