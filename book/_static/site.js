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
