// Vote page: sliders beside the number fields and a live total. The form works without this
// file (the server validates the numbers); this only makes splitting 100 % easier.
// "Keep the total at 100 %" spreads a slider's change over the other channels, and
// "Balance the rest" fills (or trims) the others up to 100 %. Both work in hundredths of a
// percent with largest remainders, so the number boxes always hold exact values.
(function () {
  "use strict";
  var form = document.querySelector("form.vote-form");
  if (!form) { return; }
  var sliders = form.querySelectorAll("input.split-slider");
  var inputs = Array.prototype.slice.call(form.querySelectorAll("input.split-input"));
  var total = document.getElementById("split-total");
  var totalLine = form.querySelector(".split-total");
  var keep = document.getElementById("keep-100");
  var balance = document.getElementById("balance-rest");
  var lastTouched = -1;

  function number(value) {
    var n = parseFloat(String(value).replace(",", "."));
    return isFinite(n) && n > 0 ? n : 0;
  }

  function hundredths(input) { return Math.round(number(input.value) * 100); }

  function show(h) {  // 3350 -> "33.5", 3000 -> "30"
    return String(h / 100);
  }

  function sumHundredths() {
    return inputs.reduce(function (s, input) { return s + hundredths(input); }, 0);
  }

  function refresh() {
    var sum = sumHundredths() / 100;
    total.textContent = String(sum);
    totalLine.classList.toggle("bad", sum !== 100);
    totalLine.classList.toggle("good", sum === 100);
    inputs.forEach(function (input) {
      var slider = form.querySelector('input.split-slider[data-for="' + input.id + '"]');
      if (slider) { slider.value = String(number(input.value)); }
    });
  }

  // Give the other channels (all but `fixed`) 10000 minus what `fixed` holds, in proportion
  // to what they hold now (equally if they hold nothing), by largest remainder.
  function spread(fixed) {
    var others = inputs.filter(function (_, i) { return i !== fixed; });
    if (!others.length) { return; }
    var room = 10000 - (fixed >= 0 ? hundredths(inputs[fixed]) : 0);
    if (room < 0) { inputs[fixed].value = "100"; room = 0; }
    var weights = others.map(hundredths);
    var wsum = weights.reduce(function (a, b) { return a + b; }, 0);
    if (wsum === 0) { weights = others.map(function () { return 1; }); wsum = others.length; }
    var parts = weights.map(function (w) { return Math.floor(room * w / wsum); });
    var order = weights.map(function (w, j) { return j; }).sort(function (a, b) {
      return (room * weights[b] % wsum) - (room * weights[a] % wsum) || a - b;
    });
    var left = room - parts.reduce(function (a, b) { return a + b; }, 0);
    for (var k = 0; k < left; k += 1) { parts[order[k]] += 1; }
    others.forEach(function (input, j) { input.value = show(parts[j]); });
  }

  sliders.forEach(function (slider) {
    var input = document.getElementById(slider.dataset.for);
    var index = inputs.indexOf(input);
    slider.hidden = false;
    slider.value = String(number(input.value));
    slider.addEventListener("input", function () {
      input.value = slider.value;
      lastTouched = index;
      if (keep && keep.checked) { spread(index); }
      refresh();
    });
    input.addEventListener("input", function () {
      lastTouched = index;
      refresh();
    });
  });
  if (balance) {
    balance.hidden = false;
    balance.addEventListener("click", function () { spread(lastTouched); refresh(); });
  }
  if (keep) { keep.closest("p").hidden = false; }
  totalLine.hidden = false;
  refresh();
})();
