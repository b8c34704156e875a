// Behaviour of the dashboard pages: local times, copy buttons and the one-time reveal panel.
// Everything here is progressive: without JavaScript the pages still work as plain forms.
(function () {
  "use strict";

  // Component options, because dateStyle and timeStyle cannot be combined with timeZoneName.
  const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "numeric",
    minute: "2-digit",
    timeZoneName: "short",
  });
  const dateFormat = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric" });

  // Replace the UTC text of each <time> with the viewer's local date (and time).
  function localizeTimes(root) {
    root.querySelectorAll("time[data-local-time], time[data-local-date]").forEach(function (element) {
      const moment = new Date(element.getAttribute("datetime"));
      if (Number.isNaN(moment.getTime())) {
        return;
      }
      const format = element.hasAttribute("data-local-time") ? dateTimeFormat : dateFormat;
      element.textContent = format.format(moment);
      element.title = moment.toISOString().replace(".000Z", "Z") + " (UTC)";
    });
  }

  function announce(panel, message) {
    const status = panel && panel.querySelector("[data-copy-status]");
    if (status) {
      // Clear first so that screen readers announce a repeated message again.
      status.textContent = "";
      window.setTimeout(function () { status.textContent = message; }, 50);
    }
  }

  function selectForManualCopy(field, panel) {
    field.focus();
    field.select();
    announce(panel, "Press Ctrl+C (or \u2318C on a Mac) to copy the selected text.");
  }

  function copyField(button) {
    const field = document.getElementById(button.dataset.copy);
    const panel = button.closest("[data-reveal], [data-copy-panel]");
    if (!field) {
      return;
    }
    // navigator.clipboard exists only on HTTPS and localhost; elsewhere fall back to selecting.
    if (!navigator.clipboard || !navigator.clipboard.writeText) {
      selectForManualCopy(field, panel);
      return;
    }
    navigator.clipboard.writeText(field.value).then(
      function () { announce(panel, "Copied"); },
      function () { selectForManualCopy(field, panel); }
    );
  }

  function dismissReveal(button) {
    const panel = button.closest("[data-reveal]");
    if (panel) {
      panel.remove();
    }
    const nameField = document.getElementById("name");
    if (nameField) {
      nameField.focus();
    }
  }

  // Move focus to a newly shown reveal panel once, so keyboard and screen reader users land on it.
  function focusReveal() {
    const panel = document.querySelector("[data-reveal]:not([data-focused])");
    if (panel) {
      panel.setAttribute("data-focused", "");
      panel.focus();
    }
  }

  function showAlert(message) {
    const alerts = document.getElementById("alerts");
    if (!alerts) {
      return;
    }
    const alert = document.createElement("div");
    alert.className = "alert alert-error";
    alert.setAttribute("role", "alert");
    alert.textContent = message;
    alerts.replaceChildren(alert);
  }

  document.addEventListener("click", function (event) {
    const copyButton = event.target.closest("[data-copy]");
    if (copyButton) {
      event.preventDefault();
      copyField(copyButton);
      return;
    }
    // A link to a form field, such as the one in the empty state, moves focus there and not only the view.
    const focusLink = event.target.closest("a[data-focus]");
    if (focusLink) {
      const target = document.getElementById(focusLink.dataset.focus);
      if (target) {
        event.preventDefault();
        target.focus();
        return;
      }
    }
    const dismissButton = event.target.closest("[data-dismiss-reveal]");
    if (dismissButton) {
      event.preventDefault();
      dismissReveal(dismissButton);
    }
  });

  document.addEventListener("htmx:responseError", function () {
    showAlert("Something went wrong on our side. Try again in a moment.");
  });
  document.addEventListener("htmx:sendError", function () {
    showAlert("Could not reach the server. Check your connection and try again.");
  });

  // After htmx has swapped and settled, so that its own focus handling is done.
  document.addEventListener("htmx:afterSettle", focusReveal);

  document.addEventListener("DOMContentLoaded", function () {
    localizeTimes(document);
    focusReveal();
    if (window.htmx) {
      window.htmx.onLoad(localizeTimes);
    }
  });
})();
