/**
 * A failure that says nothing about the password: the answer must be "try
 * again". Raised at every layer (a file unreadable, a database away, a lock
 * held), so it lives below them all; each front door renders it its own way.
 */
export class TempFail extends Error {
  override readonly name = 'TempFail';
}
