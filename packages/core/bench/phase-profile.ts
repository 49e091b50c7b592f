/**
 * CPU profile of one benchmark phase alone: `BENCH_PROFILE=consume` (or `produce`) starts the V8
 * profiler through an inspector session when that phase starts and writes
 * `<phase>.cpuprofile` (or `BENCH_PROFILE_OUT`) when it ends. `node --cpu-prof` profiles the
 * whole run, where the produce phase hides the consume phase's costs.
 */
import { writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'

/** Starts profiling when `phase` is the one asked for; the returned function stops and writes. */
export async function profilePhase(phase: string): Promise<() => Promise<void>> {
  if (process.env.BENCH_PROFILE !== phase) return async () => {}
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 200 })
  await session.post('Profiler.start')
  return async () => {
    const { profile } = await session.post('Profiler.stop')
    const file = process.env.BENCH_PROFILE_OUT ?? `${phase}.cpuprofile`
    await writeFile(file, JSON.stringify(profile))
    session.disconnect()
    console.log(`${phase} profile: ${file}`)
  }
}
