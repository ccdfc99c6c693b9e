// The front end: plain JavaScript, no build step. Every call to Circle
// goes to /circle/... on this origin, with the anti-forgery header
// X-CSRF: 1; the session cookie travels by itself, the member's tokens
// never reach the browser.
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

async function signOut() {
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
  try {
    await showFeed();
    showError(null);
  } catch (e) { showError(e); }
}

$("signout").addEventListener("click", signOut);
start();
