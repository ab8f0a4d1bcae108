/**
 * Master keys for envelope encryption. `HOLDFAST_KEYS="kid1:base64,kid2:base64"` (or a key file
 * in the same format, one or more per line): each key is 32 bytes, the FIRST is the active one
 * (newest first), the others only unwrap data keys until `rotateMasterKey` has re-wrapped them.
 */
import { readFileSync } from "node:fs";
import { InvalidArgumentError } from "../../store/errors.ts";

const KID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

export interface MasterKey {
  kid: string;
  key: Buffer;
}

export interface Keyring {
  readonly active: MasterKey;
  /** The master key with this id, or undefined. */
  get(kid: string): MasterKey | undefined;
  readonly kids: readonly string[];
}

/** Parses `kid:base64[,kid:base64…]` (commas or newlines). Throws naming the bad entry. */
export function parseKeyring(text: string, source = "HOLDFAST_KEYS"): Keyring {
  const entries = text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0 && !s.startsWith("#"));
  if (entries.length === 0) {
    throw new InvalidArgumentError(`${source} holds no keys; expected 'kid:base64key[,kid:base64key…]'.`);
  }
  const keys: MasterKey[] = [];
  for (const entry of entries) {
    const colon = entry.indexOf(":");
    const kid = entry.slice(0, colon);
    if (colon < 1 || !KID_PATTERN.test(kid)) {
      throw new InvalidArgumentError(
        `${source}: each entry is 'kid:base64key' with a kid of 1-32 letters, digits, '_' or '-'.`,
      );
    }
    const key = Buffer.from(entry.slice(colon + 1), "base64");
    if (key.length !== 32) {
      throw new InvalidArgumentError(
        `${source}: key '${kid}' is ${key.length} bytes; master keys are 32 random bytes in base64 (openssl rand -base64 32).`,
      );
    }
    if (keys.some((k) => k.kid === kid))
      throw new InvalidArgumentError(`${source}: key id '${kid}' appears twice.`);
    keys.push({ kid, key });
  }
  return createKeyring(keys);
}

export function createKeyring(keys: readonly MasterKey[]): Keyring {
  const first = keys[0];
  if (!first) throw new InvalidArgumentError("A keyring needs at least one master key.");
  const byKid = new Map(keys.map((k) => [k.kid, k]));
  return Object.freeze({ active: first, get: (kid: string) => byKid.get(kid), kids: keys.map((k) => k.kid) });
}

/** Reads a key file (same format as HOLDFAST_KEYS). */
export function loadKeyringFile(path: string): Keyring {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new InvalidArgumentError(
      `Cannot read the key file '${path}' (${reason}); check the path given by --key-file or HOLDFAST_KEY_FILE.`,
      { param: "key_file", cause: error },
    );
  }
  return parseKeyring(text, path);
}

/** The keyring from `HOLDFAST_KEYS` or `HOLDFAST_KEY_FILE`, or null when neither is set. */
export function keyringFromEnv(env: Record<string, string | undefined> = process.env): Keyring | null {
  if (env.HOLDFAST_KEYS) return parseKeyring(env.HOLDFAST_KEYS);
  if (env.HOLDFAST_KEY_FILE) return loadKeyringFile(env.HOLDFAST_KEY_FILE);
  return null;
}
