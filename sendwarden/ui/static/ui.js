// Sendwarden dashboard: the only script. Uploads with a progress bar; everything else
// is plain HTML forms, so the dashboard works without JavaScript too.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-progress]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var bar = form.querySelector("progress");
      var text = form.querySelector(".progress-text");
      var button = form.querySelector("button[type=submit]");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      bar.hidden = false;
      button.disabled = true;
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) {
          bar.value = Math.round((e.loaded / e.total) * 100);
          text.textContent = "Uploading " + bar.value + " %";
        }
      };
      xhr.upload.onload = function () {
        bar.removeAttribute("value");
        text.textContent = "Checking and importing rows...";
      };
      xhr.onload = function () {
        if (xhr.status >= 400) {
          var detail = "";
          try { detail = JSON.parse(xhr.responseText).detail || ""; } catch (err) { detail = ""; }
          button.disabled = false;
          bar.hidden = true;
          text.textContent = "Import refused (" + xhr.status + ")" + (detail ? ": " + detail : "");
          return;
        }
        // The server answers with a redirect to the page showing the result.
        window.location.assign(xhr.responseURL || form.action);
      };
      xhr.onerror = function () {
        button.disabled = false;
        text.textContent = "The upload failed; check the connection and try again.";
      };
      xhr.send(new FormData(form));
    });
  });
});
