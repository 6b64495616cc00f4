// The console's one WebSocket, shared by every page script (loaded by base.html for signed-in users).
// Each message is re-dispatched on document as a "soc:live" event; "soc:socket" tells the connection state
// ("connecting", "live", "offline", "signed-out"), also kept in <html data-live> for scripts that start later.
// It keeps the unread badge in the header current. Server text is only ever set with textContent.
(function () {
  "use strict";
  var root = document.documentElement;
  var SIGNED_OUT = 4401;  // incidents.consumers.SIGNED_OUT: logout or deactivation; reconnecting is pointless

  function announce(name, detail) {
    document.dispatchEvent(new CustomEvent(name, { detail: detail }));
  }

  function setState(state) {
    root.dataset.live = state;
    announce("soc:socket", state);
  }

  function setBadge(count) {
    var link = document.getElementById("nav-notifications");
    if (!link) { return; }
    var badge = link.querySelector(".badge");
    if (count > 0 && !badge) {
      badge = document.createElement("span");
      badge.className = "badge";
      link.append(" ", badge);
    }
    if (badge) {
      badge.textContent = String(count);
      badge.hidden = count <= 0;
    }
    link.dataset.unread = String(count);
  }

  var delay = 1000;
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + "/ws/incidents/");
    setState("connecting");
    socket.onopen = function () { delay = 1000; setState("live"); };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.kind === "notifications.unread") { setBadge(Number(message.unread) || 0); }
      announce("soc:live", message);
    };
    socket.onclose = function (event) {
      if (event.code === SIGNED_OUT) { setState("signed-out"); return; }
      setState("offline");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
}());
