/**
 * The one reason every abandoned request is aborted with: abort() with none
 * makes a DOMException, stack and all, for each connection that closes.
 */
export const CLIENT_GONE: Error = Object.freeze(new Error('client gone'));
