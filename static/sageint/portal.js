/* sageint connect portal, in a popup opened by connect.js: report to the opening page, at its allowed origins only.
   The data comes from the page (json_script "sageint-portal"): {targets: [origins], message: {...} or null}. */
(function () {
  "use strict";
  var data = document.getElementById("sageint-portal");
  if (!data) return;
  var portal = JSON.parse(data.textContent);
  var opener = window.opener;
  if (opener && portal.message) {
    portal.targets.forEach(function (origin) {
      // One exact origin per call, never "*": the browser delivers it only when the opener is at that origin.
      opener.postMessage(portal.message, origin);
    });
  }
  var back = document.getElementById("back-to-app");
  if (back && back.hasAttribute("data-close-popup")) {
    back.addEventListener("click", function (event) {
      if (!window.opener) return; // the opening page is gone: follow the link to the return URL instead
      event.preventDefault();
      window.close();
    });
  }
})();
