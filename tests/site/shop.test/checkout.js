// Staging shop checkout: wires the "Link bank account" button to Stripe's Financial Connections
// flow. Shared by every checkout page; the page creates the Stripe object (inline script or
// the SPA loader) and hands it to shopCheckout().
(function () {
  'use strict';
  window.shopCheckout = function (stripe) {
    var status = document.getElementById('status');
    var button = document.getElementById('link-bank');
    status.textContent = 'Stripe.js ready';
    button.disabled = false;
    button.addEventListener('click', function () {
      button.disabled = true;
      status.textContent = 'Linking…';
      stripe
        .collectFinancialConnectionsAccounts({ clientSecret: 'fcsess_client_secret_test_shop' })
        .then(function (result) {
          var names = result.financialConnectionsSession.accounts.map(function (a) {
            return a.institution_name;
          });
          status.textContent = 'Linked ' + names.length + ' accounts: ' + names.join(', ');
        }, function (err) {
          status.textContent = 'Link failed: ' + err.message;
        });
    });
  };
})();
