// The front end: plain JavaScript, no build step. Every call to Circle
// goes to /circle/... on this origin, with the anti-forgery header
// X-CSRF: 1; the session cookie travels by itself, the member's tokens
// never reach the browser. The count of new notifications and the count
// of chat messages since the page opened follow the member's events live
// from /circle/events?channels=notifications,chat_rooms (Server-Sent
// Events, read with fetch: EventSource cannot send X-CSRF).
"use strict";

const $ = (id) => document.getElementById(id);

async function call(method, path, body) {
  const init = { method, headers: { "X-CSRF": "1" }, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(path, init);
  if (!resp.ok) {
    let msg = resp.status + " " + resp.statusText;
    try { msg = (await resp.json()).message || msg; } catch (e) { /* not JSON */ }
    throw new Error(msg);
  }
  return resp.status === 204 ? null : resp.json();
}

function showError(e) { $("error").textContent = e ? String(e.message || e) : ""; }

async function showFeed() {
  const page = await call("GET", "/circle/api/headless/v1/home?per_page=20");
  const ul = $("feed");
  ul.replaceChildren();
  for (const post of page.records || []) {
    const li = document.createElement("li");
    li.className = "post";
    li.dataset.id = post.id;
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = post.name;
    const bookmark = document.createElement("button");
    bookmark.type = "button";
    bookmark.className = "bookmark";
    bookmark.textContent = "Bookmark";
    bookmark.addEventListener("click", async () => {
      try {
        await call("POST", "/circle/api/headless/v1/bookmarks", { record_id: post.id, bookmark_type: "post" });
        $("status").textContent = "Bookmarked: " + post.name;
        showError(null);
      } catch (e) { showError(e); }
    });
    li.append(name, bookmark);
    ul.append(li);
  }
}

// Live notifications.

let live = null; // the AbortController of the open event stream

function showCount(n) { $("notification-count").textContent = String(n); }

let chatCount = 0; // chat messages in the member's rooms since the page opened

async function refreshCount() {
  const c = await call("GET", "/circle/api/headless/v1/notifications/new_notifications_count");
  showCount(c.new_notifications_count || 0);
}

function onEvent(name, data) {
  switch (name) {
    case "updateNewNotificationCount":
    case "resetNewNotificationCount":
      showCount(data.new_notifications_count || 0);
      break;
    case "newNotification":
      $("last-notification").textContent = [data.actor_name, data.action, data.notifiable_title].filter(Boolean).join(" ");
      break;
    case "newMessage": // a message in one of the member's chat rooms
      chatCount++;
      $("chat-count").textContent = String(chatCount);
      $("last-message").textContent = [data.sender && data.sender.name, data.body].filter(Boolean).join(": ");
      break;
    case "reconnected": // events of the gap are lost: ask again
      // data.channel says whose gap it was; the chat count only counts
      // what the page saw, so only the notification count is refetched.
      if (data.channel !== "chat_rooms") refreshCount().catch(showError);
      break;
    case "error": // the server ended the stream for good: {"error": kind}
      throw Object.assign(new Error("events: " + data.error),
        { status: data.error === "signed_out" || data.error === "unauthorized" ? 401 : 0 });
  }
}

// follow reads one event stream until it ends: messages are separated by
// a blank line, "event: name" gives the type and "data: ..." the JSON
// payload; lines starting with ":" are the server's heartbeats.
async function follow(signal) {
  const resp = await fetch("/circle/events?channels=notifications,chat_rooms", { headers: { "X-CSRF": "1" }, credentials: "same-origin", signal });
  if (!resp.ok) throw Object.assign(new Error("events: " + resp.status), { status: resp.status });
  $("live").textContent = "live";
  await refreshCount(); // what happened before the stream opened
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let name = null, data = null;
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data = (data === null ? "" : data + "\n") + line.slice(5).replace(/^ /, "");
      }
      if (name === null && data === null) continue; // a heartbeat
      onEvent(name || "message", data ? JSON.parse(data) : {});
    }
  }
}

// startLive follows the events until stopLive, reconnecting after a
// pause that doubles up to 30 s; a 401 or 403, or a stream that ends
// because the member signed out or lost access, stops it.
async function startLive() {
  stopLive();
  const ctl = new AbortController();
  live = ctl;
  let wait = 1000;
  while (!ctl.signal.aborted) {
    try {
      await follow(ctl.signal);
      wait = 1000;
    } catch (e) {
      if (ctl.signal.aborted) return;
      if (e.status === 401 || e.status === 403) { $("live").textContent = "offline"; return; }
    }
    $("live").textContent = "reconnecting";
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(wait * 2, 30000);
  }
}

function stopLive() {
  if (live) live.abort();
  live = null;
}

async function signOut() {
  stopLive();
  try {
    await call("POST", "/circle/logout"); // revokes the member's tokens at Circle
    await call("POST", "/signout");       // ends the site's own session
  } catch (e) { showError(e); }
  await start();
}

async function start() {
  const resp = await fetch("/session", { credentials: "same-origin" });
  const signedIn = resp.ok;
  $("signin").classList.toggle("hidden", signedIn);
  $("member").classList.toggle("hidden", !signedIn);
  $("feed").replaceChildren();
  $("status").textContent = "";
  if (!signedIn) return;
  $("who").textContent = (await resp.json()).email;
  startLive();
  try {
    await showFeed();
    showError(null);
  } catch (e) { showError(e); }
}

$("signout").addEventListener("click", signOut);
start();
