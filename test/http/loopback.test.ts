import { describe, expect, it } from 'vitest';
import { isLoopbackAddress } from '../../src/http/loopback.models';

describe('which remote addresses count as this machine (loopback)', () => {
  it.each([
    '127.0.0.1',
    '127.255.255.254',
    '127.0.0.2',
    '::1',
    '0:0:0:0:0:0:0:1',
    '::ffff:127.0.0.1',
    '::ffff:127.1.2.3',
  ])('%s is loopback', (address) => {
    expect(isLoopbackAddress(address)).toBe(true);
  });

  it.each([
    '10.0.0.1',
    '192.168.1.1',
    '128.0.0.1',
    '126.255.255.255',
    '::ffff:10.0.0.1',
    '::ffff:128.0.0.1',
    'fe80::1',
    '::2',
    '0.0.0.0',
    '::',
    'garbage',
    '',
    'localhost',
    '127.1',
    '127.0.0.1 ',
    ' 127.0.0.1',
    '127.0.0.1, 10.0.0.1',
  ])('%j is not loopback', (address) => {
    expect(isLoopbackAddress(address)).toBe(false);
  });

  it('a socket that has no remote address any more (undefined) is not loopback', () => {
    expect(isLoopbackAddress(undefined)).toBe(false);
  });
});
