/** The dashboard shell: sign-in, navigation, tenant picker and a hash router over the views. */
import { api } from "./api.ts";
import { action, announce, h } from "./dom.ts";
import "./style.css";
import { renderCleanup } from "./views/cleanup.ts";
import { renderSession } from "./views/session.ts";
import { renderSessions } from "./views/sessions.ts";
import { renderSignIn } from "./views/signin.ts";
import { renderUpstreams } from "./views/upstreams.ts";
import { renderUsage } from "./views/usage.ts";

export interface ViewContext {
  tenant: string;
  main: HTMLElement;
  params: URLSearchParams;
  /**
   * Goes to `hash`. `keepStatus` keeps the status line across this one navigation: an action that
   * opens another view (Fork, Delete) reports its result there, and routing would clear it.
   */
  navigate: (hash: string, options?: { keepStatus?: boolean }) => void;
}

const NAV = [
  ["#/sessions", "Sessions"],
  ["#/usage", "Usage"],
  ["#/cleanup", "Cleanup"],
  ["#/upstreams", "Upstreams"],
] as const;

const root = document.getElementById("app")!;
let tenant = "default";
let knownTenants: string[] = [];
let firstRoute = true;
/**
 * Counts routes: a view renders after its requests answer, and by then the operator may have
 * picked another tenant or view. Only the latest route may show what it rendered.
 */
let routeSeq = 0;
/** Set by a navigation that keeps the status line; the route it causes clears the flag instead. */
let keepStatus = false;

function navigate(hash: string, options: { keepStatus?: boolean } = {}): void {
  // An unchanged hash routes nowhere, so it must not leave the flag for a later navigation.
  keepStatus = options.keepStatus === true && location.hash !== hash;
  location.hash = hash;
}

async function start(): Promise<void> {
  // The shell is rebuilt (or replaced by sign-in, whose main has the same id): a view still
  // loading must not land in it.
  routeSeq++;
  const state = await api.session().catch(() => null);
  if (!state) {
    root.replaceChildren(h("p", { class: "error", role: "alert" }, "The dashboard API is unreachable."));
    return;
  }
  if (state.disabled) {
    root.replaceChildren(
      h(
        "main",
        { id: "main", class: "signin" },
        h("h1", {}, "Dashboard disabled"),
        h("p", {}, state.disabled),
      ),
    );
    return;
  }
  if (!state.signedIn) {
    renderSignIn(root, () => void start());
    return;
  }
  await renderShell(state.devMode);
}

async function renderShell(devMode: boolean): Promise<void> {
  const { tenants } = await api.get<{ tenants: string[] }>("tenants");
  knownTenants = tenants;
  if (!tenants.includes(tenant)) tenant = tenants[0] ?? "default";
  // The tenant is set before the view renders: the view reads it once, when it starts.
  const tenantSelect = h(
    "select",
    {
      id: "tenant",
      onchange: (event: Event) => {
        tenant = (event.target as HTMLSelectElement).value;
        void route();
      },
    },
    ...tenants.map((t) => h("option", { value: t, selected: t === tenant }, t)),
  );
  const nav = h(
    "nav",
    { "aria-label": "Main" },
    h("ul", {}, ...NAV.map(([href, label]) => h("li", {}, h("a", { href }, label)))),
  );
  const signOut = h(
    "button",
    {
      type: "button",
      class: "link",
      onclick: action(async () => {
        await api.signOut();
        void start();
      }),
    },
    "Sign out",
  );
  const header = h(
    "header",
    { class: "top" },
    h("a", { class: "brand", href: "#/sessions" }, "Holdfast"),
    nav,
    h(
      "div",
      { class: "tools" },
      h("label", { for: "tenant" }, "Tenant"),
      tenantSelect,
      devMode ? h("span", { class: "badge" }, "dev mode") : null,
      devMode ? null : signOut,
    ),
  );
  const main = h("main", { id: "main", tabindex: -1 });
  const status = h("div", { id: "status", class: "status", role: "status", "aria-live": "polite" });
  root.replaceChildren(header, status, main);
  window.onhashchange = () => void route();
  await route();
}

async function route(): Promise<void> {
  const current = document.getElementById("main");
  if (!current) return;
  const seq = ++routeSeq;
  const raw = location.hash.slice(1) || "/sessions";
  const [path = "/sessions", query = ""] = raw.split("?");
  const params = new URLSearchParams(query);
  // A link may name its tenant (Usage lists sessions of every tenant): it becomes the current one.
  const linked = params.get("tenant");
  if (linked && linked !== tenant && knownTenants.includes(linked)) {
    tenant = linked;
    const select = document.getElementById("tenant") as HTMLSelectElement | null;
    if (select) select.value = linked;
  }
  for (const link of document.querySelectorAll("nav a")) {
    const active = path.startsWith((link.getAttribute("href") ?? "").slice(1).replace(/s$/, ""));
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (keepStatus) keepStatus = false;
  else announce("");
  current.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  // The view renders into a main of its own, shown only if no later route started meanwhile: a
  // late answer (the tenant picked before, the view left) is dropped instead of replacing the
  // current one. Actions of a dropped view (a compaction's re-render) write to a detached node.
  const main = h("main", { id: "main", tabindex: -1 });
  const ctx: ViewContext = { tenant, main, params, navigate };
  try {
    if (path.startsWith("/session/")) await renderSession(ctx, decodedId(path.slice(9)));
    else if (path === "/usage") await renderUsage(ctx);
    else if (path === "/cleanup") await renderCleanup(ctx);
    else if (path === "/upstreams") await renderUpstreams(ctx);
    else await renderSessions(ctx);
  } catch (error) {
    if (seq !== routeSeq) return;
    if ((error as { status?: number }).status === 401) {
      void start();
      return;
    }
    main.replaceChildren(
      h("h1", {}, "Something went wrong"),
      h("p", { class: "error", role: "alert" }, (error as Error).message),
    );
  }
  if (seq !== routeSeq) return;
  document.getElementById("main")?.replaceWith(main);
  main.querySelector("h1")?.setAttribute("tabindex", "-1");
  // Focus follows navigation, but the first render leaves it at the top (skip link first).
  if (!firstRoute) (main.querySelector("h1") as HTMLElement | null)?.focus();
  firstRoute = false;
}

// The skip link must not touch the hash: the hash is the router's.
document.querySelector(".skip")?.addEventListener("click", (event) => {
  event.preventDefault();
  document.getElementById("main")?.focus();
});

void start();

/** A session id from the hash; a malformed escape (`%E0%A4%A`) stays as typed, so the view says "No session" for it. */
function decodedId(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
