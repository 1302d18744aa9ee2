// The card form: Stripe.js confirms the SetupIntent in the browser (the card never reaches
// us), then the form posts the SetupIntent's id so the server can start the subscription
// (or, for a card update, make it the card on file).
(function () {
  'use strict';
  var form = document.getElementById('dues-form');
  if (!form || typeof window.Stripe === 'undefined') { return; }
  var stripe = window.Stripe(form.dataset.stripeKey);
  var card = stripe.elements().create('card');
  card.mount('#card-element');
  var errors = document.getElementById('card-errors');
  var button = document.getElementById('pay-button');
  var intentField = form.querySelector('input[name="setup_intent"]');

  // Real Stripe renders its own labelled fields in an iframe. localstripe (development and
  // tests) renders bare inputs: give them names people read, and accept the number as
  // people type it (4242 4242 4242 4242), which localstripe would refuse with its spaces.
  var names = [['Card number', '1234 1234 1234 1234'], ['Expiry month', 'MM'],
    ['Expiry year', 'YY'], ['CVC', 'CVC'], ['Postal code', 'ZIP']];
  var plain = document.querySelectorAll('#card-element input');
  Array.prototype.forEach.call(plain, function (input, i) {
    if (!names[i]) { return; }
    input.setAttribute('aria-label', names[i][0]);
    input.setAttribute('placeholder', names[i][1]);
    input.setAttribute('autocomplete', ['cc-number', 'cc-exp-month', 'cc-exp-year', 'cc-csc', 'postal-code'][i]);
    input.setAttribute('inputmode', i === 4 ? 'text' : 'numeric');
    if (i === 0) { input.setAttribute('size', '19'); }
  });

  function normaliseNumber() {
    var number = plain[0];
    if (!number) { return; }
    var digits = number.value.replace(/[\s-]/g, '');
    if (digits !== number.value) {
      number.value = digits;
      number.dispatchEvent(new Event('input', { bubbles: true }));
    }
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    if (button.disabled) { return; }
    normaliseNumber();
    button.disabled = true;
    errors.textContent = '';
    stripe.confirmCardSetup(form.dataset.clientSecret, { payment_method: { card: card } })
      .then(function (result) {
        if (result.error) {
          errors.textContent = (result.error.message || 'Your card could not be set up.') +
            ' Please check it or try another card.';
          button.disabled = false;
          return;
        }
        intentField.value = result.setupIntent.id;
        form.submit();
      });
  });
}());
