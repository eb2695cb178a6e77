/**
 * Who starts a login, as the login state store counts attempts: the browser's address, grouped the
 * way one user's addresses are.
 */
import { createHash } from 'node:crypto'
import { isIPv4, isIPv6 } from 'node:net'

/** The eight 16-bit groups of an IPv6 address (WHATWG parsing: case, `::` and an IPv4 tail handled). */
function ipv6Groups(address: string): number[] {
  const canonical = new URL(`http://[${address}]`).hostname.slice(1, -1)
  const [head = '', tail] = canonical.split('::')
  const groups = (part: string): number[] => (part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16)))
  const left = groups(head)
  const right = tail === undefined ? [] : groups(tail)
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
}

/**
 * The key a login state store groups a caller's attempts by (`LoginState.caller`): an IPv4 address
 * as it is; an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, as a dual-stack socket reports it) as
 * that IPv4 address; any other IPv6 address by its /64 prefix (`2001:db8:0:1::/64`), the least one
 * subscriber is handed (RFC 6177), so rotating through one's own addresses does not help; anything
 * else (a key of the app's own) as its SHA-256.
 */
export function callerKey(callerAddress: string): string {
  if (isIPv4(callerAddress)) return callerAddress
  const address = callerAddress.split('%')[0] ?? ''
  if (isIPv6(callerAddress) && URL.canParse(`http://[${address}]`)) {
    const groups = ipv6Groups(address)
    if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
      const [high = 0, low = 0] = groups.slice(6)
      return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.')
    }
    return `${groups.slice(0, 4).map((group) => group.toString(16)).join(':')}::/64`
  }
  return `#${createHash('sha256').update(callerAddress).digest('base64url')}`
}
