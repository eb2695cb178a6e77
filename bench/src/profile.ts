/** Top self-time functions of a V8 `.cpuprofile` (as written by `node --cpu-prof`). */
import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

export interface SelfTime {
  name: string
  where: string
  ms: number
  percent: number
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/')
  if (nm !== -1) return url.slice(nm + 'node_modules/'.length)
  const pk = url.indexOf('/packages/')
  if (pk !== -1) return url.slice(pk + 1)
  return url.replace(/^file:\/\//, '')
}

/** Self time per function (same name and location merged), most first. */
export function topSelfTime(path: string, limit = 25): { total: number; idle: number; top: SelfTime[]; byPackage: SelfTime[] } {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const selfUs = new Map<number, number>()
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  }
  const merged = new Map<string, { name: string; where: string; us: number }>()
  const packages = new Map<string, number>()
  let total = 0
  let idle = 0
  for (const [id, us] of selfUs) {
    const node = byId.get(id)
    if (node === undefined) continue
    const { functionName, url, lineNumber } = node.callFrame
    const name = functionName || '(anonymous)'
    total += us
    if (name === '(idle)') idle += us
    const where = url === '' ? '' : `${shortUrl(url)}:${lineNumber + 1}`
    const key = `${name}@${where}`
    const entry = merged.get(key) ?? { name, where, us: 0 }
    entry.us += us
    merged.set(key, entry)
    const short = shortUrl(url)
    const pkg =
      url === ''
        ? name.startsWith('(') ? name : '(native/builtin)'
        : url.startsWith('node:')
          ? 'node: internals'
          : short.startsWith('packages/')
            ? short.split('/').slice(0, 2).join('/')
            : short.startsWith('@')
              ? short.split('/').slice(0, 2).join('/')
              : short.split('/')[0] ?? short
    packages.set(pkg, (packages.get(pkg) ?? 0) + us)
  }
  const busy = total - idle
  const top = [...merged.values()]
    .filter((e) => e.name !== '(idle)')
    .sort((a, b) => b.us - a.us)
    .slice(0, limit)
    .map((e) => ({ name: e.name, where: e.where, ms: e.us / 1000, percent: (100 * e.us) / busy }))
  const byPackage = [...packages]
    .filter(([name]) => name !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .map(([name, us]) => ({ name, where: '', ms: us / 1000, percent: (100 * us) / busy }))
  return { total: total / 1000, idle: idle / 1000, top, byPackage }
}
