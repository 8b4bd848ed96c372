// Shows the page in the reader's time zone: the server renders UTC until it knows better.
// Without JavaScript the page reads the same, in UTC (or the zone chosen in the footer).
(function () {
  "use strict";
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {
    return;
  }
  if (!zone || !document.body) {
    return;
  }
  var shown = document.body.getAttribute("data-zone");
  var utc = { "UTC": 1, "Etc/UTC": 1, "Etc/GMT": 1, "GMT": 1, "Etc/Universal": 1 };
  if (zone === shown || (utc[zone] && utc[shown])) {
    return;
  }
  if (new URLSearchParams(window.location.search).has("tz")) {
    return; // the reader chose a zone
  }
  try {
    // Once per zone and tab: never loop if the server does not know the browser's zone.
    if (window.sessionStorage.getItem("tenantstatus-tz") === zone) {
      return;
    }
    window.sessionStorage.setItem("tenantstatus-tz", zone);
  } catch (e) {
    return;
  }
  var cookie = "tz=" + encodeURIComponent(zone);
  document.cookie = cookie + "; path=/status; max-age=31536000; samesite=lax";
  if (document.cookie.indexOf(cookie) !== -1) {
    window.location.reload();
  }
})();
