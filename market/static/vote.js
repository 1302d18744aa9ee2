// Vote page: sliders beside the number fields and a live total. The form works without this
// file (the server validates the numbers); this only makes splitting 100 % easier.
(function () {
  "use strict";
  var form = document.querySelector("form.vote-form");
  if (!form) { return; }
  var sliders = form.querySelectorAll("input.split-slider");
  var inputs = form.querySelectorAll("input.split-input");
  var total = document.getElementById("split-total");
  var totalLine = form.querySelector(".split-total");

  function number(value) {
    var n = parseFloat(String(value).replace(",", "."));
    return isFinite(n) ? n : 0;
  }

  function refresh() {
    var sum = 0;
    inputs.forEach(function (input) { sum += number(input.value); });
    sum = Math.round(sum * 100) / 100;
    total.textContent = String(sum);
    totalLine.classList.toggle("bad", sum !== 100);
    totalLine.classList.toggle("good", sum === 100);
  }

  sliders.forEach(function (slider) {
    var input = document.getElementById(slider.dataset.for);
    slider.hidden = false;
    slider.value = String(number(input.value));
    slider.addEventListener("input", function () {
      input.value = slider.value;
      refresh();
    });
    input.addEventListener("input", function () {
      slider.value = String(number(input.value));
      refresh();
    });
  });
  totalLine.hidden = false;
  refresh();
})();
