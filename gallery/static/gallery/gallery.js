// The gallery's photo viewer. Without it every thumbnail still links to its full-size photo.
(function () {
  "use strict";
  var viewer = document.getElementById("viewer");
  if (!viewer || typeof viewer.showModal !== "function") return;
  var links = Array.prototype.slice.call(document.querySelectorAll("a[data-photo]"));
  var image = viewer.querySelector("[data-viewer-image]");
  var caption = viewer.querySelector("[data-viewer-caption]");
  var download = viewer.querySelector("[data-viewer-download]");
  var previous = viewer.querySelector("[data-viewer-prev]");
  var next = viewer.querySelector("[data-viewer-next]");
  var current = 0;

  // Previous is hidden on the first photo and Next on the last (no wrapping round): a button that
  // goes away while it has the focus hands it to the download button.
  function enable(button, enabled) {
    if (!button) return;
    if (!enabled && document.activeElement === button) download.focus();
    button.disabled = !enabled;
  }

  function show(index) {
    current = Math.max(0, Math.min(index, links.length - 1));
    enable(previous, current > 0);
    enable(next, current < links.length - 1);
    var link = links[current];
    image.src = link.href;
    image.alt = link.getAttribute("data-alt");
    caption.textContent = link.getAttribute("data-alt");
    download.href = link.getAttribute("data-download");
    download.setAttribute("download", link.getAttribute("data-filename"));
  }

  function on(selector, handler) {
    var element = viewer.querySelector(selector);
    if (element) element.addEventListener("click", handler);
  }

  links.forEach(function (link, index) {
    link.addEventListener("click", function (event) {
      if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      show(index);
      viewer.showModal();
    });
  });
  on("[data-viewer-prev]", function () { show(current - 1); });
  on("[data-viewer-next]", function () { show(current + 1); });
  on("[data-viewer-close]", function () { viewer.close(); });
  viewer.addEventListener("keydown", function (event) {
    if (links.length < 2) return;
    if (event.key === "ArrowLeft") show(current - 1);
    if (event.key === "ArrowRight") show(current + 1);
  });
  var touchX = null;
  viewer.addEventListener("touchstart", function (event) { touchX = event.touches[0].clientX; }, { passive: true });
  viewer.addEventListener("touchend", function (event) {
    if (touchX === null || links.length < 2) return;
    var moved = event.changedTouches[0].clientX - touchX;
    touchX = null;
    if (Math.abs(moved) > 50) show(current + (moved < 0 ? 1 : -1));
  });
  viewer.addEventListener("close", function () {
    image.removeAttribute("src");
    links[current].focus();
  });
})();
