/* The plan editor's drag to reorder (progressive enhancement: the "Move up"/"Move down"
   buttons do the same without JavaScript). A step is dragged by its handle within its routine
   group; on drop the group's rows take the formset indexes in their new order (the editor
   saves positions from the rows' order), and the form is re-checked by the server. No text of
   its own: the handle and its title are in the template. */
(function () {
  "use strict";

  function renumber(row, from, to) {
    var old = "items-" + from + "-", next = "items-" + to + "-";
    row.querySelectorAll("[name], [id], [for]").forEach(function (el) {
      ["name", "id", "for"].forEach(function (attr) {
        var value = el.getAttribute(attr);
        if (value && value.indexOf(old) !== -1) el.setAttribute(attr, value.split(old).join(next));
      });
    });
    row.querySelectorAll("button[name=move]").forEach(function (button) {
      button.value = to + ":" + button.value.split(":")[1];
    });
    var swap = row.querySelector("button[name=swap]");
    if (swap) swap.value = String(to);
  }

  function settle(list) {
    var rows = Array.prototype.slice.call(list.querySelectorAll(":scope > li.step-row"));
    var indexes = rows.map(function (row) { return Number(row.dataset.row); })
      .sort(function (a, b) { return a - b; });
    // Two passes through temporary indexes so no two rows share one on the way.
    rows.forEach(function (row, i) { renumber(row, row.dataset.row, "tmp" + i); });
    rows.forEach(function (row, i) {
      renumber(row, "tmp" + i, indexes[i]);
      row.dataset.row = String(indexes[i]);
    });
    var form = list.closest("form");
    var check = form.querySelector("button[name=action][value=check]");
    if (form.requestSubmit) form.requestSubmit(check); else check.click();
  }

  function setUp(list) {
    var dragged = null;
    list.querySelectorAll(":scope > li.step-row").forEach(function (row) {
      var handle = row.querySelector(".drag-handle");
      if (!handle) return;
      handle.hidden = false;
      handle.addEventListener("mousedown", function () { row.draggable = true; });
      row.addEventListener("dragstart", function (event) {
        dragged = row;
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", row.dataset.row);
        row.classList.add("dragging");
      });
      row.addEventListener("dragend", function () {
        row.draggable = false;
        row.classList.remove("dragging");
      });
      row.addEventListener("dragover", function (event) {
        if (dragged && dragged !== row && dragged.parentNode === list) event.preventDefault();
      });
      row.addEventListener("drop", function (event) {
        if (!dragged || dragged === row || dragged.parentNode !== list) return;
        event.preventDefault();
        var box = row.getBoundingClientRect();
        var after = event.clientY > box.top + box.height / 2;
        list.insertBefore(dragged, after ? row.nextSibling : row);
        dragged = null;
        settle(list);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".plan-editor ol.step-rows").forEach(function (list) {
      if (list.querySelectorAll(":scope > li.step-row").length > 1) setUp(list);
    });
  });
})();
