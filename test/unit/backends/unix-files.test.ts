import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePasswd, parseShadow, shadowPolicy } from '../../../src/backends/unix-files.js';

test('passwd: first entry wins, NIS and malformed lines skipped, bytes kept', () => {
  const m = parsePasswd(Buffer.from('+nis::0:0:::\nalice:x:1001:1001:A:/home/alice:/bin/sh\nalice:y:1:1::/:/bin/false\nbad:x:notanumber:1:::\nshort:x:1\nj\xfcrg:x:5:5::/h:/s\n', 'latin1'));
  assert.deepEqual([...m.keys()], ['alice', 'j\xfcrg']);
  assert.equal(m.get('alice')!.home, '/home/alice');
  assert.equal(m.get('alice')!.uid, 1001);
});

test('shadow: empty ageing fields are -1, as getspnam reports them', () => {
  const m = parseShadow(Buffer.from('a:$6$x$y:19000:0:99999:7:::\nb:!:::::::\nc:*:19000::30:::20000:\n'));
  assert.deepEqual(m.get('a'), { name: 'a', hash: '$6$x$y', lastChange: 19000, maxDays: 99999, expire: -1 });
  assert.deepEqual(m.get('b'), { name: 'b', hash: '!', lastChange: -1, maxDays: -1, expire: -1 });
  assert.equal(m.get('c')!.expire, 20000);
});

test('ageing to the day: expired the day after sp_expire, password after lstchg + max', () => {
  const base = { name: 'u', hash: 'h', lastChange: -1, maxDays: -1, expire: -1 };
  assert.equal(shadowPolicy({ ...base, expire: 100 }, 100), undefined);
  assert.equal(shadowPolicy({ ...base, expire: 100 }, 101), 'account_expired');
  assert.equal(shadowPolicy({ ...base, expire: 0 }, 1), 'account_expired');
  assert.equal(shadowPolicy({ ...base, lastChange: 100, maxDays: 10 }, 110), undefined);
  assert.equal(shadowPolicy({ ...base, lastChange: 100, maxDays: 10 }, 111), 'password_expired');
  assert.equal(shadowPolicy({ ...base, lastChange: 100 }, 100000), undefined);
  assert.equal(shadowPolicy({ ...base, maxDays: 1 }, 100000), undefined);
  // account expiry is checked first, as in saslauthd
  assert.equal(shadowPolicy({ name: 'u', hash: 'h', lastChange: 1, maxDays: 1, expire: 1 }, 5), 'account_expired');
});
