// A page whose module did not arrive whole. When the network changes under a loading page (a
// Wi-Fi that reconnects, a phone that moves from Wi-Fi to 4G), the browser fails what was in
// flight, a module's imports among them, and that module never runs: its buttons would do
// nothing. The module's script element then gets an "error" event. The page loads itself once
// more; if that fails too within a minute, it says so (#unloaded) and leaves it to the person.
// A classic script, in the head, so that it listens before any module is fetched.
(() => {
  const KEY = "kelas-reloaded";
  document.addEventListener(
    "error",
    (event) => {
      const script = event.target;
      if (!(script instanceof HTMLScriptElement) || script.type !== "module") return;
      const here = location.pathname + location.search;
      let last = null;
      try {
        last = JSON.parse(sessionStorage.getItem(KEY) || "null");
      } catch {
        last = null;
      }
      if (!last || last.page !== here || Date.now() - last.at > 60_000) {
        sessionStorage.setItem(KEY, JSON.stringify({ page: here, at: Date.now() }));
        location.reload();
        return;
      }
      const notice = document.getElementById("unloaded");
      if (notice) notice.hidden = false;
    },
    true,
  );
})();
