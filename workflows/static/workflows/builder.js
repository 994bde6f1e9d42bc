/* The workflow builder: a {{ variable menu on step templates, and moving steps up and down.
   Plain JavaScript served by sageint; nothing is loaded from elsewhere. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("wf-variables").textContent);
  var TEMPLATE_FIELD = /^steps-\d+-(path|query|body)$/;
  var menu = document.createElement("ul");
  menu.className = "wf-var-menu";
  menu.setAttribute("role", "listbox");
  menu.hidden = true;
  document.body.appendChild(menu);
  var state = null; // {field, start, items, active}

  function stepForms() {
    return Array.prototype.filter.call(
      document.querySelectorAll(".inline-related"),
      function (el) { return /^steps-\d+$/.test(el.id) && !el.classList.contains("empty-form"); }
    );
  }

  function keyOf(form) {
    var input = form.querySelector("input[name$='-key']");
    return input ? input.value.trim() : "";
  }

  function isDeleted(form) {
    var box = form.querySelector("input[name$='-DELETE']");
    return box && box.checked;
  }

  // Variables a step may use: the trigger's fields, the user's, and the steps above it on the page.
  function variablesFor(field) {
    var form = field.closest(".inline-related");
    var names = data.trigger.concat(data.user);
    var forms = stepForms();
    for (var i = 0; i < forms.length && forms[i] !== form; i++) {
      var key = keyOf(forms[i]);
      if (!key || isDeleted(forms[i])) continue;
      names = names.concat(data.steps[key] || ["steps." + key + ".status", "steps." + key + ".response"]);
    }
    return names;
  }

  function open(field, start) {
    state = { field: field, start: start, all: variablesFor(field), items: [], active: 0 };
    refresh();
  }

  function close() {
    state = null;
    menu.hidden = true;
  }

  function refresh() {
    var caret = state.field.selectionStart;
    var typed = state.field.value.slice(state.start + 2, caret);
    if (caret < state.start + 2 || state.field.value.slice(state.start, state.start + 2) !== "{{" || /[}\n]/.test(typed)) {
      close();
      return;
    }
    var query = typed.trim().toLowerCase();
    state.items = state.all.filter(function (name) { return name.toLowerCase().indexOf(query) !== -1; });
    state.active = Math.min(state.active, Math.max(state.items.length - 1, 0));
    menu.innerHTML = "";
    state.items.slice(0, 100).forEach(function (name, index) {
      var item = document.createElement("li");
      item.textContent = name;
      item.setAttribute("role", "option");
      item.dataset.name = name;
      if (index === state.active) item.className = "active";
      item.addEventListener("mousedown", function (event) {
        event.preventDefault(); // keep the focus (and the caret) in the field
        insert(name);
      });
      menu.appendChild(item);
    });
    if (!state.items.length) {
      var none = document.createElement("li");
      none.className = "empty";
      none.textContent = "No variable matches";
      menu.appendChild(none);
    }
    var box = state.field.getBoundingClientRect();
    menu.style.left = window.scrollX + box.left + "px";
    menu.style.top = window.scrollY + box.bottom + 2 + "px";
    menu.hidden = false;
  }

  function insert(name) {
    var field = state.field;
    var caret = field.selectionStart;
    var text = "{{ " + name + " }}";
    field.value = field.value.slice(0, state.start) + text + field.value.slice(caret);
    var after = state.start + text.length;
    field.setSelectionRange(after, after);
    close();
    field.focus();
    field.dispatchEvent(new Event("change", { bubbles: true }));
  }

  document.addEventListener("input", function (event) {
    var field = event.target;
    if (!field.name || !TEMPLATE_FIELD.test(field.name)) return;
    var caret = field.selectionStart;
    if (field.value.slice(caret - 2, caret) === "{{") {
      open(field, caret - 2);
    } else if (state && state.field === field) {
      refresh();
    }
  });

  document.addEventListener("keydown", function (event) {
    if (!state || event.target !== state.field) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      var step = event.key === "ArrowDown" ? 1 : -1;
      state.active = (state.active + step + state.items.length) % Math.max(state.items.length, 1);
      refresh();
    } else if ((event.key === "Enter" || event.key === "Tab") && state.items.length) {
      event.preventDefault();
      insert(state.items[state.active]);
    } else if (event.key === "Escape") {
      close();
    }
  });

  document.addEventListener("focusout", function (event) {
    if (state && event.target === state.field) close();
  });

  // Reordering: ↑/↓ buttons move a step; positions follow the order on the page when the form is saved.
  function renumber() {
    stepForms().forEach(function (form, index) {
      var position = form.querySelector("input[name$='-position']");
      if (position) position.value = index;
    });
  }

  function addMoveButtons(form) {
    if (form.querySelector(".wf-move")) return;
    var heading = form.querySelector("h3");
    if (!heading) return;
    [["↑", -1, "Move up"], ["↓", 1, "Move down"]].forEach(function (spec) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "wf-move";
      button.textContent = spec[0];
      button.title = spec[2];
      button.addEventListener("click", function () {
        var forms = stepForms();
        var index = forms.indexOf(form);
        var other = forms[index + spec[1]];
        if (!other) return;
        if (spec[1] < 0) other.parentNode.insertBefore(form, other);
        else other.parentNode.insertBefore(other, form);
        renumber();
      });
      heading.appendChild(button);
    });
  }

  function prepare() {
    stepForms().forEach(addMoveButtons);
    renumber();
  }

  document.addEventListener("formset:added", prepare);
  prepare();
})();
