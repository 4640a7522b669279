// Starts the checkout from a file (pages whose CSP allows no inline code): the Stripe object,
// then the shared checkout wiring.
(function () {
  'use strict';
  window.shopStripe = Stripe('pk_test_51ShopStaging0000TestKey');
  shopCheckout(window.shopStripe);
})();
