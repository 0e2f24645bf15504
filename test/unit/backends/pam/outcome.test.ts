import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PAM, verdictOf } from '../../../../src/backends/pam/outcome.js';

const at = (stage: 'start' | 'authenticate' | 'acct_mgmt' | 'done', rc: number) => verdictOf({ stage, rc, text: 'x', delayUs: 0 });

test('only a finished transaction is a success', () => {
  assert.deepEqual(at('done', PAM.SUCCESS), { kind: 'ok' });
  assert.equal(at('start', PAM.SUCCESS).kind, 'tempfail');
});

test('at authenticate, "user unknown" is told apart (a next mechanism may know the user); every other refusal is a wrong password', () => {
  assert.equal((at('authenticate', PAM.USER_UNKNOWN) as { code: string }).code, 'no_such_user');
  for (const rc of [PAM.AUTH_ERR, PAM.CRED_INSUFFICIENT, PAM.MAXTRIES, PAM.PERM_DENIED, PAM.ACCT_EXPIRED, PAM.NEW_AUTHTOK_REQD]) {
    assert.equal((at('authenticate', rc) as { code: string }).code, 'bad_password', `rc ${rc}`);
  }
});

test('after the right password, account refusals are final, "user unknown" included', () => {
  assert.equal((at('acct_mgmt', PAM.ACCT_EXPIRED) as { code: string }).code, 'account_expired');
  assert.equal((at('acct_mgmt', PAM.NEW_AUTHTOK_REQD) as { code: string }).code, 'password_expired');
  assert.equal((at('acct_mgmt', PAM.PERM_DENIED) as { code: string }).code, 'service_disabled');
  assert.equal((at('acct_mgmt', PAM.USER_UNKNOWN) as { code: string }).code, 'service_disabled');
});

test('a stack that cannot decide is a temporary failure, never a wrong password', () => {
  // PAM_SERVICE_ERR 3, PAM_SYSTEM_ERR 4, PAM_BUF_ERR 5, AUTHINFO_UNAVAIL 9, CONV_ERR 19, TRY_AGAIN 24, IGNORE 25, ABORT 26, MODULE_UNKNOWN 28
  for (const rc of [3, 4, 5, PAM.AUTHINFO_UNAVAIL, 19, 24, 25, 26, 28]) {
    assert.equal(at('authenticate', rc).kind, 'tempfail', `authenticate rc ${rc}`);
    assert.equal(at('acct_mgmt', rc).kind, 'tempfail', `acct_mgmt rc ${rc}`);
  }
  assert.equal(at('start', 4).kind, 'tempfail');
});
