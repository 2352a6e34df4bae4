/* regbook: small fixes to the theme's behaviour (loaded on every page).
   - Closing the chapter list or the page contents on a phone (Escape, or a tap outside) puts the
     keyboard focus back on the button that opened it. sphinx-book-theme blurs the button when it
     is clicked, so the theme's own "restore focus" returned it to the top of the page. */
document.addEventListener("DOMContentLoaded", () => {
  [["pst-primary-sidebar-modal", ".primary-toggle"], ["pst-secondary-sidebar-modal", ".secondary-toggle"]]
    .forEach(([dialogId, toggleSelector]) => {
      const dialog = document.getElementById(dialogId);
      const toggle = document.querySelector(toggleSelector);
      if (!dialog || !toggle) return;
      dialog.addEventListener("close", () => {
        setTimeout(() => {
          if (!document.activeElement || document.activeElement === document.body) toggle.focus();
        }, 0);
      });
    });
});

/* A display equation wider than the column (on a phone) scrolls sideways inside its own box.
   Keyboard readers must be able to scroll it too: such a box becomes focusable, with a name,
   and stops being focusable when the window grows wide enough to show it whole. */
(() => {
  const mark = () => {
    document.querySelectorAll('mjx-container[display="true"]').forEach((box) => {
      const wide = box.scrollWidth > box.clientWidth + 1;
      if (wide && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", "equation, scrolls sideways");
      } else if (!wide && box.getAttribute("tabindex") === "0") {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  };
  document.addEventListener("DOMContentLoaded", mark);
  let pending = 0;
  window.addEventListener("resize", () => { cancelAnimationFrame(pending); pending = requestAnimationFrame(mark); });
})();
