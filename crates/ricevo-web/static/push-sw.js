// Ricevo's waiting-room service worker (Web Push). It is registered from the citizen's own
// link, /a/{token}/push-sw.js, so its scope is that link and nothing else; it loads nothing
// and talks to no one: it shows the "tocca a te" notification and, on a click, focuses the
// waiting room or opens it again.
'use strict';

self.addEventListener('install', function () {
  self.skipWaiting();
});

self.addEventListener('activate', function (event) {
  event.waitUntil(self.clients.claim());
});

// The room of this link: a page of our own origin inside this worker's scope.
function roomUrl(relative) {
  var url = new URL(relative || 'join', self.registration.scope);
  if (url.origin !== self.location.origin || url.href.indexOf(self.registration.scope) !== 0) {
    url = new URL('join', self.registration.scope);
  }
  return url.href;
}

self.addEventListener('push', function (event) {
  var notice = {};
  try {
    notice = event.data ? event.data.json() : {};
  } catch (e) {
    notice = {};
  }
  var title = typeof notice.title === 'string' && notice.title ? notice.title : 'Ricevo';
  event.waitUntil(self.registration.showNotification(title, {
    body: typeof notice.body === 'string' ? notice.body : '',
    tag: typeof notice.tag === 'string' ? notice.tag : 'ricevo-turn',
    lang: notice.lang === 'en' ? 'en' : 'it',
    renotify: true,
    requireInteraction: true,
    data: { url: roomUrl(notice.url) }
  }));
});

self.addEventListener('notificationclick', function (event) {
  event.notification.close();
  var target = roomUrl(event.notification.data && event.notification.data.url);
  event.waitUntil(self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then(function (pages) {
    for (var i = 0; i < pages.length; i++) {
      if (pages[i].url.indexOf(self.registration.scope) === 0 && 'focus' in pages[i]) {
        return pages[i].focus();
      }
    }
    return self.clients.openWindow(target);
  }));
});
