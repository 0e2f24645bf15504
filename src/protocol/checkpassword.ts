/**
 * The qmail checkpassword interface's input on fd 3:
 * `login\0password\0timestamp\0[more]`, at most 512 bytes.
 */
export const MAX_INPUT = 512;

export type Fd3Input =
  | { readonly kind: 'input'; readonly login: Buffer; readonly password: Buffer; readonly timestamp: Buffer }
  | { readonly kind: 'misuse'; readonly why: string };

export function parseFd3Input(data: Buffer): Fd3Input {
  if (data.length > MAX_INPUT) return { kind: 'misuse', why: `more than ${MAX_INPUT} bytes on fd 3` };
  const fields: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < data.length && fields.length < 3; i++) {
    if (data[i] !== 0) continue;
    fields.push(data.subarray(start, i));
    start = i + 1;
  }
  if (fields.length < 2) return { kind: 'misuse', why: 'fewer than two NUL-terminated fields on fd 3' };
  return { kind: 'input', login: fields[0]!, password: fields[1]!, timestamp: fields[2] ?? Buffer.alloc(0) };
}

/** The exit codes of the interface. */
export const EXIT = { ok: 0, refused: 1, misuse: 2, temporary: 111 } as const;
