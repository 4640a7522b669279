/* Stand-in for Stripe.js v3, served as https://js.stripe.com/v3/ on the test site only.
 * Stripe(key) returns an object whose collectFinancialConnectionsAccounts() does what the real
 * flow does on the wire: opens a popup, adds the linked-accounts iframe and calls the
 * Financial Connections API (test mode), then resolves with the linked accounts. */
(function () {
  'use strict';
  var INNER = 'https://js.stripe.com/v3/linked-accounts-inner-8a1c3e5f0b2d.html';
  var POPUP = 'https://js.stripe.com/v3/fc-popup.html';
  var API = 'https://api.stripe.com/v1/link_account_sessions/list_accounts';

  function Stripe(key) {
    if (!(this instanceof Stripe)) return new Stripe(key);
    if (typeof key !== 'string' || !/^pk_(test|live)_/.test(key)) {
      throw new Error('Invalid publishable key');
    }
    this._key = key;
  }

  Stripe.prototype.collectFinancialConnectionsAccounts = function (opts) {
    var key = this._key;
    window.open(POPUP, 'stripe-fc-popup', 'popup,width=420,height=520');
    var frame = document.createElement('iframe');
    frame.src = INNER;
    frame.title = 'Stripe Financial Connections';
    frame.className = 'stripe-fc';
    document.body.appendChild(frame);
    var url = API + '?client_secret=' + encodeURIComponent(opts.clientSecret) + '&key=' +
      encodeURIComponent(key);
    return fetch(url, { credentials: 'omit' })
      .then(function (r) {
        if (!r.ok) throw new Error('API answered ' + r.status);
        return r.json();
      })
      .then(function (session) {
        return { financialConnectionsSession: { id: session.id, accounts: session.accounts.data } };
      });
  };

  window.Stripe = Stripe;
})();
