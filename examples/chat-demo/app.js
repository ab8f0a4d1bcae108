// The demo chat page: every read and write goes through holdfast/client's offline layer, so the
// page keeps working in a tunnel and catches up when the network returns.
import { createHoldfastClient, createIndexedDbStorage, createOfflineClient } from "./holdfast-client.js";

const $ = (id) => document.getElementById(id);
const client = createHoldfastClient({ baseUrl: location.origin });
const storage = await createIndexedDbStorage({ name: "holdfast-chat-demo" });
const offline = createOfflineClient({ client, storage, retryDelayMs: 1000 });
let current = location.hash.slice(1) || null;
let streaming = null;

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("./sw.js").catch((error) => console.warn("no offline shell:", error));
}

function textOf(item) {
  if (typeof item.content === "string") return item.content;
  if (Array.isArray(item.content)) return item.content.map((part) => part.text ?? "").join("");
  return `[${item.type}]`;
}

function showError(error) {
  $("error").hidden = !error;
  $("error").textContent = error ? String(error.message ?? error) : "";
}

async function renderStatus() {
  const status = await offline.status();
  $("status").dataset.online = String(status.online);
  $("status").textContent = status.online ? "online" : "offline";
  $("queued").hidden = status.pending + status.failed === 0;
  $("queued").textContent = `${status.pending} queued${status.failed ? `, ${status.failed} refused` : ""}`;
}

async function renderConversations() {
  let ids = await offline.cachedIds();
  if (navigator.onLine) {
    try {
      const page = await client.conversations.list({ limit: 50, order: "desc" });
      ids = [...new Set([...page.data.map((c) => c.id), ...ids])];
    } catch {
      // Offline or server down: the cached list will do.
    }
  }
  const list = $("conversations");
  list.replaceChildren(
    ...ids.map((id) => {
      const li = document.createElement("li");
      li.textContent = id;
      li.dataset.id = id;
      li.setAttribute("aria-current", String(id === current));
      li.onclick = () => openConversation(id);
      return li;
    }),
  );
}

function messageElement(role, text, extraClass) {
  const li = document.createElement("li");
  li.className = [role, extraClass].filter(Boolean).join(" ");
  li.textContent = text;
  return li;
}

async function renderMessages() {
  if (!current) return;
  const view = await offline.view(current);
  if (!view) return;
  $("conversation-title").textContent = current;
  const rows = view.items
    .filter((item) => item.type === "message")
    .map((item) => messageElement(item.role, textOf(item)));
  for (const entry of view.pending) {
    for (const item of entry.items)
      rows.push(messageElement(item.role, textOf(item), entry.error ? "failed" : "pending"));
  }
  if (streaming) rows.push(messageElement("assistant", streaming, "streaming"));
  $("messages").replaceChildren(...rows);
  $("messages").scrollTop = $("messages").scrollHeight;
}

async function openConversation(id) {
  current = id;
  location.hash = id;
  $("message").disabled = false;
  $("send").disabled = false;
  try {
    await offline.open(id);
    showError(null);
  } catch (error) {
    showError(error);
  }
  await Promise.all([renderMessages(), renderConversations(), renderStatus()]);
}

async function send(text) {
  const status = await offline.status();
  // Live chat: with the network up and nothing queued, ask the model directly (the turn stores
  // the message and the reply). Otherwise queue the message: it is sent, in order, when possible.
  if ($("auto-reply").checked && status.online && status.pending === 0 && navigator.onLine) {
    streaming = "";
    try {
      for await (const event of client.responses.stream({
        model: "mock",
        conversation: current,
        input: text,
      })) {
        if (event.type === "response.output_text.delta") {
          streaming += event.delta;
          await renderMessages();
        }
      }
      streaming = null;
      await offline.open(current);
      return;
    } catch (error) {
      streaming = null;
      // The turn did not get through: fall back to the queue so the message is not lost.
      if (error.code !== "network_error") throw error;
    }
  }
  await offline.append(current, [{ type: "message", role: "user", content: text }]);
}

$("send-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("message").value.trim();
  if (!text || !current) return;
  $("message").value = "";
  try {
    await send(text);
    showError(null);
  } catch (error) {
    showError(error);
  }
  await Promise.all([renderMessages(), renderStatus()]);
});

$("new-conversation").addEventListener("click", async () => {
  try {
    const view = await offline.create({ metadata: { title: "demo" } });
    await openConversation(view.conversation.id);
  } catch (error) {
    showError(error.code === "network_error" ? new Error("New conversations need the network.") : error);
  }
});

$("logout").addEventListener("click", async () => {
  await offline.logout();
  current = null;
  location.hash = "";
  $("messages").replaceChildren();
  $("conversation-title").textContent = "No conversation open.";
  await Promise.all([renderConversations(), renderStatus()]);
});

offline.subscribe(() => {
  void renderStatus();
  void renderMessages();
});
window.addEventListener("online", () => void renderConversations());

await renderStatus();
await renderConversations();
if (current) await openConversation(current);
document.body.dataset.ready = "true";
