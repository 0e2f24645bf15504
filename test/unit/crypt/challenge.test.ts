import assert from 'node:assert/strict';
import { test } from 'node:test';
import { challengeKindFor, challengeMatches } from '../../../src/crypt/challenge.js';

const b = (s: string) => Buffer.from(s, 'latin1');

test('APOP (RFC 1939) and CRAM-MD5 (RFC 2195) examples', () => {
  assert.equal(challengeKindFor('pop3'), 'apop');
  assert.equal(challengeKindFor('SMTP'), 'cram-md5');
  assert.equal(challengeKindFor('imap'), undefined);
  const apopTs = b('<1896.697170952@dbc.mtview.ca.us>');
  assert.equal(challengeMatches('apop', apopTs, b('tanstaaf'), b('c4c9334bac560ecc979e58001b3e22fb')), true);
  assert.equal(challengeMatches('apop', apopTs, b('tanstaaf'), b('C4C9334BAC560ECC979E58001B3E22FB')), true);
  assert.equal(challengeMatches('apop', apopTs, b('tanstaaX'), b('c4c9334bac560ecc979e58001b3e22fb')), false);
  assert.equal(challengeMatches('apop', apopTs, b('tanstaaf'), b('tanstaaf')), false, 'the clear password is not the response');
  const cramTs = b('<1896.697170952@postoffice.reston.mci.net>');
  assert.equal(challengeMatches('cram-md5', cramTs, b('tanstaaftanstaaf'), b('b913a602c7eda7a495b4e6e7334d3890')), true);
  assert.equal(challengeMatches('cram-md5', cramTs, b('tanstaaftanstaaf'), b('c4c9334bac560ecc979e58001b3e22fb')), false);
});
