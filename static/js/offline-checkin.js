/* The installable portal, on every page (templates/pwa/_head.html):
   - registers the service worker (/sw.js) once someone is signed in;
   - on Today, a check-in made with no connection is kept on this phone (offline-queue.js) and
     sent when the connection returns (Background Sync where the browser has it, otherwise
     when the phone is back online or on the next page); the status line says which;
   - signing out clears the worker's copies, the queue and the worker (with Clear-Site-Data).
   Without JavaScript the forms post as always. The words shown come from data attributes that
   Django renders (templates/pwa/_offline_status.html), so they are translated. */
(function () {
  "use strict";
  const script = document.getElementById("pwa-script");
  if (!script) return;
  const today = script.dataset.today;
  const user = script.dataset.user;  // the signed-in user's tag, "" when signed out
  const queue = window.PortalQueue;
  const hasWorker = "serviceWorker" in navigator;

  async function clearAll() {
    if (window.caches) {
      for (const name of await caches.keys()) await caches.delete(name);
    }
    if (queue) await queue.forget();
    if (hasWorker) {
      for (const registration of await navigator.serviceWorker.getRegistrations()) {
        await registration.unregister();
      }
    }
  }

  // Sign-out: the response says Clear-Site-Data; for browsers that ignore it, clear here too,
  // without holding the sign-out back, and again on the page it leads to (the flag).
  const SIGNED_OUT = "portal-signed-out";
  document.addEventListener("submit", (event) => {
    if (event.target.getAttribute("action") !== script.dataset.logout) return;
    try { sessionStorage.setItem(SIGNED_OUT, "1"); } catch (error) { /* private mode */ }
    clearAll().catch(() => null);
  });
  let signedOut = false;
  try { signedOut = sessionStorage.getItem(SIGNED_OUT) === "1"; } catch (error) { /* none */ }
  if (signedOut && !user) {
    clearAll().catch(() => null).finally(() => sessionStorage.removeItem(SIGNED_OUT));
  }

  if (!user && window.caches) {
    // Signed out (or the session ended): no copy of anyone's Today stays behind.
    caches.keys().then((names) => names.filter((name) => name.startsWith("today-"))
      .forEach((name) => caches.delete(name))).catch(() => null);
  }

  if (hasWorker && user) {
    // Registered once someone signs in: the worker serves no one before that.
    navigator.serviceWorker.register(script.dataset.sw, {scope: "/"}).catch(() => null);
    if (user && location.pathname === today && !navigator.serviceWorker.controller) {
      // The first visit was not served through the worker: ask it to keep Today now.
      navigator.serviceWorker.ready.then((registration) => {
        if (registration.active) registration.active.postMessage({type: "keep-today"});
      });
    }
  }

  const status = document.getElementById("offline-status");

  function say(kind) {
    if (!status || !status.dataset[kind]) return;
    status.replaceChildren();
    const line = document.createElement("p");
    line.className = "status offline-" + kind;
    line.textContent = status.dataset[kind];
    status.appendChild(line);
  }

  function report(result) {
    if (!result) return;
    if (result.failed) say("saved");  // still on the phone: the next try sends it
    else if (result.refused) say("refused");
    else if (result.signIn && result.waiting) say("signIn");
    else if (result.sent) say("sent");
    else if (status && status.querySelector(".offline-sending")) status.replaceChildren();
  }

  /* Send what this user has waiting. One sender at a time: the worker when it controls the
     page (its Background Sync may be sending too), else this page. */
  async function send() {
    if (!queue || !user) return;
    const entries = await queue.all();
    for (const entry of entries) {
      // Someone else's check-in (their session ended without signing out) never stays
      // under this user, nor is sent as them.
      if (entry.user !== user) await queue.remove(entry.key);
    }
    if (!entries.some((entry) => entry.user === user)) return;
    if (!navigator.onLine) {
      say("saved");
      return;
    }
    say("sending");
    const worker = hasWorker && navigator.serviceWorker.controller;
    if (worker) {
      worker.postMessage({type: "send-queue"});  // it answers with a "portal-queue" message
      return;
    }
    try {
      report(await queue.flush(today, script.dataset.userHeader));
    } catch (error) {
      report({failed: true});
    }
  }

  if (hasWorker) {
    navigator.serviceWorker.addEventListener("message", (event) => {
      if (event.data && event.data.type === "portal-queue") report(event.data.result);
    });
  }

  async function keep(form, submitter) {
    const entry = await queue.add(new FormData(form, submitter), user);
    say("saved");
    if (status) status.focus();
    if (hasWorker && window.SyncManager) {
      try {
        const registration = await navigator.serviceWorker.ready;
        await registration.sync.register(queue.SYNC_TAG);
      } catch (error) { /* no Background Sync: "online" or the next visit sends it */ }
    }
    return entry;
  }

  if (status && queue && user) {
    for (const form of document.querySelectorAll("form.checkin, form.quick-checkin")) {
      form.addEventListener("submit", (event) => {
        // A key per submission: a repeat (a lost response, a second tap) is saved once.
        let key = form.querySelector("input[name=idempotency_key]");
        if (!key) {
          key = document.createElement("input");
          key.type = "hidden";
          key.name = "idempotency_key";
          form.appendChild(key);
        }
        key.value = window.crypto && crypto.randomUUID ? crypto.randomUUID() : "";
        if (navigator.onLine) return;  // posted as usual; the worker keeps it if that fails
        event.preventDefault();
        keep(form, event.submitter).catch(() => form.submit());
      });
    }
  }

  window.addEventListener("online", () => { send().catch(() => null); });
  send().catch(() => null);
})();
