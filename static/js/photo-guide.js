/* The camera guide (an enhancement of the add-a-photo form; without it the form is the same
   taps: choose or take a photo, then Save). Once a photo is chosen it is shown with the last
   photo of the same area as a faint overlay, so the patient can see whether pose and distance
   match before saving; "Retake" opens the camera again. Changing the area changes the
   reference. The chosen photo is read as a data: URL (the page's CSP allows data: images, not
   blob:), and it never leaves the page until the form is posted. */
(() => {
  "use strict";
  const urls = document.getElementById("last-photo-by-area");
  let lastByArea = {};
  try { lastByArea = urls ? JSON.parse(urls.textContent) : {}; } catch (error) { /* none */ }

  for (const form of document.querySelectorAll("form[data-photo-form]")) {
    const input = form.querySelector("input[type=file]");
    const area = form.querySelector("select[name=area]");
    const guide = form.querySelector("[data-photo-guide]");
    if (!input || !guide) continue;
    const words = guide.dataset;

    const frame = document.createElement("div");
    frame.className = "photo-guide-frame";
    const chosen = document.createElement("img");
    chosen.className = "photo-guide-new";
    chosen.alt = words.previewLabel;
    const last = document.createElement("img");
    last.className = "photo-guide-last";
    last.alt = words.lastLabel;
    frame.append(chosen, last);

    const noPreview = document.createElement("p");
    noPreview.className = "help";
    noPreview.setAttribute("role", "status");
    noPreview.textContent = words.noPreview;
    noPreview.hidden = true;
    const help = document.createElement("p");
    help.className = "help";
    help.textContent = words.matchHelp;

    // The label holds the box: the whole line is the tap target.
    const toggleField = document.createElement("label");
    toggleField.className = "photo-guide-toggle";
    const toggle = document.createElement("input");
    toggle.type = "checkbox";
    toggle.checked = true;
    toggleField.append(toggle, document.createTextNode(words.overlayLabel));

    const retake = document.createElement("button");
    retake.type = "button";
    retake.className = "button button-quiet";
    retake.textContent = words.retakeLabel;
    guide.append(frame, noPreview, help, toggleField, retake);

    const reference = () => {
      const url = area ? lastByArea[area.value] : undefined;
      if (url) {
        if (last.getAttribute("src") !== url) last.src = url;
      } else {
        last.removeAttribute("src");
      }
      // Without a preview of the new photo (HEIC) there is nothing to line up: only the note.
      const guiding = Boolean(url) && !chosen.hidden;
      last.hidden = !guiding || !toggle.checked;
      toggleField.hidden = help.hidden = !guiding;
      frame.hidden = chosen.hidden;
    };

    chosen.addEventListener("load", () => {
      chosen.hidden = false;
      noPreview.hidden = true;
      reference();
    });
    chosen.addEventListener("error", () => {  // e.g. HEIC, which most browsers cannot show
      if (!chosen.getAttribute("src")) return;
      chosen.hidden = true;
      noPreview.hidden = false;
      reference();
    });
    const show = () => {
      const file = input.files && input.files[0];
      if (!file) {
        guide.hidden = true;
        return;
      }
      const reader = new FileReader();
      reader.addEventListener("load", () => { chosen.src = reader.result; });
      reader.readAsDataURL(file);
      reference();
      guide.hidden = false;
    };
    input.addEventListener("change", show);
    // A photo chosen before this script ran (a slow page), or kept by the browser's back button.
    if (input.files && input.files.length) show();
    if (area) area.addEventListener("change", reference);
    toggle.addEventListener("change", reference);
    retake.addEventListener("click", () => input.click());
  }
})();
