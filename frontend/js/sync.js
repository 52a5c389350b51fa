// An incoming message's event can arrive a moment before ZapPool's message log has written it (the log
// writes in batches, off the engine thread). A window that re-reads the log after such an event reads again,
// a few times, until what it read contains the message.

const TRIES = 5;
const FIRST_DELAY_MS = 150;

/** Call `read()` until `seen(result)` is true (or the tries run out); resolves to the last result. */
export async function readUntil(read, seen, { tries = TRIES, delayMs = FIRST_DELAY_MS } = {}) {
  let result;
  for (let attempt = 0; attempt < tries; attempt += 1) {
    result = await read();
    if (seen(result)) return result;
    await new Promise((resolve) => setTimeout(resolve, delayMs * (attempt + 1)));
  }
  return result;
}
