// The card form: Stripe.js confirms the SetupIntent in the browser (the card never reaches
// us), then the form posts the SetupIntent's id so the server can start the subscription.
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

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    if (button.disabled) { return; }
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
