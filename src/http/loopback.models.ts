import { BlockList, isIP } from 'node:net';

// The loopback addresses: 127.0.0.0/8 (RFC 1122 §3.2.1.3) and ::1 (RFC 4291 §2.5.3). Node's BlockList
// also matches an IPv4-mapped IPv6 address (::ffff:127.0.0.1, RFC 4291 §2.5.5.2, what a socket
// listening on :: reports for an IPv4 client) against the IPv4 subnet.
const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/**
 * True when `address` is a loopback address: 127.0.0.0/8, ::1, or an IPv4-mapped ::ffff:127.x.x.x.
 * Meant for a socket's remote address (`req.socket.remoteAddress`), never a header such as
 * X-Forwarded-For, which the sender writes. Anything else is false: other addresses, the unspecified
 * addresses 0.0.0.0 and ::, text that is not an IP address, and undefined (a socket already closed).
 */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const family = isIP(address);
  if (family === 0) return false;
  return loopback.check(address, family === 4 ? 'ipv4' : 'ipv6');
}
