// The seed's page script: the authenticator fills the hidden fields, then the form can be sent.
// Loaded as a file (the page's CSP allows no inline script).
(function () {
  'use strict';
  var config = document.getElementById('gatehouse-config').dataset;
  var status = document.getElementById('status');
  var upload = document.getElementById('upload');

  function callback(result) {
    if (result.error) {
      status.textContent = 'Not connected (' + result.error + ').';
      status.dataset.error = result.error;
      return;
    }
    document.getElementById('account_id').value = result.account.id;
    document.getElementById('access_token').value = result.access_token;
    status.textContent = 'Connected: ' + (result.account.email || result.account.name || result.account.id) + ' (' + result.account.provider + ').';
    delete status.dataset.error;
    upload.disabled = false;
  }

  Gatehouse.setGlobalOptions({ baseUrl: config.baseUrl });
  Gatehouse.authenticator(document.getElementById('auth'), { client_id: config.clientId, scope: config.scope }, callback);
})();
