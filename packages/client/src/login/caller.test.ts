/** How login attempts are counted per caller (SECURITY 9). */
import { describe, expect, it } from 'vitest'
import { callerKey } from './caller.js'

describe('callerKey', () => {
  it('SECURITY 9: IPv4 as it is; IPv4-mapped IPv6 as IPv4; other IPv6 by /64, so one subscriber counts once', () => {
    expect(callerKey('192.0.2.7')).toBe('192.0.2.7')
    expect(callerKey('::ffff:192.0.2.7')).toBe('192.0.2.7')
    expect(callerKey('::FFFF:c000:0207')).toBe('192.0.2.7')
    expect(callerKey('2001:db8:0:1::1')).toBe('2001:db8:0:1::/64')
    expect(callerKey('2001:0DB8:0000:0001:ffff:ffff:ffff:ffff')).toBe('2001:db8:0:1::/64')
    expect(callerKey('2001:db8::1')).toBe('2001:db8:0:0::/64')
    expect(callerKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
    expect(callerKey('::1')).toBe('0:0:0:0::/64')
    expect(callerKey('64:ff9b::192.0.2.7')).toBe('64:ff9b:0:0::/64')
    expect(callerKey('2001:db8:0:2::1')).not.toBe(callerKey('2001:db8:0:1::1'))
  })

  it('anything else is an opaque key of bounded length', () => {
    const key = callerKey(`unknown${'x'.repeat(5000)}`)
    expect(key).toMatch(/^#[\w-]{43}$/)
    expect(callerKey('unknown')).not.toBe(callerKey('unknown2'))
    expect(callerKey('1.2.3.4:5678')).toMatch(/^#/)
  })
})
