// Roost console: toasts, copy buttons, ticking times, the confirmation dialog and keyboard
// niceties. Plain JavaScript next to htmx; every page works without it, just less nicely.
(function () {
  "use strict";

  // Toasts: from the server's HX-Trigger {"toast": {level, message}} and from Django messages.

  var toasts = document.getElementById("toasts");

  function dismissLater(toast, level) {
    var close = document.createElement("button");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", function () { toast.remove(); });
    toast.appendChild(close);
    setTimeout(function () { toast.remove(); }, level === "error" ? 10000 : 5000);
  }

  function showToast(detail) {
    if (!toasts || !detail || !detail.message) return;
    var level = detail.level || "info";
    var toast = document.createElement("div");
    toast.className = "toast toast-" + level;
    toast.setAttribute("role", level === "error" ? "alert" : "status");
    toast.textContent = detail.message;
    toasts.appendChild(toast);
    dismissLater(toast, level);
  }
  window.roostToast = showToast;

  if (toasts) {
    toasts.querySelectorAll(".toast").forEach(function (toast) {
      dismissLater(toast, toast.classList.contains("toast-error") ? "error" : "info");
    });
  }
  document.addEventListener("toast", function (event) { showToast(event.detail); });
  // A live update may replace the element that made a request before its answer comes (Undo in
  // the Trash, which the restore itself refreshes). htmx then fires the answer's HX-Trigger
  // events on the detached element, where nothing hears them, and afterRequest again on its
  // closest ancestor still in the page: take the toast from the header there.
  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    if (!elt || event.target === elt || document.body.contains(elt)) return;
    var header = event.detail.xhr && event.detail.xhr.getResponseHeader("HX-Trigger");
    if (!header || header.indexOf('"toast"') === -1) return;
    try {
      showToast(JSON.parse(header).toast);
    } catch (error) { /* not JSON: no toast */ }
  });

  // Errors htmx met without a toast of their own (a crash, the server gone).
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    if ((xhr.getResponseHeader("HX-Trigger") || "").indexOf('"toast"') !== -1) return;
    showToast({ level: "error", message: "Roost answered " + xhr.status + " " + xhr.statusText + "." });
  });
  document.addEventListener("htmx:sendError", function () {
    showToast({ level: "error", message: "Roost did not answer; is the server running?" });
  });

  // Copy buttons: data-copy="#id" copies that element's text.

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.dataset.copy);
    if (!source) return;
    var text = source.innerText.replace(/\n$/, "");
    var done = function () { showToast({ level: "success", message: "Copied." }); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { selectText(source); });
    } else {
      selectText(source);
      try { if (document.execCommand("copy")) done(); } catch (e) { /* left selected */ }
    }
  });

  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  // Times: <time data-ago> "3 min ago", <time data-age> "3 min", <time data-countdown> "in 25 s".
  // The server renders them to the minute so live regions change rarely; these refine them.

  function span(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var units = [[86400, " day", " days"], [3600, " h", " h"], [60, " min", " min"], [1, " s", " s"]];
    for (var i = 0; i < units.length; i++) {
      if (seconds >= units[i][0]) {
        var value = Math.floor(seconds / units[i][0]);
        return value + (value === 1 ? units[i][1] : units[i][2]);
      }
    }
    return "0 s";
  }

  var TICKING = "time[data-ago], time[data-age], time[data-countdown]";

  // Refine the times in `scope` (default: the whole page).
  function tick(scope) {
    var now = Date.now();
    var times = scope && scope.querySelectorAll ? Array.from(scope.querySelectorAll(TICKING)) : null;
    if (times && scope.matches(TICKING)) times.push(scope);
    (times || document.querySelectorAll(TICKING)).forEach(function (time) {
      var at = Date.parse(time.getAttribute("datetime"));
      if (isNaN(at)) return;
      var text;
      if (time.hasAttribute("data-countdown")) {
        var left = Math.floor((at - now) / 1000 + 0.999);
        text = left <= 0 ? "now" : left >= 60 && left < 3600 && left % 60
          ? "in " + Math.floor(left / 60) + " min " + (left % 60) + " s"
          : "in " + span(left);
      } else if (time.hasAttribute("data-age")) {
        text = span((now - at) / 1000);
      } else {
        text = now - at < 5000 ? "just now" : span((now - at) / 1000) + " ago";
      }
      if (time.textContent !== text) time.textContent = text;
    });
  }
  tick();
  setInterval(tick, 1000);
  // After a swap only the swapped elements are looked at: a live frame may swap fifty rows, and
  // htmx fires its event on every element swapped so far each time, so once a frame, deduplicated.
  var swapped = new Set();
  function tickSwapped(event) {
    if (!(event.target instanceof Element) || swapped.has(event.target)) return;
    if (!swapped.size) queueMicrotask(function () {
      swapped.forEach(function (element) { if (element.isConnected) tick(element); });
      swapped.clear();
    });
    swapped.add(event.target);
  }
  document.addEventListener("htmx:afterSettle", tickSwapped);
  document.addEventListener("htmx:oobAfterSwap", tickSwapped);
  document.addEventListener("live:patched", tickSwapped);  // regions live.js patched in place

  // The dialog: htmx puts a confirmation into #dialog; show it, close it after its request.
  // Confirmations focus Cancel, so Enter never destroys; Escape closes (the <dialog> does that).

  var dialog = document.getElementById("dialog");
  document.addEventListener("htmx:afterSwap", function (event) {
    if (!dialog || event.detail.target !== dialog) return;
    if (!dialog.open) dialog.showModal();
    // A refused answer (422) brings the form back with the error beside its field: focus it.
    var first = dialog.querySelector('[aria-invalid="true"], [autofocus], button, a, input');
    if (first) first.focus();
    dialog.querySelectorAll("[data-confirm-name]").forEach(checkTypedName);
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    // The form may have been swapped out: htmx then fires this on the dialog itself.
    if (dialog && dialog.open && dialog.contains(event.target) &&
        event.detail.requestConfig.verb !== "get" && event.detail.xhr.status !== 422) {
      dialog.close();
    }
  });
  document.addEventListener("click", function (event) {
    var close = event.target.closest("[data-close-dialog]");
    if (close && dialog && dialog.open) {
      event.preventDefault();
      dialog.close();
    }
  });
  if (dialog) {
    dialog.addEventListener("close", function () { dialog.replaceChildren(); });
  }

  // hx-confirm asks in the dialog too, with Cancel focused, not with window.confirm (whose OK
  // has the focus). Confirming sends the request htmx held back.
  document.addEventListener("htmx:confirm", function (event) {
    var question = event.detail.question;
    if (!question || !dialog || dialog.open) return;
    event.preventDefault();
    var elt = event.detail.elt;
    var submit = (elt.matches("form") && elt.querySelector('[type="submit"]')) || elt;
    var title = document.createElement("h2");
    title.id = "dialog-title";
    title.textContent = question;
    var confirm = document.createElement("button");
    confirm.type = "button";
    confirm.className = "button button-danger";
    confirm.textContent = submit.getAttribute("aria-label") || submit.textContent.trim();
    confirm.addEventListener("click", function () {
      dialog.close();
      event.detail.issueRequest(true);
    });
    var cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "button";
    cancel.textContent = "Cancel";
    cancel.setAttribute("data-close-dialog", "");
    var actions = document.createElement("div");
    actions.className = "actions";
    actions.append(confirm, cancel);
    var box = document.createElement("div");
    box.className = "confirm";
    box.append(title, actions);
    dialog.replaceChildren(box);
    dialog.showModal();
    cancel.focus();
  });

  // A typed-name confirmation (data-confirm-name): the form submits only once the name matches;
  // the server checks it again.
  function checkTypedName(input) {
    var name = input.getAttribute("data-confirm-name");
    input.setCustomValidity(input.value === name ? "" : "Type " + name + " exactly to confirm.");
  }
  document.querySelectorAll("[data-confirm-name]").forEach(checkTypedName);
  document.addEventListener("input", function (event) {
    if (event.target.matches("[data-confirm-name]")) checkTypedName(event.target);
  });

  // Rows that expand in place: a [data-expand] button shows or hides the element it controls.

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-expand]");
    if (!button) return;
    var target = document.getElementById(button.getAttribute("aria-controls"));
    if (!target) return;
    var open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", open ? "true" : "false");
    target.hidden = !open;
  });

  // Forms: another attribute row; select all messages; Ctrl/Cmd+Enter sends.

  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-row]");
    if (!add) return;
    var rows = add.parentElement.querySelector("[data-rows]");
    var last = rows && rows.querySelector("[data-row]:last-child");
    if (!last) return;
    var copy = last.cloneNode(true);
    copy.querySelectorAll("input").forEach(function (input) { input.value = ""; });
    copy.querySelectorAll("select").forEach(function (select) { select.selectedIndex = 0; });
    rows.appendChild(copy);
    copy.querySelector("input").focus();
  });

  document.addEventListener("change", function (event) {
    var all = event.target.closest("[data-select-all]");
    if (!all) return;
    var page = all.closest("#message-page") || document;
    page.querySelectorAll('input[type="checkbox"][name="' + all.dataset.selectAll + '"]').forEach(function (box) {
      box.checked = all.checked;
    });
  });

  document.addEventListener("keydown", function (event) {
    var field = event.target;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && field.hasAttribute &&
        field.hasAttribute("data-submit-on-ctrl-enter") && field.form) {
      event.preventDefault();
      field.form.requestSubmit();
      return;
    }
    // "/" jumps to the page's filter, unless you are typing somewhere.
    var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(field.tagName) || field.isContentEditable;
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = document.querySelector('[data-shortcut="' + event.key + '"]');
    if (target) {
      event.preventDefault();
      target.focus();
      if (target.select) target.select();
    }
  });

  // The subscribe form shows the fields of the chosen protocol only ([data-protocols]) and names
  // the endpoint for it (data-endpoint-words). Without this every field shows, each saying
  // which protocols it is for; hidden fields are disabled so they are not sent.

  function showProtocolFields(select) {
    var form = select.form;
    if (!form) return;
    var protocol = select.value;
    form.querySelectorAll("[data-protocols]").forEach(function (box) {
      var shown = box.dataset.protocols.split(" ").indexOf(protocol) !== -1;
      box.hidden = !shown;
      box.querySelectorAll("input, select, textarea").forEach(function (input) { input.disabled = !shown; });
    });
    var endpoint = form.querySelector("[data-endpoint-words]");
    if (!endpoint) return;
    var words = JSON.parse(endpoint.dataset.endpointWords)[protocol];
    if (!words) return;
    var label = form.querySelector('label[for="' + endpoint.id + '"]');
    if (label) label.textContent = words.label;
    endpoint.placeholder = words.placeholder;
    var help = document.getElementById(endpoint.id + "_helptext");
    if (help) help.textContent = words.help;
  }
  function showAllProtocolFields() {
    document.querySelectorAll("select[data-protocol-switch]").forEach(showProtocolFields);
  }
  showAllProtocolFields();
  document.addEventListener("htmx:afterSettle", showAllProtocolFields);
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-protocol-switch]")) showProtocolFields(event.target);
  });

  // FIFO-only fields ([data-fifo-only]) stay disabled until their form's FIFO box
  // ([data-fifo-switch]) is ticked or the name ends in .fifo; the server refuses them anyway.
  function syncFifoOnly(form) {
    var box = form && form.querySelector("[data-fifo-switch]");
    if (!box) return;
    var name = form.querySelector('input[name="name"]');
    var fifo = box.checked || Boolean(name && /\.fifo$/.test(name.value.trim()));
    form.querySelectorAll("[data-fifo-only]").forEach(function (field) { field.disabled = !fifo; });
  }
  function syncAllFifoOnly() {
    document.querySelectorAll("[data-fifo-switch]").forEach(function (box) { syncFifoOnly(box.form); });
  }
  syncAllFifoOnly();
  document.addEventListener("htmx:afterSettle", syncAllFifoOnly);
  ["change", "input"].forEach(function (kind) {
    document.addEventListener(kind, function (event) {
      if (event.target.form) syncFifoOnly(event.target.form);
    });
  });
})();
