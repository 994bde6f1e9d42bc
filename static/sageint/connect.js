/* sageint connect: let your users connect Sage Accounting from your own page. No build step, no dependencies.

   <script src="https://sageint.example.com/static/sageint/connect.js"></script>
   <script>
     // `token` comes from your backend: POST /api/v1/connect/sessions (project API key).
     Sageint.connect({ token: token }).then(
       function (result) { console.log(result.state, result.business); },   // "active", {id, name}; result.connectionId
       function (error) { console.log(error.reason, error.message); }       // "closed", "denied", "blocked", "expired", "error"
     );
   </script>

   The portal opens in a popup. On small screens, or when the browser blocks the popup, this page goes to the
   portal instead and the user comes back to the session's return URL with the outcome in its query
   (`sageint_status`, `sageint_state`, `sageint_business_id`, `sageint_connection_id`), which Sageint.result() reads; the promise of a page
   that was left never settles. Options:
     token     (required) the connect session's token
     display   "auto" (default: popup, a full page under 600 px wide), "popup" or "page"
     redirect  false: reject with "blocked" instead of leaving the page when the popup is blocked
     baseUrl   where sageint is, when this file is not loaded from sageint itself
   Outcomes are accepted only from sageint's own origin and from the popup this call opened. */
(function (global) {
  "use strict";

  var script = document.currentScript;
  var loadedFrom = script && script.src ? new URL(script.src, global.location.href).origin : "";
  var SMALL_SCREEN = "(max-width: 600px)";
  var PORTAL_PATH = "/connect/sageaccounting/session/";
  var CLOSED_POLL_MS = 250;

  function ConnectError(reason, message) {
    var error = new Error(message);
    error.name = "SageintConnectError";
    error.reason = reason;
    return error;
  }

  var MESSAGES = {
    closed: "The connect window was closed before Sage Accounting was connected.",
    denied: "The user declined the connection at Sage Accounting.",
    blocked: "The browser blocked the connect popup.",
    expired: "The connect session has expired or was already used: create a new one.",
    error: "Connecting Sage Accounting failed."
  };

  function portalUrl(base, token, display) {
    return base + PORTAL_PATH + "?token=" + encodeURIComponent(token) + "&display=" + display;
  }

  function popupFeatures() {
    var width = 520, height = 720;
    var left = Math.max(0, (global.screenX || 0) + ((global.outerWidth || width) - width) / 2);
    var top = Math.max(0, (global.screenY || 0) + ((global.outerHeight || height) - height) / 2);
    return "popup=yes,width=" + width + ",height=" + height + ",left=" + Math.round(left) + ",top=" + Math.round(top);
  }

  function settleWith(message, resolve, reject) {
    if (message && (message.status === "connected" || message.status === "disconnected")) {
      var connection = message.connection || {};
      resolve({
        state: connection.state || message.status,
        business: connection.business || null,
        connectionId: connection.id || null,
        endUserId: connection.end_user_id || null
      });
      return;
    }
    var reason = message ? message.status : "closed";
    if (!MESSAGES[reason]) reason = "error";
    reject(ConnectError(reason, (message && message.message) || MESSAGES[reason]));
  }

  function connect(options) {
    options = options || {};
    return new Promise(function (resolve, reject) {
      if (!options.token || typeof options.token !== "string") {
        throw new TypeError("Sageint.connect needs {token}: create a connect session on your server first.");
      }
      var base = (options.baseUrl || loadedFrom || "").replace(/\/+$/, "");
      if (!base) throw new TypeError("Sageint.connect cannot tell where sageint is: pass {baseUrl}.");
      var sageintOrigin = new URL(base).origin;
      var display = options.display || "auto";
      var small = global.matchMedia && global.matchMedia(SMALL_SCREEN).matches;

      function leavePage() {
        global.location.assign(portalUrl(base, options.token, "page"));
      }
      if (display === "page" || (display === "auto" && small)) {
        leavePage();
        return;
      }
      var popup = global.open(portalUrl(base, options.token, "popup"), "sageint-connect", popupFeatures());
      if (!popup) {
        if (options.redirect === false) reject(ConnectError("blocked", MESSAGES.blocked));
        else leavePage();
        return;
      }

      var latest = null;
      var done = false;
      var poll;
      function finish() {
        if (done) return;
        done = true;
        clearInterval(poll);
        global.removeEventListener("message", onMessage);
        settleWith(latest, resolve, reject);
      }
      function onMessage(event) {
        // Only sageint's own pages, in the popup this call opened, speak for the outcome.
        if (event.origin !== sageintOrigin || event.source !== popup) return;
        var data = event.data;
        if (!data || data.source !== "sageint" || data.type !== "connect.outcome") return;
        latest = data; // the last report wins: a user who declines, then connects after all, is connected
        if (data.close) {
          popup.close();
          finish();
        }
      }
      global.addEventListener("message", onMessage);
      poll = setInterval(function () {
        // A report posted just before the window closed is still queued: let it arrive first.
        if (popup.closed) setTimeout(finish, 50);
      }, CLOSED_POLL_MS);
    });
  }

  /* On the return URL's page after a full-page connect: {status, state, businessId, connectionId}, or null. The
     query can be typed by anyone: show it, but have your backend confirm with GET /api/v1/connections/{id}. */
  function result(url) {
    var params = new URL(url || global.location.href).searchParams;
    if (!params.get("sageint_status")) return null;
    return {
      status: params.get("sageint_status"),
      state: params.get("sageint_state"),
      businessId: params.get("sageint_business_id"),
      connectionId: params.get("sageint_connection_id")
    };
  }

  global.Sageint = { connect: connect, result: result };
})(window);
