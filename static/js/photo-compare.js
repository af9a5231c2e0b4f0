// The clinic's photo comparison (templates/clinic/patient_photos.html): with JavaScript, a
// before/after wipe over the two photos shown side by side. The range input moves the divider
// (keyboard: arrow keys, Home, End); the images load only once the wipe is shown.
(function () {
  "use strict";
  var wipe = document.querySelector("[data-photo-wipe]");
  if (!wipe) { return; }
  var range = wipe.querySelector("[data-photo-wipe-range]");
  var after = wipe.querySelector(".photo-wipe-after");
  var line = wipe.querySelector(".photo-wipe-line");
  wipe.querySelectorAll("img[data-src]").forEach(function (img) {
    img.src = img.getAttribute("data-src");
  });
  function show() {
    var at = Number(range.value);
    // CSSOM, not a style attribute: allowed under the page's CSP.
    after.style.clipPath = "inset(0 0 0 " + at + "%)";
    line.style.left = at + "%";
    range.setAttribute("aria-valuetext", at + " %");
  }
  range.addEventListener("input", show);
  show();
  wipe.hidden = false;
})();
