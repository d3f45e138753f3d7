// The development inbox: the API this server answers, signed in with a development token.
// Conversations and messages update live from GET /api/inbox/events (read with fetch, which
// can send the bearer; EventSource cannot).
"use strict";
const state = { token: sessionStorage.getItem("inboxToken") || "", open: null, conversations: new Map() };
const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const r = await fetch(path, {
    method, headers: { authorization: `Bearer ${state.token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.error ? `${data.error.code}: ${data.error.message}` : `HTTP ${r.status}`);
  return data;
}

function el(tag, props, ...children) {
  const node = Object.assign(document.createElement(tag), props || {});
  for (const c of children) node.append(c);
  return node;
}

function renderConversations() {
  const list = [...state.conversations.values()].sort((a, b) => b.lastMessageAt.localeCompare(a.lastMessageAt));
  $("conversations").replaceChildren(...list.map((c) => {
    const label = c.displayName || c.handle || c.participantId;
    const button = el("button", { type: "button", className: c.unreadCount ? "unread" : "" },
      `${label} · ${c.provider}`, el("br"), c.previewText || "");
    if (c.unreadCount) button.prepend(el("span", { className: "badge", title: "unread" }, String(c.unreadCount)));
    button.setAttribute("aria-current", String(c.id === state.open));
    button.dataset.id = c.id;
    button.addEventListener("click", () => openThread(c.id));
    return el("li", {}, button);
  }));
}

function messageItem(m) {
  const item = el("li", { className: m.direction, id: `m-${m.id}` }, m.text || "");
  for (const a of m.attachments || []) {
    const url = a.payload && a.payload.url;
    // A story's link stops working after a day (Meta's media is not kept): a placeholder then.
    if (a.expired) item.append(el("br"), el("span", { className: "expired" }, `[${a.type}, expired]`));
    else if (url) item.append(el("br"), el("a", { href: url, target: "_blank", rel: "noopener" }, `[${a.type}]`));
  }
  const choices = (m.metaJson && m.metaJson.quickReplies) || [];
  if (choices.length) {
    item.append(el("span", { className: "choices" }, ...choices.map((c) => el("span", { className: "chip" }, c.title || c.type))));
  }
  const reactions = (m.metaJson && m.metaJson.reactions) || {};
  const shown = Object.values(reactions).map((r) => r.emoji || r.reaction).filter(Boolean);
  if (shown.length) item.append(el("span", { className: "reactions" }, ` ${shown.join(" ")}`));
  // The customer's message Meta has: a heart from the account (Instagram's one reaction), or
  // taken back when it has one.
  if (m.direction === "INBOUND" && m.externalMessageId) {
    const mine = Object.keys(reactions).length > 0;
    const react = el("button", { type: "button", className: "react", title: mine ? "Remove the heart" : "React with a heart" }, mine ? "♡" : "♥");
    react.addEventListener("click", () => reactTo(m.id, mine));
    item.append(react);
  }
  item.append(el("span", { className: "status" }, `${m.status}${m.errorCode ? ` (${m.errorCode})` : ""}`));
  return item;
}

async function reactTo(messageId, remove) {
  const path = `/api/inbox/conversations/${state.open}/messages/${messageId}/react`;
  try { await api(remove ? "DELETE" : "POST", path, remove ? undefined : { reaction: "love" }); }
  catch (e) { $("who").textContent = `Reaction not sent: ${e.message}`; }
}

// The customer sees the agent typing: told at most every 10 s while they type (Meta shows it
// for about 20 s); a late one is dropped by the server.
let typingToldAt = 0;
async function typing() {
  if (!state.open || Date.now() - typingToldAt < 10000) return;
  typingToldAt = Date.now();
  await api("POST", `/api/inbox/conversations/${state.open}/typing`, { on: true }).catch(() => {});
}

function showOwner() {
  const c = state.conversations.get(state.open);
  const held = c && c.threadControl && !c.threadControl.ours;
  $("owner").hidden = !held;
  if (held) $("owner-text").textContent = `Another app (${c.threadControl.ownerAppId || "a bot"}) controls this thread.`;
}

async function openThread(id) {
  state.open = id;
  renderConversations();
  const page = await api("GET", `/api/inbox/conversations/${id}/messages?limit=50`);
  $("messages").replaceChildren(...page.data.reverse().map(messageItem));
  $("reply").hidden = false;
  $("attach").hidden = false;
  showOwner();
  await api("POST", `/api/inbox/conversations/${id}/read`);
}

function apply(event) {
  const data = event.data;
  if (event.type === "conversation.updated") {
    state.conversations.set(data.id, data);
    renderConversations();
    if (data.id === state.open) showOwner();
  } else if (event.type.startsWith("message.") && data.conversationId === state.open) {
    const item = messageItem(data);
    const existing = $(`m-${data.id}`);
    if (existing) existing.replaceWith(item); else $("messages").append(item);
  } else if (event.type === "account.status_changed") {
    loadAccounts();
  }
}

async function follow() {
  let last = "";
  for (;;) {
    try {
      const headers = { authorization: `Bearer ${state.token}` };
      if (last) headers["last-event-id"] = last;
      const r = await fetch("/api/inbox/events", { headers });
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const field = (name) => (block.split("\n").find((l) => l.startsWith(`${name}:`)) || "").slice(name.length + 1).trim();
          if (field("id")) last = field("id");
          if (field("data")) apply(JSON.parse(field("data")));
        }
      }
    } catch (e) {
      $("who").textContent = `Live updates paused: ${e.message}`;
    }
    await new Promise((done) => setTimeout(done, 500));
  }
}

async function loadAccounts() {
  const accounts = await api("GET", "/api/integrations/connected-accounts");
  $("accounts").replaceChildren(...accounts.data.map((a) => el("li", {}, `${a.username || a.externalAccountId} · ${a.provider} · ${a.status}`)));
}

async function start() {
  try {
    const page = await api("GET", "/api/inbox/conversations?provider=ALL&limit=100");
    $("who").textContent = "Signed in";
    $("app").hidden = false;
    page.data.forEach((c) => state.conversations.set(c.id, c));
    renderConversations();
    await loadAccounts();
    await completeOAuth();
    follow();
  } catch (e) {
    $("who").textContent = `Not signed in: ${e.message}`;
  }
}

// The OAuth callback sends the browser back here (OAUTH_RETURN_URL) to complete as its initiator.
async function completeOAuth() {
  const q = new URLSearchParams(location.search);
  if (q.get("status") !== "authorized") return;
  const result = await api("POST", "/api/integrations/meta/oauth/complete", { code: q.get("code"), state: q.get("state") });
  $("who").textContent = `Connected ${result.connected.length} account(s)`;
  history.replaceState(null, "", "/");
  await loadAccounts();
}

$("sign-in").addEventListener("submit", (e) => {
  e.preventDefault();
  state.token = $("token").value.trim();
  sessionStorage.setItem("inboxToken", state.token);
  start();
});
$("connect").addEventListener("click", async () => {
  try { location.href = (await api("GET", "/api/integrations/meta/oauth/start")).url; }
  catch (e) { $("who").textContent = e.message; }
});
$("reply").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = $("reply-text").value.trim();
  if (!text || !state.open) return;
  // "Yes, No" under the text become quick replies, each its own payload.
  const choices = $("reply-choices").value.split(",").map((c) => c.trim()).filter(Boolean);
  const body = { text, takeControl: $("take-control").checked };
  if (choices.length) body.quickReplies = choices.map((c) => ({ type: "TEXT", title: c, payload: c.toUpperCase() }));
  try {
    await api("POST", `/api/inbox/conversations/${state.open}/send`, body);
    $("reply-text").value = "";
    $("reply-choices").value = "";
  } catch (err) { $("who").textContent = `Not sent: ${err.message}`; }
});
// A file from the computer: declared (the channel's formats and sizes are checked), put
// straight into storage with the signed PUT the declaration answers, then sent.
$("attach").addEventListener("submit", async (e) => {
  e.preventDefault();
  const file = $("attach-file").files[0];
  const conversation = state.open;
  if (!file || !conversation) return;
  try {
    const declared = { fileName: file.name, contentType: file.type || "application/octet-stream", size: file.size };
    const ticket = await api("POST", `/api/inbox/conversations/${conversation}/uploads`, declared);
    const put = await fetch(ticket.uploadUrl, { method: ticket.method, headers: ticket.headers, body: file });
    if (!put.ok) throw new Error(`the file was not stored (HTTP ${put.status})`);
    const body = { uploadId: ticket.uploadId, takeControl: $("take-control").checked };
    await api("POST", `/api/inbox/conversations/${conversation}/send-attachment`, body);
    $("attach-file").value = "";
  } catch (err) { $("who").textContent = `File not sent: ${err.message}`; }
});
$("reply-text").addEventListener("input", typing);
if (state.token) { $("token").value = state.token; start(); }
