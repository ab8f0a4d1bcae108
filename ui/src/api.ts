/** The dashboard's JSON API client: cookies carry the session, writes carry the CSRF token. */
let csrfToken: string | null = null;

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export interface SessionState {
  signedIn: boolean;
  devMode: boolean;
  csrfToken: string | null;
  disabled: string | null;
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["x-csrf-token"] = csrfToken;
  const res = await fetch(`/ui/api/${path}`, {
    method,
    headers,
    credentials: "same-origin",
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const data = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
  if (!res.ok) throw new ApiError(res.status, data.error?.message ?? `Request failed (${res.status}).`);
  return data as T;
}

export const api = {
  get: <T>(path: string): Promise<T> => request<T>("GET", path),
  post: <T>(path: string, body: unknown = {}): Promise<T> => request<T>("POST", path, body),
  del: <T>(path: string): Promise<T> => request<T>("DELETE", path),
  async session(): Promise<SessionState> {
    const state = await request<SessionState>("GET", "session");
    csrfToken = state.csrfToken;
    return state;
  },
  async signIn(key: string): Promise<SessionState> {
    const state = await request<SessionState>("POST", "session", { key });
    csrfToken = state.csrfToken;
    return state;
  },
  async signOut(): Promise<void> {
    await request("DELETE", "session");
    csrfToken = null;
  },
};

export function qs(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== "") search.set(k, String(v));
  const text = search.toString();
  return text ? `?${text}` : "";
}
