/**
 * POSIX shell quoting for remote commands. ssh sends the remote side one
 * string, which the user's login shell parses again; quoting every word
 * makes that parse give back exactly the argv we meant. Assumes a POSIX
 * sh-compatible login shell (sh, bash, dash, zsh, ksh), as ssh users do.
 */

// words made only of these need no quotes in any POSIX shell
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quote one word: unchanged if it is plainly safe, else in single quotes. */
export function shellQuote(word: string): string {
  if (word.includes('\0')) {
    // a C string (argv, the wire format) cannot carry NUL
    throw new TypeError('cannot pass a NUL byte to a remote command');
  }
  if (SAFE.test(word)) return word;
  // inside single quotes nothing is special except the closing quote
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Quote each word and join with spaces: a command line for `sh -c`. */
export function shellQuoteArgv(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
