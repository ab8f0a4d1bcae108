/**
 * Encryption-at-rest overhead on one store URL: the same work on the same driver without and
 * with `withEncryption`, run as interleaved A/B rounds (plain, encrypted, plain, …) so a shared
 * machine's load hits both sides alike, timed in CPU time per operation (`process.cpuUsage`,
 * this process only: driver threads included, a database server's work not) and wall time.
 * Work: a 2-item turn append, an 8,000-token window read, and a whole turn (window + append) on
 * a session of 400 items, plus the window with the decorator's caches off (every item opened).
 *
 * Plus the append's AEAD floor: the plain append with each item's body serialized and sealed
 * (AES-256-GCM, the decorator's own `seal`) just before it, in the same rounds. It is measured
 * in place rather than in a tight loop because an append waits for its store: afterwards the
 * CPU's caches and predictors are cold (more so on a shared VM), so the same seals cost several
 * times their tight-loop figure here — as they do inside the encrypted append.
 */
import { randomBytes } from "node:crypto";
import { seal } from "../../src/security/encryption/aead.ts";
import { createKeyring } from "../../src/security/encryption/keyring.ts";
import { withEncryption } from "../../src/security/encryption/with-encryption.ts";
import { createStore } from "../../src/store/create-store.ts";
import type { SessionStore } from "../../src/store/types.ts";
import { median, nowUs } from "./stats.ts";
import { scenarioUrl } from "./store-urls.ts";
import { turn } from "./turns.ts";

const WINDOW_TOKENS = 8000;
const PREFILL_TURNS = 200;

export interface EncryptionSide {
  /** Median over rounds of CPU µs per operation. */
  appendCpuUs: number;
  windowCpuUs: number;
  turnCpuUs: number;
  /** Median over rounds of wall µs per operation. */
  appendUs: number;
  windowUs: number;
  turnUs: number;
}

export interface EncryptionFigures {
  plain: EncryptionSide;
  encrypted: EncryptionSide;
  /** Window read with the decorator's plaintext and window caches off (CPU µs per read). */
  coldWindowCpuUs: number;
  /** Plain append with its items' bodies sealed first (CPU µs per append): the per-item AEAD floor. */
  sealFloorAppendCpuUs: number;
  rounds: number;
  opsPerRound: number;
}

interface Subject {
  store: SessionStore;
  id: string;
  next: number;
}

async function open(store: SessionStore): Promise<Subject> {
  const tenant = `enc-ab`;
  const { id } = await store.create(tenant);
  for (let t = 0; t < PREFILL_TURNS; t++) await store.append(tenant, id, turn(t));
  return { store, id, next: PREFILL_TURNS };
}

/** CPU and wall µs per call of `fn`, over `count` sequential calls. */
async function measure(fn: () => Promise<unknown>, count: number): Promise<{ cpu: number; wall: number }> {
  const cpu = process.cpuUsage();
  const start = nowUs();
  for (let i = 0; i < count; i++) await fn();
  const wall = nowUs() - start;
  const used = process.cpuUsage(cpu);
  return { cpu: (used.user + used.system) / count, wall: wall / count };
}

type Samples = Record<keyof EncryptionSide, number[]>;

function emptySamples(): Samples {
  return { appendCpuUs: [], windowCpuUs: [], turnCpuUs: [], appendUs: [], windowUs: [], turnUs: [] };
}

async function round(s: Subject, ops: number, into: Samples): Promise<void> {
  const t = "enc-ab";
  const window = () => s.store.readWindow(t, s.id, { maxTokens: WINDOW_TOKENS });
  const append = () => s.store.append(t, s.id, turn(s.next++));
  const a = await measure(append, ops);
  const w = await measure(window, ops);
  const u = await measure(async () => {
    await window();
    await append();
  }, ops);
  into.appendCpuUs.push(a.cpu);
  into.appendUs.push(a.wall);
  into.windowCpuUs.push(w.cpu);
  into.windowUs.push(w.wall);
  into.turnCpuUs.push(u.cpu);
  into.turnUs.push(u.wall);
}

/**
 * A plain append whose items were first serialized and sealed as the decorator seals them (same
 * key handling, AAD shape and base64url blob), the ciphertexts then dropped: what two seals add.
 */
function sealedThenPlainAppend(s: Subject, key: Buffer): Promise<unknown> {
  const items = turn(s.next++);
  for (const item of items) {
    const aad = `hf-item\u0000enc-ab\u0000${s.id}\u0000${s.next}`;
    seal(key, JSON.stringify(item.content), aad).toString("base64url");
  }
  return s.store.append("enc-ab", s.id, items);
}

function medians(samples: Samples): EncryptionSide {
  const out = {} as EncryptionSide;
  for (const key of Object.keys(samples) as (keyof EncryptionSide)[]) out[key] = median(samples[key]);
  return out;
}

export async function encryptionOverhead(
  url: string,
  options: { rounds?: number; opsPerRound?: number } = {},
): Promise<EncryptionFigures> {
  const rounds = options.rounds ?? 6;
  const ops = options.opsPerRound ?? 200;
  const keyring = createKeyring([{ kid: "bench", key: randomBytes(32) }]);
  const plainStore = await createStore(scenarioUrl(url, "enc-plain"));
  const encStore = withEncryption(await createStore(scenarioUrl(url, "enc-sealed")), { keyring });
  const coldStore = withEncryption(await createStore(scenarioUrl(url, "enc-cold")), {
    keyring,
    plaintextCacheBytes: 0,
  });
  const floorStore = await createStore(scenarioUrl(url, "enc-floor"));
  const floorKey = randomBytes(32);
  try {
    const plain = await open(plainStore);
    const encrypted = await open(encStore);
    const cold = await open(coldStore);
    const floor = await open(floorStore);
    const p = emptySamples();
    const e = emptySamples();
    const coldCpu: number[] = [];
    const floorCpu: number[] = [];
    const floorAppend = () => sealedThenPlainAppend(floor, floorKey);
    // One unmeasured round each warms the JIT and the caches.
    await round(plain, ops / 4, emptySamples());
    await round(encrypted, ops / 4, emptySamples());
    await measure(floorAppend, ops / 4);
    for (let r = 0; r < rounds; r++) {
      // Alternate who goes first, so neither side always follows the other's garbage.
      const order: [Subject, Samples][] =
        r % 2 === 0
          ? [
              [plain, p],
              [encrypted, e],
            ]
          : [
              [encrypted, e],
              [plain, p],
            ];
      for (const [subject, into] of order) await round(subject, ops, into);
      floorCpu.push((await measure(floorAppend, ops)).cpu);
      const window = () => cold.store.readWindow("enc-ab", cold.id, { maxTokens: WINDOW_TOKENS });
      coldCpu.push((await measure(window, Math.max(10, ops / 10))).cpu);
    }
    return {
      plain: medians(p),
      encrypted: medians(e),
      coldWindowCpuUs: median(coldCpu),
      sealFloorAppendCpuUs: median(floorCpu),
      rounds,
      opsPerRound: ops,
    };
  } finally {
    await plainStore.close();
    await encStore.close();
    await coldStore.close();
    await floorStore.close();
  }
}
