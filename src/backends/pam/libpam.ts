import { requireNative } from '../../os/native.js';

/** One PAM transaction's question: the bytes as the client sent them, NUL-free. */
export interface PamQuestion {
  readonly service: Buffer;
  readonly user: Buffer;
  readonly password: Buffer;
  /** PAM_RHOST: the client's address, for pam_faillock, pam_access and the like. */
  readonly rhost?: string | undefined;
}

/** Where a transaction stopped, PAM's code there, and the delay a module asked for on failure. */
export interface PamOutcome {
  readonly stage: 'start' | 'authenticate' | 'acct_mgmt' | 'done';
  readonly rc: number;
  readonly text: string;
  /** Microseconds a module (pam_unix, pam_faildelay) wants a failure held back; the caller applies it. */
  readonly delayUs: number;
}

export interface LibPam {
  /** Blocking: runs one whole transaction. Only ever called in a PAM worker process. */
  converse(q: PamQuestion): PamOutcome;
}

const PAM_SILENT = 0x8000;
const ITEM_RHOST = 4;
const ITEM_AUTHTOK = 6;
const ITEM_FAIL_DELAY = 10;
const PROMPT_ECHO_OFF = 1;
const PROMPT_ECHO_ON = 2;
const ERROR_MSG = 3;
const TEXT_INFO = 4;
const CONV_ERR = 19;
/** sizeof(struct pam_response) on LP64: a pointer and an int, padded. */
const RESPONSE_SIZE = 16;
const NUL = Buffer.alloc(1);

type Fn = (...args: unknown[]) => unknown;
interface Koffi {
  load(name: string): { func(sig: string): Fn };
  struct(name: string, def: Record<string, unknown>): unknown;
  proto(sig: string): unknown;
  pointer(t: unknown): unknown;
  opaque(name: string): unknown;
  register(fn: Fn, type: unknown): unknown;
  decode(ptr: unknown, type: unknown, len?: number): unknown;
  decode(ptr: unknown, offset: number, type: unknown): unknown;
  encode(ptr: unknown, type: unknown, value: unknown): void;
  encode(ptr: unknown, offset: number, type: unknown, value: unknown): void;
}

const cz = (b: Buffer) => Buffer.concat([b, NUL]);

/**
 * Binds libpam.so.0 through koffi. Each transaction gets saslauthd's
 * conversation: a hidden prompt is answered with the password, a visible
 * one with the login, messages with nothing. The failure delay libpam would
 * sleep through (pam_unix's 2 s) is taken as a number instead, so a worker
 * is free at once and the caller holds back only the one reply.
 */
export function loadLibPam(): LibPam {
  const koffi = requireNative('koffi') as Koffi;
  const pam = koffi.load('libpam.so.0');
  const libc = koffi.load('libc.so.6');
  const Message = koffi.struct('authmux_pam_message', { msg_style: 'int', msg: 'const char *' });
  const ConvFn = koffi.proto('int authmux_pam_conv_fn(int num_msg, void *msg, void *resp, void *appdata)');
  const DelayFn = koffi.proto('void authmux_pam_delay_fn(int retval, unsigned int usec, void *appdata)');
  koffi.struct('authmux_pam_conv', { conv: koffi.pointer(ConvFn), appdata_ptr: 'void *' });
  koffi.opaque('authmux_pam_handle');
  const start = pam.func('int pam_start(const void *service, const void *user, const authmux_pam_conv *conv, _Out_ authmux_pam_handle **pamh)');
  const setItem = pam.func('int pam_set_item(authmux_pam_handle *pamh, int item, const void *value)');
  const authenticate = pam.func('int pam_authenticate(authmux_pam_handle *pamh, int flags)');
  const acctMgmt = pam.func('int pam_acct_mgmt(authmux_pam_handle *pamh, int flags)');
  const end = pam.func('int pam_end(authmux_pam_handle *pamh, int status)');
  const strerror = pam.func('const char *pam_strerror(authmux_pam_handle *pamh, int errnum)');
  const calloc = libc.func('void *calloc(size_t n, size_t size)');
  const strdup = libc.func('void *strdup(const void *s)');
  const free = libc.func('void free(void *p)');

  // One transaction at a time per process: the callbacks read the current one.
  let current: { user: Buffer; password: Buffer; handle: unknown } | undefined;
  let delayUs = 0;

  const conversation = koffi.register((n: unknown, msgs: unknown, resp: unknown) => {
    const count = n as number;
    if (!current || count <= 0 || count > 32) return CONV_ERR;
    const answers = calloc(count, RESPONSE_SIZE);
    if (!answers) return CONV_ERR;
    const pointers = koffi.decode(msgs, 'void *', count) as unknown[];
    const given: unknown[] = [];
    for (let i = 0; i < count; i++) {
      const m = koffi.decode(pointers[i], Message) as { msg_style: number; msg: string | null };
      let answer: Buffer | undefined;
      if (m.msg_style === PROMPT_ECHO_OFF) answer = current.password;
      else if (m.msg_style === PROMPT_ECHO_ON) answer = current.user;
      else if (m.msg_style !== ERROR_MSG && m.msg_style !== TEXT_INFO) {
        // A style we do not know: answering nothing is safer than guessing. What was given is PAM's no more.
        for (const p of given) free(p);
        free(answers);
        return CONV_ERR;
      }
      if (answer) {
        const copy = strdup(cz(answer));
        given.push(copy);
        koffi.encode(answers, i * RESPONSE_SIZE, 'void *', copy);
      }
    }
    koffi.encode(resp, 'void *', answers);
    return 0;
  }, koffi.pointer(ConvFn));

  const delay = koffi.register((retval: unknown, usec: unknown) => {
    if (retval !== 0) delayUs = Math.max(delayUs, usec as number);
  }, koffi.pointer(DelayFn));

  return {
    converse(q) {
      const out: unknown[] = [null];
      const password = q.password;
      delayUs = 0;
      let rc = start(cz(q.service), cz(q.user), { conv: conversation, appdata_ptr: null }, out) as number;
      const handle = out[0];
      if (rc !== 0 || !handle) return { stage: 'start', rc, text: 'pam_start failed', delayUs: 0 };
      current = { user: q.user, password, handle };
      try {
        setItem(handle, ITEM_FAIL_DELAY, delay);
        if (q.rhost) setItem(handle, ITEM_RHOST, cz(Buffer.from(q.rhost, 'latin1')));
        // Linux-PAM lets only modules set it (PAM_BAD_ITEM); other PAMs take it, and modules that read it first need it.
        const token = cz(password);
        setItem(handle, ITEM_AUTHTOK, token);
        token.fill(0);
        rc = authenticate(handle, PAM_SILENT) as number;
        if (rc !== 0) return { stage: 'authenticate', rc, text: String(strerror(handle, rc)), delayUs };
        rc = acctMgmt(handle, PAM_SILENT) as number;
        if (rc !== 0) return { stage: 'acct_mgmt', rc, text: String(strerror(handle, rc)), delayUs };
        return { stage: 'done', rc: 0, text: 'Success', delayUs: 0 };
      } finally {
        end(handle, rc);
        current = undefined;
      }
    },
  };
}
