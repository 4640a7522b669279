// CSP probe for the checkout-csp-* pages: once the page has loaded, #status says whether the
// browser let Stripe.js run and, on pages with inline set-up code, whether that code ran. The
// page's own CSP allows this same-origin file; what it reports is what Chromium enforced.
(function () {
  'use strict';
  window.addEventListener('load', function () {
    var parts = [typeof window.Stripe === 'function' ? 'Stripe.js loaded' : 'Stripe.js blocked'];
    if (document.querySelector('script[data-inline-setup]')) {
      parts.push(window.shopInlineRan ? 'inline code ran' : 'inline code blocked');
    }
    document.getElementById('status').textContent = parts.join('; ');
  });
})();
