/**
 * A turn's claim on its conversation across instances (store contract: AppendOptions.claim).
 * It rides on writes the turn does anyway — the write-ahead append of the input takes it, the
 * final append of outputs and record releases it — so a turn that finds the conversation free
 * pays no extra round trip. Only a turn that outlives a third of the TTL renews it, and only a
 * turn that ends without its final append (upstream failure before output, store error) sends
 * an explicit release. A crashed instance's claim simply expires. A release the store could not
 * take (it was down when the turn ended) is sent again in the background until it lands or the
 * claim has expired anyway: otherwise the store coming back would find the conversation still
 * held by a turn that is long over, refusing or queueing every turn on it for up to a whole TTL.
 *
 * Under `queue`, a turn refused because another instance holds the claim retries its input
 * append with jittered backoff until its deadline (nothing is written while refused).
 */
import { randomUUID } from "node:crypto";
import { isHoldfastError } from "../../store/errors.ts";
import type { AppendOptions, AppendResult, ItemInput, SessionStore } from "../../store/types.ts";
import { type BusySettings, queueTimeout } from "./busy.ts";

const FIRST_BACKOFF_MS = 10;
const MAX_BACKOFF_MS = 250;
/** Pauses between background attempts at a release the store could not take. */
const FIRST_RELEASE_RETRY_MS = 100;
const MAX_RELEASE_RETRY_MS = 1_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class TurnClaim {
  readonly holder = `turn_${randomUUID()}`;
  readonly #store: SessionStore;
  readonly #tenant: string;
  readonly #id: string;
  readonly #settings: BusySettings;
  #held = false;
  /** The input append failed without an answer saying it was refused: the claim may be ours. */
  #maybeHeld = false;
  #renewer: NodeJS.Timeout | undefined;
  /** Epoch ms by which the claim expires unless renewed: a pending release stops mattering then. */
  #claimedUntil = 0;

  constructor(store: SessionStore, tenant: string, id: string, settings: BusySettings) {
    this.#store = store;
    this.#tenant = tenant;
    this.#id = id;
    this.#settings = settings;
  }

  /**
   * Appends the turn's input and takes the claim with it. While another instance's turn holds
   * the conversation: `reject` fails at once, `queue` retries until `deadline` (epoch ms).
   */
  async appendInput(items: ItemInput[], options: AppendOptions, deadline: number): Promise<AppendResult> {
    const started = Date.now();
    const claim = { holder: this.holder, ttlMs: this.#settings.claimTtlMs };
    for (let backoff = FIRST_BACKOFF_MS; ; backoff = Math.min(MAX_BACKOFF_MS, backoff * 2)) {
      // Taken no earlier than the append was sent, so it lapses by then at the latest.
      const sentAt = Date.now();
      try {
        const result = await this.#store.append(this.#tenant, this.#id, items, { ...options, claim });
        this.#held = true;
        this.#claimedUntil = sentAt + this.#settings.claimTtlMs;
        this.#startRenewing();
        return result;
      } catch (error) {
        if (!isHoldfastError(error) || error.code !== "conversation_busy") {
          // Unless the store refused it, the append may have committed (and taken the claim)
          // with only its answer lost: end() then releases it instead of letting it block the
          // conversation for a whole TTL.
          if (!isHoldfastError(error) || error.code === "unavailable" || error.code === "internal") {
            this.#maybeHeld = true;
            this.#claimedUntil = sentAt + this.#settings.claimTtlMs;
          }
          throw error;
        }
        if (this.#settings.policy === "reject") throw error;
        // Jitter spreads instances polling one conversation, so they do not retry in lockstep.
        const pause = Math.round(backoff * (0.5 + Math.random()));
        if (Date.now() + pause >= deadline) throw queueTimeout(this.#id, Date.now() - started);
        await sleep(pause);
      }
    }
  }

  /** Options of the turn's final append: it commits only while the claim is ours, then frees it. */
  finalOptions(options: AppendOptions): AppendOptions {
    if (!this.#held) return options;
    return { ...options, claim: { holder: this.holder, ttlMs: this.#settings.claimTtlMs, release: true } };
  }

  /** The final append committed: the claim is gone with it. */
  released(): void {
    this.#held = false;
    this.#stopRenewing();
  }

  /** However the turn ended: stop renewing and give the claim up if the final append did not. */
  async end(): Promise<void> {
    this.#stopRenewing();
    if (!this.#held && !this.#maybeHeld) return;
    this.#held = false;
    this.#maybeHeld = false;
    await this.#store.releaseClaim(this.#tenant, this.#id, this.holder).catch(() => {
      this.#releaseLater(FIRST_RELEASE_RETRY_MS);
    });
  }

  /**
   * Sends the release again after `delayMs`, backing off, until it lands or the claim expired.
   * Releasing is harmless however late: the store frees the claim only while this holder has it.
   */
  #releaseLater(delayMs: number): void {
    if (Date.now() + delayMs >= this.#claimedUntil) return;
    const timer = setTimeout(() => {
      this.#store.releaseClaim(this.#tenant, this.#id, this.holder).catch(() => {
        this.#releaseLater(Math.min(MAX_RELEASE_RETRY_MS, delayMs * 2));
      });
    }, delayMs);
    // A shutdown does not wait for it: the claim expires on its own.
    timer.unref();
  }

  #startRenewing(): void {
    const every = Math.max(50, Math.floor(this.#settings.claimTtlMs / 3));
    this.#renewer = setInterval(() => {
      const renewedAt = Date.now();
      this.#store.renewClaim(this.#tenant, this.#id, this.holder, this.#settings.claimTtlMs).then(
        (kept) => {
          // Lost (expired and taken over): the final append will be refused, so stop trying.
          if (!kept) this.#stopRenewing();
          else this.#claimedUntil = Math.max(this.#claimedUntil, renewedAt + this.#settings.claimTtlMs);
        },
        () => {
          // A failed renewal is retried on the next tick; the TTL leaves two more tries.
        },
      );
    }, every);
    this.#renewer.unref();
  }

  #stopRenewing(): void {
    if (this.#renewer) clearInterval(this.#renewer);
    this.#renewer = undefined;
  }
}
