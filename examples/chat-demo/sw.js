// App-shell service worker: the page, its script and the client bundle load from the cache when
// the network is gone (network first, so a running dev server always wins). API calls (/v1/…)
// are never intercepted: the offline layer in the page decides what to do with them.
const CACHE = "holdfast-demo-v1";
const SHELL = ["./", "./index.html", "./app.js", "./style.css", "./holdfast-client.js"];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || url.pathname.startsWith("/v1/"))
    return;
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        const copy = response.clone();
        if (response.ok) void caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        return response;
      })
      .catch(() =>
        caches.match(event.request, { ignoreSearch: true }).then((hit) => hit ?? Response.error()),
      ),
  );
});
