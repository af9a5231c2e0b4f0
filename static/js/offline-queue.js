/* The offline check-in queue, shared by the page (offline-checkin.js) and the service worker
   (/sw.js imports it): IndexedDB "alliance-portal", one entry per check-in, named by its
   idempotency key. An entry holds the form's fields (never the CSRF token) and the tag of the
   user who made it; it is sent only while that user is signed in, and dropped once another
   user signs in on this browser. */
(function (scope) {
  "use strict";
  const DB = "alliance-portal";
  const STORE = "checkins";
  const SYNC_TAG = "portal-checkins";

  function open() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE, {keyPath: "key"});
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  /* One transaction; the database is closed after it, so sign-out can delete it at once. */
  async function run(mode, work) {
    const db = await open();
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction(STORE, mode);
        const request = work(tx.objectStore(STORE));
        tx.oncomplete = () => resolve(request.result);
        tx.onerror = () => reject(tx.error);
      });
    } finally {
      db.close();
    }
  }

  function newKey() {
    return scope.crypto && scope.crypto.randomUUID ? scope.crypto.randomUUID() : "";
  }

  /* form: a FormData (with the pressed button's name/value); user: the signed-in user's tag. */
  function add(form, user) {
    const fields = [];
    let key = "";
    for (const [name, value] of form.entries()) {
      if (name === "csrfmiddlewaretoken" || typeof value !== "string") continue;
      if (name === "idempotency_key") { key = value; continue; }
      fields.push([name, value]);
    }
    const entry = {key: key || newKey(), user: user, fields: fields, saved: Date.now()};
    return run("readwrite", (store) => store.put(entry)).then(() => entry);
  }

  function all() {
    return run("readonly", (store) => store.getAll());
  }

  function remove(key) {
    return run("readwrite", (store) => store.delete(key));
  }

  /* Today, read fresh: who is signed in (the tag header) and a CSRF token for the sends. */
  async function signedIn(today, userHeader) {
    const response = await fetch(today, {credentials: "same-origin", cache: "no-store"});
    if (!response.ok || new URL(response.url).pathname !== today) return null;
    const match = (await response.text()).match(/name="csrfmiddlewaretoken" value="([^"]+)"/);
    const user = response.headers.get(userHeader);
    return match && user ? {user: user, token: match[1]} : null;
  }

  /* The result of one send: "sent" (saved, or already saved: the key makes a repeat harmless),
     "refused" (the portal would not take it, e.g. the day is too long ago), "sign-in". */
  async function send(entry, today, token) {
    const body = new FormData();
    for (const [name, value] of entry.fields) body.append(name, value);
    body.append("idempotency_key", entry.key);
    body.append("csrfmiddlewaretoken", token);
    const response = await fetch(today, {method: "POST", body: body, credentials: "same-origin"});
    const path = new URL(response.url).pathname;
    if (response.redirected && path === today) return "sent";
    if (response.redirected) return "sign-in";
    if (response.status >= 500) throw new Error("server " + response.status);
    return "refused";
  }

  let flushing = null;

  /* Send every entry of the signed-in user (of the patient a caregiver acts for now); drop
     other users' entries. Returns the counts. */
  function flush(today, userHeader) {
    if (flushing) return flushing;
    flushing = (async () => {
      const result = {sent: 0, refused: 0, waiting: 0, signIn: false};
      const entries = await all();
      if (!entries.length) return result;
      const session = await signedIn(today, userHeader);
      if (!session) {
        result.signIn = true;
        result.waiting = entries.length;
        return result;
      }
      for (const entry of entries) {
        if (entry.user !== session.user) {
          // The same caregiver acting for another child now: keep it for that child's turn.
          if (entry.user.split(".")[0] === session.user.split(".")[0]) {
            result.waiting += 1;
            continue;
          }
          await remove(entry.key);
          continue;
        }
        const outcome = await send(entry, today, session.token);
        if (outcome === "sign-in") {
          result.signIn = true;
          result.waiting += 1;
          continue;
        }
        await remove(entry.key);
        result[outcome] += 1;
      }
      return result;
    })().finally(() => { flushing = null; });
    return flushing;
  }

  async function forget() {
    await new Promise((resolve) => {
      const request = indexedDB.deleteDatabase(DB);
      request.onsuccess = request.onerror = request.onblocked = () => resolve();
    });
  }

  scope.PortalQueue = {SYNC_TAG, add, all, remove, flush, forget};
})(self);
