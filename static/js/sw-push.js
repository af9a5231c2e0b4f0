/* Push reminders in the service worker: imported by it (importScripts('/static/js/sw-push.js')).
   A push carries {title, body, url} and nothing about the patient's care (reminders.services
   push_message); a tap opens that check-in on this site. */
"use strict";

// Only this site's pages: a link elsewhere keeps its path and query on this origin.
function pushTarget(url) {
  try {
    var target = new URL(url, self.location.origin);
    return new URL(target.pathname + target.search, self.location.origin).href;
  } catch (error) {
    return new URL("/", self.location.origin).href;
  }
}

self.addEventListener("push", function (event) {
  var data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (error) {
    data = {};
  }
  var title = typeof data.title === "string" && data.title ? data.title : "Alliance Portal";
  event.waitUntil(self.registration.showNotification(title, {
    body: typeof data.body === "string" ? data.body : "",
    // One check-in notification at a time: a follow-up replaces an unread reminder.
    tag: "checkin",
    data: {url: pushTarget(typeof data.url === "string" ? data.url : "/")}
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = (event.notification.data && event.notification.data.url) || pushTarget("/");
  event.waitUntil(self.clients.matchAll({type: "window", includeUncontrolled: true})
    .then(function (windows) {
      for (var i = 0; i < windows.length; i += 1) {
        if (windows[i].url === url && "focus" in windows[i]) {
          return windows[i].focus();
        }
      }
      return self.clients.openWindow(url);
    }));
});
