/**
 * Access token + rotating refresh token. A 401 triggers one refresh; concurrent 401s share the
 * same in-flight refresh, because a refresh token is single-use: a second parallel refresh with
 * the same token would look like theft to the server and revoke the whole sign-in.
 */
import { HoldfastApiError, HoldfastClientError } from "./errors.ts";

/** A token pair as the client keeps it. */
export interface ClientTokens {
  accessToken: string;
  /** Absent: no refresh (a static API key or a short-lived token only). */
  refreshToken?: string | null;
}

/** Sends the refresh request; returns the new pair (the refresh token has rotated). */
export type RefreshFunction = (refreshToken: string) => Promise<ClientTokens>;

export interface TokenManagerOptions {
  tokens?: ClientTokens | null;
  refresh: RefreshFunction;
  /** Called with every new pair (persist it) and with `null` when the sign-in is over. */
  onTokens?: (tokens: ClientTokens | null) => void | Promise<void>;
}

/** Holds the current tokens and de-duplicates refreshes. */
export class TokenManager {
  #tokens: ClientTokens | null;
  #inflight: Promise<ClientTokens> | null = null;
  readonly #refresh: RefreshFunction;
  readonly #onTokens: TokenManagerOptions["onTokens"];
  readonly #setListeners = new Set<(tokens: ClientTokens | null) => void>();
  /** How many refresh requests were actually sent (observability and tests). */
  refreshCount = 0;

  constructor(options: TokenManagerOptions) {
    this.#tokens = options.tokens ? { ...options.tokens } : null;
    this.#refresh = options.refresh;
    this.#onTokens = options.onTokens;
  }

  get accessToken(): string | null {
    return this.#tokens?.accessToken ?? null;
  }

  get canRefresh(): boolean {
    return typeof this.#tokens?.refreshToken === "string";
  }

  /** Sets the tokens from outside (a sign-in, `auth.setTokens`, a logout), then tells `onSet` listeners. */
  async set(tokens: ClientTokens | null): Promise<void> {
    try {
      await this.#apply(tokens);
    } finally {
      const current = this.#tokens ? { ...this.#tokens } : null;
      for (const listener of this.#setListeners) listener(current);
    }
  }

  /**
   * Calls `listener` after every `set` (not after a refresh's rotation): e.g. the offline client
   * resumes its queue when the app signs in again. Returns the unsubscribe function.
   */
  onSet(listener: (tokens: ClientTokens | null) => void): () => void {
    this.#setListeners.add(listener);
    return () => this.#setListeners.delete(listener);
  }

  async #apply(tokens: ClientTokens | null): Promise<void> {
    this.#tokens = tokens ? { ...tokens } : null;
    await this.#onTokens?.(this.#tokens);
  }

  /**
   * Returns a fresh access token after a 401 seen with `staleAccessToken`. If another request
   * already refreshed past it, that result is reused; if a refresh is running, it is awaited.
   */
  async refreshAfter(staleAccessToken: string | null): Promise<string> {
    const current = this.#tokens;
    if (current && current.accessToken !== staleAccessToken && this.#inflight === null) {
      return current.accessToken;
    }
    if (this.#inflight === null) {
      const refreshToken = current?.refreshToken;
      if (typeof refreshToken !== "string") {
        throw new HoldfastClientError(
          "unauthenticated",
          "The access token was refused and there is no refresh token.",
        );
      }
      this.refreshCount++;
      this.#inflight = this.#refresh(refreshToken)
        .then(async (next) => {
          await this.#apply(next);
          return next;
        })
        .catch(async (error: unknown) => {
          // A refused refresh ends the sign-in; a network failure keeps the tokens for later.
          if (error instanceof HoldfastApiError && (error.status === 400 || error.status === 401)) {
            await this.#apply(null);
          }
          throw error;
        })
        .finally(() => {
          this.#inflight = null;
        });
    }
    return (await this.#inflight).accessToken;
  }
}
