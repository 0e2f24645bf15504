import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AddressSet, canonicalIp } from '../../../src/net/address.js';

test('addresses have one spelling: IPv4 as is, IPv6 in RFC 5952 form, IPv4-mapped as IPv4', () => {
  const cases: Array<[string, string | undefined]> = [
    ['192.0.2.7', '192.0.2.7'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::', '::'],
    ['::1', '::1'],
    ['::ffff:192.0.2.9', '192.0.2.9'],
    ['::FFFF:c000:0209', '192.0.2.9'],
    ['fe80::1%eth0', undefined],
    ['192.0.2.256', undefined],
    ['01.2.3.4', undefined],
    ['1.2.3', undefined],
    ['', undefined],
    ['192.0.2.1/32', undefined],
    [' 192.0.2.1', undefined],
  ];
  for (const [input, want] of cases) assert.equal(canonicalIp(input), want, input);
});

test('CIDR lists match IPv4 and IPv6 and refuse nonsense', () => {
  const s = new AddressSet(['127.0.0.0/8', '10.1.0.0/16', '2001:db8::/32', '192.0.2.5']);
  assert.equal(s.has('127.9.9.9'), true);
  assert.equal(s.has('10.1.200.1'), true);
  assert.equal(s.has('10.2.0.1'), false);
  assert.equal(s.has('2001:db8:ffff::1'), true);
  assert.equal(s.has('2001:db9::1'), false);
  assert.equal(s.has('192.0.2.5'), true);
  assert.equal(s.has('192.0.2.6'), false);
  for (const bad of ['10.0.0.0/33', 'x/8', '::/129', '10.0.0.0/a']) assert.throws(() => new AddressSet([bad]), /CIDR|prefix/);
});

test('IPv4 blocks at their edges, the whole space, and a block given off its boundary', () => {
  const s = new AddressSet(['10.1.0.0/16', '172.16.5.77/12', '255.255.255.255']);
  assert.equal(s.has('10.1.0.0'), true);
  assert.equal(s.has('10.1.255.255'), true);
  assert.equal(s.has('10.0.255.255'), false);
  assert.equal(s.has('10.2.0.0'), false);
  assert.equal(s.has('172.16.0.0'), true, 'the host bits of 172.16.5.77/12 are ignored');
  assert.equal(s.has('172.31.255.255'), true);
  assert.equal(s.has('172.32.0.0'), false);
  assert.equal(s.has('255.255.255.255'), true);
  assert.equal(s.has('255.255.255.254'), false);
  const all = new AddressSet(['0.0.0.0/0']);
  for (const ip of ['0.0.0.0', '1.2.3.4', '255.255.255.255']) assert.equal(all.has(ip), true, ip);
  assert.equal(all.has('::1'), false, 'an IPv4 block holds no IPv6 address');
  assert.equal(new AddressSet(['::/0']).has('1.2.3.4'), false);
});
