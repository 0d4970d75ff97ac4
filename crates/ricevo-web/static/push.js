// "Avvisami quando tocca a me": the waiting room asks the browser for a push subscription and
// hands it to the server, bound to this link. The server renders the block only when the town
// offers Web Push; this script shows it only when the browser can (service workers, the Push
// API and notifications). The service worker comes from this link's own path, so its scope is
// this link alone.
(function () {
  'use strict';
  var box = document.getElementById('push');
  if (!box) return;
  if (!('serviceWorker' in navigator) || !('PushManager' in window) || !('Notification' in window)) return;
  var button = document.getElementById('push-subscribe');
  var status = document.getElementById('push-status');

  function say(text) {
    status.textContent = text;
  }

  // The server's VAPID public key, base64url, as the bytes subscribe() takes.
  function keyBytes(text) {
    var b64 = text.replace(/-/g, '+').replace(/_/g, '/');
    while (b64.length % 4) b64 += '=';
    var raw = atob(b64);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  var registered = navigator.serviceWorker.register('push-sw.js', { scope: './' });
  registered.then(function () {
    box.setAttribute('data-registered', 'true');
  }, function () {
    box.setAttribute('data-registered', 'false');
  });
  box.hidden = false;
  if (Notification.permission === 'denied') {
    button.disabled = true;
    say(box.getAttribute('data-denied'));
    return;
  }

  button.addEventListener('click', function () {
    button.disabled = true;
    say(box.getAttribute('data-working'));
    Notification.requestPermission().then(function (permission) {
      if (permission !== 'granted') throw new Error('denied');
      return registered.then(function () { return navigator.serviceWorker.ready; });
    }).then(function (reg) {
      return reg.pushManager.getSubscription().then(function (existing) {
        return existing || reg.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: keyBytes(box.getAttribute('data-key'))
        });
      });
    }).then(function (subscription) {
      return fetch('push', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(subscription)
      });
    }).then(function (answer) {
      if (answer.ok) {
        button.hidden = true;
        say(box.getAttribute('data-done'));
        return;
      }
      return answer.json().then(function (body) {
        throw new Error((body && body.message) || box.getAttribute('data-failed'));
      }, function () {
        throw new Error(box.getAttribute('data-failed'));
      });
    }).catch(function (e) {
      button.disabled = false;
      say(e && e.message === 'denied' ? box.getAttribute('data-denied')
        : (e && e.message && e.message.indexOf(' ') > 0 ? e.message : box.getAttribute('data-failed')));
    });
  });
})();
