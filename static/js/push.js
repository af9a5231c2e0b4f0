/* Reminders on this phone (templates/reminders/_push.html): ask the browser for a push
   subscription and give it to the server, or take it back. Works only where the portal's
   service worker controls the page and the Push API exists (the installed app); elsewhere the
   sentence saying so stays. Every text shown comes from the template, translated there. */
(function () {
  "use strict";

  var section = document.querySelector("[data-push]");
  if (!section || !("serviceWorker" in navigator) || !("PushManager" in window) ||
      !("Notification" in window)) {
    return;
  }
  var needs = section.querySelector("[data-push-needs]");
  var said = section.querySelector("[data-push-said]");
  var on = section.querySelector("[data-push-subscribe]");
  var off = section.querySelector("[data-push-unsubscribe]");
  var token = section.querySelector("input[name=csrfmiddlewaretoken]").value;

  function say(text) {
    said.textContent = text;
    said.hidden = false;
  }

  function show(subscribed) {
    on.hidden = subscribed;
    off.hidden = !subscribed;
  }

  // The VAPID public key: base64url text to the bytes the Push API wants.
  function keyBytes(text) {
    var padded = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = window.atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": token},
      body: JSON.stringify(body)
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
    });
  }

  function subscribe(registration) {
    var options = {userVisibleOnly: true, applicationServerKey: keyBytes(section.dataset.publicKey)};
    return registration.pushManager.subscribe(options).catch(function () {
      // A subscription made with an earlier server key: replace it.
      return registration.pushManager.getSubscription().then(function (old) {
        return (old ? old.unsubscribe() : Promise.resolve()).then(function () {
          return registration.pushManager.subscribe(options);
        });
      });
    });
  }

  navigator.serviceWorker.getRegistration().then(function (found) {
    if (!found) {
      return;  // not the installed app (no service worker): the sentence stays
    }
    return navigator.serviceWorker.ready.then(function (registration) {
      needs.hidden = true;
      return registration.pushManager.getSubscription().then(function (current) {
        // A browser subscription the server has none of for this patient (another account's,
        // or dropped) is offered again rather than shown as on.
        show(Boolean(current) && section.dataset.phones !== "0");
        on.addEventListener("click", function () {
          on.disabled = true;
          Notification.requestPermission().then(function (permission) {
            if (permission !== "granted") {
              say(section.dataset.saidBlocked);
              return;
            }
            return subscribe(registration).then(function (subscription) {
              return post(section.dataset.subscribeUrl, subscription.toJSON());
            }).then(function () {
              section.dataset.phones = "1";
              show(true);
              say(section.dataset.saidOn);
            });
          }).catch(function () {
            say(section.dataset.saidFailed);
          }).then(function () {
            on.disabled = false;
          });
        });
        off.addEventListener("click", function () {
          off.disabled = true;
          registration.pushManager.getSubscription().then(function (subscription) {
            if (!subscription) {
              return;
            }
            return post(section.dataset.unsubscribeUrl, {endpoint: subscription.endpoint})
              .then(function () { return subscription.unsubscribe(); });
          }).then(function () {
            show(false);
            say(section.dataset.saidOff);
          }).catch(function () {
            say(section.dataset.saidFailed);
          }).then(function () {
            off.disabled = false;
          });
        });
      });
    });
  });
}());
