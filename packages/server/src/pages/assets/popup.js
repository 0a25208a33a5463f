// Gatehouse's pages inside the authenticator's popup (chooser, consent, relay) run this file; the
// CSP forbids inline script. It talks only to the opener, and only at the exact origin the server
// checked against the app's trusted origins (data-opener-origin), never '*'.
(function () {
  'use strict';
  var body = document.body;
  var origin = body.getAttribute('data-opener-origin');
  var rid = body.getAttribute('data-rid');
  if (!origin || !rid) return;
  var opener = window.opener;

  function post(message) {
    if (!opener || opener.closed) return false;
    message.source = 'gatehouse';
    message.rid = rid;
    try {
      opener.postMessage(message, origin);
      return true;
    } catch (e) {
      return false;
    }
  }

  if (body.hasAttribute('data-relay')) {
    var params = new URLSearchParams(window.location.search);
    var result = { type: 'gatehouse:result' };
    ['code', 'state', 'iss', 'error', 'error_description'].forEach(function (key) {
      if (params.has(key)) result[key] = params.get(key);
    });
    window.history.replaceState(null, '', window.location.pathname);
    if (post(result)) {
      window.close();
      return;
    }
    // No opener: a provider's Cross-Origin-Opener-Policy cut the link. The server kept the result
    // in its mailbox, where the authenticator picks it up.
    var status = document.getElementById('relay-status');
    if (status) status.textContent = 'You can close this window and return to the app.';
    window.close();
    return;
  }

  // Heartbeats tell the authenticator the popup shows a Gatehouse page, where popup.closed is true
  // only when it is closed. Leaving it (a form sent, a link followed) may lead to a provider's page
  // whose COOP makes an open popup read as closed: say so first. (Not on pagehide, which closing
  // the window fires too.)
  post({ type: 'gatehouse:alive' });
  var beat = setInterval(function () {
    post({ type: 'gatehouse:alive' });
  }, 1000);
  function leaving() {
    clearInterval(beat);
    post({ type: 'gatehouse:leaving' });
  }
  document.addEventListener('submit', leaving);
  document.addEventListener('click', function (event) {
    var target = event.target;
    if (target && target.closest && target.closest('a[href]')) leaving();
  });
})();
