/* Alliance Portal's service worker (served by core/pwa.py at /sw.js, scope "/").

   Hand-written rather than Workbox: it does three small things (keep static files, keep the
   patient's Today page network-first, send the offline check-in queue), and the rule that
   matters most, "never a copy of another user's record", is clearer in 150 lines we can read
   than in a vendored library's configuration around its generic caches.

   Kept: static files (stale-while-revalidate: WhiteNoise names them by hash in production) and
   the Today page, under the signed-in user's tag. Nothing else: no clinic page, no other
   patient page, no POST. */
"use strict";
const CONFIG = {{ config|safe }};

try {
  importScripts(CONFIG.queue);  // self.PortalQueue: the offline check-in queue (IndexedDB)
} catch (error) { /* the page sends the queue itself */ }
try {
  importScripts(CONFIG.push);  // push handlers: see the reminders push work
} catch (error) { /* no push handlers: harmless */ }

const STATIC_CACHE = "static-" + CONFIG.version;
const PAGE_PREFIX = "today-";  // + the user's tag: one user's copy at a time

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(STATIC_CACHE).then((cache) => cache.addAll(CONFIG.shell))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((names) => Promise.all(names
    .filter((name) => name.startsWith("static-") && name !== STATIC_CACHE)
    .map((name) => caches.delete(name)))).then(() => self.clients.claim()));
});

function isToday(url) {
  return url.origin === self.location.origin && url.pathname === CONFIG.today;
}

async function pageCaches() {
  return (await caches.keys()).filter((name) => name.startsWith(PAGE_PREFIX));
}

async function forgetPages(exceptName) {
  for (const name of await pageCaches()) {
    if (name !== exceptName) await caches.delete(name);
  }
}

/* Keep a Today response for offline use, only a signed-in patient's own page. */
async function keepToday(request, response) {
  const tag = response.headers.get(CONFIG.userHeader);
  if (!response.ok || response.redirected || !tag) return;
  const name = PAGE_PREFIX + tag;
  await forgetPages(name);  // another user's copy goes before this one is kept
  const cache = await caches.open(name);
  await cache.put(new URL(request.url).pathname, response);  // the last Today seen, whatever ?date=
}

async function todayNetworkFirst(request) {
  try {
    const response = await fetch(request);
    if (response.type === "opaqueredirect") {
      await forgetPages();  // signed out or expired: the copy belongs to nobody now
    } else {
      await keepToday(request, response.clone());
    }
    return response;
  } catch (error) {
    for (const name of await pageCaches()) {
      const cache = await caches.open(name);
      const kept = await cache.match(CONFIG.today, {ignoreSearch: true, ignoreVary: true});
      if (kept) return kept;
    }
    throw error;
  }
}

/* A check-in posted while the connection drops: keep it in the queue and show Today, which
   says it is saved on this phone. */
async function todayPost(request) {
  const copy = request.clone();
  try {
    return await fetch(request);
  } catch (error) {
    const names = await pageCaches();
    if (!self.PortalQueue || !names.length) throw error;
    const form = await copy.formData();
    await self.PortalQueue.add(form, names[0].slice(PAGE_PREFIX.length));
    try { await self.registration.sync.register(self.PortalQueue.SYNC_TAG); } catch (e) { /* none */ }
    return Response.redirect(CONFIG.today, 303);
  }
}

async function staticFile(request) {
  const cache = await caches.open(STATIC_CACHE);
  const kept = await cache.match(request);
  const fresh = fetch(request).then((response) => {
    if (response.ok) cache.put(request, response.clone());
    return response;
  });
  if (kept) {
    fresh.catch(() => null);
    return kept;
  }
  return fresh;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "GET" && url.pathname.startsWith("/static/")) {
    event.respondWith(staticFile(request));
  } else if (request.method === "GET" && isToday(url) && request.mode === "navigate") {
    event.respondWith(todayNetworkFirst(request));
  } else if (request.method === "POST" && isToday(url) && request.mode === "navigate") {
    event.respondWith(todayPost(request));
  }
});

async function tellPages(message) {
  for (const client of await self.clients.matchAll({type: "window"})) client.postMessage(message);
}

async function sendQueue() {
  if (!self.PortalQueue) return;
  let result;
  try {
    result = await self.PortalQueue.flush(CONFIG.today, CONFIG.userHeader);
  } catch (error) {
    result = {failed: true};
  }
  await tellPages({type: "portal-queue", result: result});
  if (result.failed) throw new Error("not sent yet");  // Background Sync tries again later
}

self.addEventListener("sync", (event) => {
  if (self.PortalQueue && event.tag === self.PortalQueue.SYNC_TAG) event.waitUntil(sendQueue());
});

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "keep-today") {
    // The first visit, before this worker controlled the page: keep Today now.
    const request = new Request(CONFIG.today, {credentials: "same-origin"});
    event.waitUntil(fetch(request).then((response) => keepToday(request, response)).catch(() => null));
  } else if (data.type === "send-queue") {
    event.waitUntil(sendQueue().catch(() => null));
  }
});
