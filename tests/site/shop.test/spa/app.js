// Staging shop SPA bundle: loads Stripe.js at run time the way the npm loader @stripe/stripe-js
// does (a <script> element appended to <head>), so the HTML holds no Stripe.js tag. The URL is
// assembled from parts on purpose: this file must not contain the Stripe.js URL literally, so
// the page can only be recognised by the browser's script request.
(function () {
  'use strict';
  function loadStripe(key) {
    return new Promise(function (resolve, reject) {
      if (window.Stripe) return resolve(window.Stripe(key));
      var script = document.createElement('script');
      script.src = ['https:', '', 'js.' + 'stripe' + '.com', 'v3', ''].join('/');
      script.onload = function () {
        window.Stripe ? resolve(window.Stripe(key)) : reject(new Error('Stripe.js not available'));
      };
      script.onerror = function () { reject(new Error('Failed to load Stripe.js')); };
      document.head.appendChild(script);
    });
  }
  loadStripe('pk_test_51ShopStaging0000TestKey').then(window.shopCheckout, function (err) {
    document.getElementById('status').textContent = err.message;
  });
})();
