// Study registration wizard: a live character counter under every field with a limit.
(function () {
  "use strict";
  function attach(field) {
    var limit = parseInt(field.dataset.limit, 10);
    // A field the server refused stays marked invalid until the step is sent again.
    var refused = field.getAttribute("aria-invalid") === "true";
    var counter = document.createElement("span");
    counter.className = "counter";
    counter.setAttribute("aria-live", "polite");
    field.insertAdjacentElement("afterend", counter);
    function update() {
      var used = field.value.length;
      counter.textContent = used + " / " + limit + " characters";
      counter.classList.toggle("over", used > limit);
      field.setAttribute("aria-invalid", used > limit || refused ? "true" : "false");
    }
    field.addEventListener("input", update);
    update();
  }
  document.querySelectorAll("[data-limit]").forEach(attach);
})();
