// Live regions: connect the page named by [data-live-page] to the server's live stream and let
// htmx swap the regions that changed (each arrives with its id and hx-swap-oob). WebSockets by
// default, Server-Sent Events where the page asks for them or where WebSockets never open (a
// proxy that refuses upgrades). Both reconnect by themselves after a server restart.
(function () {
  "use strict";
  var root = document.querySelector("[data-live-page]");
  if (!root || !window.htmx) return;

  var args = liveArgs();
  var transport = root.dataset.liveTransport === "sse" ? "sse" : "ws";
  var opened = false;
  var failures = 0;
  var box = null;

  // The page's arguments: data-live-args, and (data-live-query="q sort page") those parameters of
  // the address, which changes as the page sorts, pages and filters its lists (or picks a chart's
  // range) in place.
  function liveArgs() {
    if (root.dataset.liveQuery === undefined) return root.dataset.liveArgs || "{}";
    var params = new URLSearchParams(location.search);
    var chosen = JSON.parse(root.dataset.liveArgs || "{}");
    root.dataset.liveQuery.split(/\s+/).forEach(function (name) {
      if (name && params.has(name)) chosen[name] = params.get(name);
    });
    return JSON.stringify(chosen);
  }

  function status(state, text) {
    var badge = document.getElementById("live-status");
    if (!badge) return;
    badge.dataset.state = state;
    badge.textContent = text;
    badge.title = state === "live" ? "Updating live over " + (transport === "ws" ? "WebSockets" : "Server-Sent Events") : text;
  }

  function connect() {
    var query = "page=" + encodeURIComponent(root.dataset.livePage) + "&args=" + encodeURIComponent(args);
    disconnect();
    box = document.createElement("div");
    box.id = "live-connection";
    box.hidden = true;
    var patching = root.dataset.livePatch !== undefined ? ",live-patch" : "";
    if (transport === "ws") {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      box.setAttribute("hx-ext", "ws" + patching);
      box.setAttribute("ws-connect", scheme + location.host + "/live/ws/?" + query);
    } else {
      box.setAttribute("hx-ext", "sse" + patching);
      box.setAttribute("sse-connect", "/live/sse/?" + query);
      box.setAttribute("sse-swap", "live,gone");
      box.setAttribute("hx-swap", "none");
    }
    document.body.appendChild(box);
    status("connecting", "Connecting…");
    htmx.process(box);
  }

  // htmx closes a connection when it cleans up its element; removing the element alone would
  // close it only when its next message arrives.
  function disconnect() {
    if (!box) return;
    htmx.trigger(box, "htmx:beforeCleanupElement");
    box.remove();
    box = null;
  }

  function gone() {
    disconnect();
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

  // A region marked data-live-set stands for which rows a list shows (the overview's queues and
  // topics). When the stream sends it changed, ask the element named by data-live-refresh to
  // reload its part of the page with the same address: new rows cannot be pushed as updates.
  // One reload at a time; changes during one ask for one more after it.
  function setReplaced(element, before) {
    if (!element.dataset || element.dataset.liveSet === undefined) return;
    if (before !== element.dataset.liveSet && element.dataset.liveRefresh) {
      refresh(element.dataset.liveRefresh);
    }
  }

  // Regions htmx swaps (on pages without data-live-patch, or regions with htmx attributes).
  var replacedSets = {};
  document.body.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail.target;
    // A region that arrives as the page already shows it is left alone: no new nodes for htmx
    // to process (the first frame after connecting repeats what the page was rendered with).
    var incoming = event.detail.fragment && event.detail.fragment.firstElementChild;
    if (target && incoming && target.isEqualNode(incoming)) {
      event.detail.shouldSwap = false;
      return;
    }
    if (target && target.dataset && target.dataset.liveSet !== undefined) {
      replacedSets[target.id] = target.dataset.liveSet;
    }
  });
  document.body.addEventListener("htmx:oobAfterSwap", function (event) {
    var element = event.target;
    if (!element || !element.dataset || !(element.id in replacedSets)) return;  // htmx fires this again for each later region
    var before = replacedSets[element.id];
    delete replacedSets[element.id];
    setReplaced(element, before);
  });

  // Patching in place (data-live-patch): a region of plain markup is updated where it differs
  // from what the page shows, its text and attributes only; htmx gets the rest of the frame.
  // htmx swaps a region whole: it cleans up every node of the old one, processes every node of
  // the new one and fires events for each, and a frame of the overview brings some 25 rows of
  // 20 nodes. At 2,000 queues that made each frame a main-thread task of 25-100 ms; a patch
  // changes the few cells that changed. The page gets "live:patched" from each region changed.
  htmx.defineExtension("live-patch", {
    transformResponse: function (text) {
      return patchRegions(text);
    },
  });

  function patchRegions(text) {
    // A <template> parses table rows as htmx does (in a <div> a <tr> would lose its tags).
    var template = document.createElement("template");
    template.innerHTML = text;
    // Most frames carry no htmx attribute but the regions' own: then no region needs a look.
    var plain = !HTMX_ATTRIBUTE.test(text);
    var rest = [];
    var patched = [];
    Array.from(template.content.children).forEach(function (incoming) {
      var target = incoming.id ? document.getElementById(incoming.id) : null;
      if (!target || target.tagName !== incoming.tagName || !patchable(incoming, plain)) {
        rest.push(incoming.outerHTML);
        return;
      }
      var before = target.dataset.liveSet;
      if (patch(target, incoming)) patched.push(target);
      setReplaced(target, before);
    });
    patched.forEach(function (element) {
      element.dispatchEvent(new CustomEvent("live:patched", { bubbles: true }));
    });
    return rest.join("");
  }

  var SWAP_OOB = ["hx-swap-oob", "data-hx-swap-oob"];
  // Text that may be such an attribute (or, harmlessly, just look like one).
  var HTMX_ATTRIBUTE = /\s(data-)?(hx-(?!swap-oob=)|sse-|ws-)/;

  // A region swapped whole by its outerHTML whose nodes need nothing from htmx: no hx-, sse- or
  // ws- attributes but the one that marks it a region (`plain`: the frame has none at all).
  function patchable(region, plain) {
    var how = region.getAttribute("hx-swap-oob") || region.getAttribute("data-hx-swap-oob") || "true";
    if (how !== "true" && how !== "outerHTML") return false;
    if (plain) return true;
    var elements = [region].concat(Array.from(region.querySelectorAll("*")));
    return elements.every(function (element) {
      return Array.from(element.attributes).every(function (attribute) {
        var name = attribute.name;
        return SWAP_OOB.indexOf(name) !== -1 || !/^(data-)?(hx|sse|ws)-/.test(name);
      });
    });
  }

  // Make `target` look like `incoming`, touching only what differs; whether anything did. Nodes
  // keep their places while the children's kinds and tags match; otherwise the children are
  // replaced with incoming's.
  function patch(target, incoming) {
    var changed = patchAttributes(target, incoming);
    // A ticking time keeps the text console.js refined to the second while its time is the same
    // (the server's text is to the minute).
    if (!changed && ticks(target)) return false;
    var now = target.childNodes;
    var next = incoming.childNodes;
    if (!sameShape(now, next)) {
      target.replaceChildren.apply(target, Array.from(next));
      return true;
    }
    for (var i = 0; i < now.length; i++) {
      if (now[i].nodeType === Node.ELEMENT_NODE) {
        if (patch(now[i], next[i])) changed = true;
      } else if (now[i].nodeValue !== next[i].nodeValue) {
        now[i].nodeValue = next[i].nodeValue;
        changed = true;
      }
    }
    return changed;
  }

  function ticks(element) {
    return element.tagName === "TIME" &&
      (element.hasAttribute("data-age") || element.hasAttribute("data-ago") || element.hasAttribute("data-countdown"));
  }

  function sameShape(now, next) {
    if (now.length !== next.length) return false;
    for (var i = 0; i < now.length; i++) {
      if (now[i].nodeName !== next[i].nodeName) return false;
    }
    return true;
  }

  function patchAttributes(target, incoming) {
    var changed = false;
    var attributes = target.attributes;
    for (var i = attributes.length - 1; i >= 0; i--) {
      var name = attributes[i].name;
      if (!incoming.hasAttribute(name) && SWAP_OOB.indexOf(name) === -1) {
        target.removeAttribute(name);
        changed = true;
      }
    }
    attributes = incoming.attributes;
    for (var j = 0; j < attributes.length; j++) {
      var attribute = attributes[j];
      if (target.getAttribute(attribute.name) !== attribute.value && SWAP_OOB.indexOf(attribute.name) === -1) {
        target.setAttribute(attribute.name, attribute.value);
        changed = true;
      }
    }
    return changed;
  }

  var refreshing = false;
  var refreshAgain = null;
  function refresh(selector) {
    if (refreshing) {
      refreshAgain = selector;
      return;
    }
    // The refresher names, in hx-select-oob, the parts to take from a fresh copy of this page.
    var source = document.querySelector(selector);
    if (!source) return;
    refreshing = true;
    var done = function () {
      refreshing = false;
      var next = refreshAgain;
      refreshAgain = null;
      if (next) refresh(next);
    };
    htmx.ajax("GET", location.pathname + location.search, { source: source, swap: "none" }).then(done, done);
  }

  // Back and forward load a live page afresh, where htmx would swap in a cached or fetched copy
  // of its body: this script would go on serving the page it replaced. (The overview keeps no
  // copies: hx-history="false".)
  htmx.config.refreshOnHistoryMiss = true;

  // A page that sorts, pages or filters in place pushes the new address: follow that view.
  function followAddress() {
    var now = liveArgs();
    if (now === args) return;
    args = now;
    connect();
  }
  document.body.addEventListener("htmx:pushedIntoHistory", followAddress);
  document.body.addEventListener("htmx:replacedInHistory", followAddress);

  connect();
})();
