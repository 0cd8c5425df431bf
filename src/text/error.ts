// What was thrown, as one message: an Error's message, anything else as a string.
// Kept beside the other plain-text helpers in src/text, which every layer may import.

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
