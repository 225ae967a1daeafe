// Live regions: connect the page named by [data-live-page] to the server's live stream and let
// htmx swap the regions that changed (each arrives with its id and hx-swap-oob). WebSockets by
// default, Server-Sent Events where the page asks for them or where WebSockets never open (a
// proxy that refuses upgrades). Both reconnect by themselves after a server restart.
(function () {
  "use strict";
  var root = document.querySelector("[data-live-page]");
  if (!root || !window.htmx) return;

  var query = "page=" + encodeURIComponent(root.dataset.livePage) +
    "&args=" + encodeURIComponent(root.dataset.liveArgs || "{}");
  var transport = root.dataset.liveTransport === "sse" ? "sse" : "ws";
  var opened = false;
  var failures = 0;
  var box = null;

  function status(state, text) {
    var badge = document.getElementById("live-status");
    if (!badge) return;
    badge.dataset.state = state;
    badge.textContent = text;
    badge.title = state === "live" ? "Updating live over " + (transport === "ws" ? "WebSockets" : "Server-Sent Events") : text;
  }

  function connect() {
    if (box) box.remove();
    box = document.createElement("div");
    box.id = "live-connection";
    box.hidden = true;
    if (transport === "ws") {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      box.setAttribute("hx-ext", "ws");
      box.setAttribute("ws-connect", scheme + location.host + "/live/ws/?" + query);
    } else {
      box.setAttribute("hx-ext", "sse");
      box.setAttribute("sse-connect", "/live/sse/?" + query);
      box.setAttribute("sse-swap", "live,gone");
      box.setAttribute("hx-swap", "none");
    }
    document.body.appendChild(box);
    status("connecting", "Connecting…");
    htmx.process(box);
  }

  function gone() {
    if (box) box.remove();
    box = null;
    status("gone", "No longer live: this page's object was deleted");
  }

  document.body.addEventListener("htmx:wsOpen", function () {
    opened = true;
    failures = 0;
    status("live", "Live");
  });
  document.body.addEventListener("htmx:wsClose", function (event) {
    var code = event.detail && event.detail.event && event.detail.event.code;
    if (code === 4404) return gone();
    if (code === 4401) return status("gone", "Log in again to follow live updates");
    if (!opened && ++failures >= 2) {
      transport = "sse";
      return connect();
    }
    status("reconnecting", "Reconnecting…");
  });
  document.body.addEventListener("htmx:sseOpen", function () {
    status("live", "Live");
  });
  document.body.addEventListener("htmx:sseError", function () {
    status("reconnecting", "Reconnecting…");
  });
  document.body.addEventListener("htmx:sseBeforeMessage", function (event) {
    if (event.detail && event.detail.type === "gone") {
      event.preventDefault();
      gone();
    }
  });

  // Reconnect quickly after a restart or deploy: jittered back-off capped at 5 s (htmx's default
  // grows to 64 s, so a page could stay stale long after the server is back).
  htmx.config.wsReconnectDelay = function (retryCount) {
    return Math.min(250 * Math.pow(2, retryCount), 5000) * (0.5 + Math.random() / 2);
  };

  // A region marked data-live-set stands for which objects exist (the overview's queues and
  // topics). When it arrives changed, ask the element named by data-live-refresh to reload its
  // part of the page with a "refresh" event: new rows cannot be pushed into a list as updates.
  var sets = {};
  document.querySelectorAll("[data-live-set]").forEach(function (element) {
    sets[element.id] = element.dataset.liveSet;
  });
  document.body.addEventListener("htmx:oobAfterSwap", function (event) {
    var element = event.target;
    if (!element || !element.dataset || element.dataset.liveSet === undefined) return;
    var before = sets[element.id];
    sets[element.id] = element.dataset.liveSet;
    if (before !== undefined && before !== element.dataset.liveSet && element.dataset.liveRefresh) {
      // The refresher names, in hx-select-oob, the parts to take from a fresh copy of this page.
      var source = document.querySelector(element.dataset.liveRefresh);
      if (source) htmx.ajax("GET", location.pathname + location.search, { source: source, swap: "none" });
    }
  });

  connect();
})();
